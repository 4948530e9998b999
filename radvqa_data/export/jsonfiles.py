"""`--format llava` and `--format sharegpt`: one JSON array per split, images under OUT/images.

- llava: ``OUT/<split>.json`` of `records.llava_record` (train LLaVA with
  ``--data_path OUT/train.json --image_folder OUT``).
- sharegpt: ``OUT/<split>.json`` of `records.sharegpt_record` and ``OUT/dataset_info.json``
  with one LLaMA-Factory entry per split (``NAME_train``, ``NAME_test``, ...), ready to merge
  into LLaMA-Factory's ``data/dataset_info.json`` or to use with ``dataset_dir: OUT``
  (LLaMA-Factory resolves image paths against its media_dir, which defaults to dataset_dir).

Files are streamed record by record into a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from radvqa_data.core.atomic import atomic_path, write_json
from radvqa_data.export.images import ImagePlacer
from radvqa_data.export.row_formats import llava_record, sharegpt_record

TICK = 256  # rows per progress-bar update: a redraw per row would be wasted work


def llama_factory_entry(file_name: str) -> dict:
    """A `dataset_info.json` entry for one ShareGPT file of this export (multimodal layout)."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "images": "images"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }


def write_json_splits(
    rows: pl.DataFrame,
    out: Path,
    fmt: str,
    placer: ImagePlacer,
    *,
    name: str,
    advance: Callable[[int], None],
) -> dict[str, str]:
    """Write one JSON file per split of `rows` (all with an image); returns {split: file name}."""
    make = {"llava": llava_record, "sharegpt": sharegpt_record}[fmt]
    files: dict[str, str] = {}
    for split in rows["split"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("split") == split)
        files[split] = f"{split}.json"
        with atomic_path(out / files[split]) as tmp, tmp.open("w", encoding="utf-8") as fh:
            fh.write("[")
            for i, row in enumerate(part.iter_rows(named=True)):
                image = placer.relpath(row["source"], row["image_id"], row["image_path"])
                fh.write(
                    ("\n" if i == 0 else ",\n") + json.dumps(make(row, image), ensure_ascii=False)
                )
                if i % TICK == TICK - 1:
                    advance(TICK)
            fh.write("\n]\n")
        advance(part.height % TICK)
    if fmt == "sharegpt":
        write_json(
            out / "dataset_info.json",
            {f"{name}_{split}": llama_factory_entry(f) for split, f in files.items()},
        )
    return files
