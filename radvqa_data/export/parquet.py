"""`--format hf` and `--format messages`: Hugging Face `datasets` folders of Parquet files.

Both write ``OUT/data/<split>-NNNNN-of-NNNNN.parquet`` with the image bytes embedded and the
`datasets` features in the Parquet metadata, so ``datasets.load_dataset(OUT)`` (guided by the
card's ``configs``) opens them offline and the Hub's viewer shows the images.

- hf: the QA columns (`radvqa_data.core.schema.QA_SCHEMA`) + ``image`` (`datasets.Image`); rows
  whose image file is missing keep ``image = None``.
- messages: ``id``, ``messages`` (user: image part + question; assistant: answer),
  ``images`` (a list of one `datasets.Image`) and ``provenance``: the layout TRL's VLM SFT
  reads as it is. Rows without an image file are not written (the caller skips them).

Rows are streamed in chunks: memory holds one chunk of images, not the dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from radvqa_data.core.atomic import atomic_path
from radvqa_data.core.schema import QA_SCHEMA
from radvqa_data.export.row_formats import PROVENANCE_FIELDS, chat_messages, provenance

CHUNK_ROWS = 512  # rows per Parquet row group: higher = faster, more memory
ROWS_PER_FILE = 20_000


def _features(fmt: str) -> Any:
    from datasets import Features, Image, List, Value

    qa = Features.from_arrow_schema(QA_SCHEMA)
    if fmt == "hf":
        return Features({**qa, "image": Image()})
    text = {"type": Value("string"), "text": Value("string")}
    return Features(
        {
            "id": Value("string"),
            "messages": List({"role": Value("string"), "content": List(text)}),
            "images": List(Image()),
            "provenance": {k: qa.get(k, Value("string")) for k in PROVENANCE_FIELDS},
        }
    )


class _Bytes:
    """Image file bytes, read once per run of rows on the same image (rows are sorted by image)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.data = b""

    def __call__(self, path: str) -> dict[str, Any]:
        if path != self.path:
            self.path, self.data = path, Path(path).read_bytes()
        return {"bytes": self.data, "path": Path(path).name}


def _chunk_table(chunk: pl.DataFrame, fmt: str, schema: Any, read: _Bytes) -> Any:
    import pyarrow as pa

    if fmt == "hf":
        images = [
            read(p) if problem is None else None
            for p, problem in zip(chunk["image_path"], chunk["image_problem"], strict=True)
        ]
        table = chunk.select(QA_SCHEMA.names).to_arrow().cast(QA_SCHEMA)
        return table.append_column(
            schema.field("image"), pa.array(images, type=schema.field("image").type)
        )
    records = [
        {
            "id": r["id"],
            "messages": chat_messages(r),
            "images": [read(r["image_path"])],
            "provenance": provenance(r),
        }
        for r in chunk.iter_rows(named=True)
    ]
    return pa.Table.from_pylist(records, schema=schema)


def write_parquet_splits(
    rows: pl.DataFrame, out: Path, fmt: str, *, advance: Callable[[int], None]
) -> dict[str, str]:
    """Write ``OUT/data``; returns {split: glob of its files} for the card's ``configs``."""
    import pyarrow.parquet as pq

    schema = _features(fmt).arrow_schema  # carries the `datasets` features as metadata
    data = out / "data"
    if data.exists():  # files of an earlier export (maybe other splits or sizes) must not linger
        shutil.rmtree(data)
    read = _Bytes()
    files: dict[str, str] = {}
    for split in rows["split"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("split") == split)
        n_files = max(1, -(-part.height // ROWS_PER_FILE))
        for k in range(n_files):
            target = data / f"{split}-{k:05d}-of-{n_files:05d}.parquet"
            with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as w:
                for chunk in part.slice(k * ROWS_PER_FILE, ROWS_PER_FILE).iter_slices(CHUNK_ROWS):
                    w.write_table(_chunk_table(chunk, fmt, schema, read))
                    advance(chunk.height)
        files[split] = f"data/{split}-*.parquet"
    return files
