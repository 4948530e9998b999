"""`radvqa-data export DIR --format hf --out OUT`: shards -> a Hugging Face datasets folder.

OUT holds `data/<split>-NNNNN-of-NNNNN.parquet` (QA columns + an `image` column with the image
bytes embedded, declared as a `datasets.Image` feature in the Parquet metadata) and a README
whose YAML `configs` block names the splits, so `datasets.load_dataset(str(OUT))` opens it
offline and the folder can be pushed to a hub as it is. Rows are streamed in chunks: memory
holds one chunk of images, not the dataset. Rows whose image file is missing get `image=None`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from radvqa_data.atomic import atomic_path, write_text
from radvqa_data.catalog.db import connect
from radvqa_data.errors import InputError
from radvqa_data.schema import QA_SCHEMA
from radvqa_data.synth.progress import progress_bar

CHUNK_ROWS = 512  # rows per Parquet row group: higher = faster, more memory
ROWS_PER_FILE = 20_000


def _features_metadata() -> bytes:
    from datasets import Features, Image, Value

    feats = {name: Value("int64" if str(t) == "int64" else "int32" if str(t) == "int32" else "string")
             for name, t in zip(QA_SCHEMA.names, QA_SCHEMA.types, strict=False)}
    feats["image"] = Image()
    return json.dumps({"info": {"features": Features(feats).to_dict()}}).encode()


def export_hf(shards: str | Path, out: str | Path, *, catalog: str | Path | None = None, progress: bool = True) -> dict:
    """Write the HF folder; return counts (rows, images embedded/missing, rows per split)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards, out = Path(shards), Path(out)
    manifest_path = shards / "manifest.json"
    if not manifest_path.exists():
        raise InputError(f"{shards}: no manifest.json; expected the output folder of `radvqa-data synth`")
    manifest = json.loads(manifest_path.read_text())
    catalog = Path(catalog or manifest["catalog"]["path"])
    files = sorted((shards / "qa").glob("part-*.parquet"))
    if not files:
        raise InputError(f"{shards}/qa: no part-*.parquet shards")
    con = connect(catalog, read_only=True)
    try:
        found = con.execute("SELECT source, image_id, path, status FROM images").fetchall()
        paths = pl.DataFrame(found, schema=["source", "image_id", "image_path", "image_status"], orient="row")
    finally:
        con.close()
    rows = pl.scan_parquet([str(f) for f in files]).join(paths.lazy(), on=["source", "image_id"], how="left")
    rows = rows.with_columns(pl.col("split").fill_null("unsplit")).sort(["split", "source", "image_id", "id"]).collect()
    schema = QA_SCHEMA.append(pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])))
    schema = schema.with_metadata({b"huggingface": _features_metadata()})
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    counts = {"rows": 0, "images_embedded": 0, "images_missing": 0, "splits": {}}
    with progress_bar("export", rows.height, "rows", progress) as advance:
        for split in sorted(rows["split"].unique().to_list()):
            part = rows.filter(pl.col("split") == split)
            n_files = max(1, -(-part.height // ROWS_PER_FILE))
            for k in range(n_files):
                chunk_rows = part.slice(k * ROWS_PER_FILE, ROWS_PER_FILE)
                target = data / f"{split}-{k:05d}-of-{n_files:05d}.parquet"
                with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                    for chunk in chunk_rows.iter_slices(CHUNK_ROWS):
                        writer.write_table(_with_images(chunk, schema, counts))
                        advance(chunk.height)
            counts["splits"][split] = part.height
    counts["rows"] = rows.height
    write_text(out / "README.md", _readme(counts, manifest))
    return counts


def _with_images(chunk: pl.DataFrame, schema, counts: dict):
    import pyarrow as pa

    images = []
    for path, status in zip(chunk["image_path"], chunk["image_status"], strict=False):
        if path and status == "ok" and Path(path).is_file():
            images.append({"bytes": Path(path).read_bytes(), "path": Path(path).name})
            counts["images_embedded"] += 1
        else:
            images.append(None)
            counts["images_missing"] += 1
    table = chunk.select(QA_SCHEMA.names).to_arrow().cast(pa.schema(list(QA_SCHEMA)))
    return table.append_column(schema.field("image"), pa.array(images, type=schema.field("image").type))


def _readme(counts: dict, manifest: dict) -> str:
    splits = "\n".join(f"  - split: {s}\n    path: data/{s}-*.parquet" for s in counts["splits"])
    lines = "\n".join(f"| {s} | {n:,} |" for s, n in counts["splits"].items())
    return f"""---
configs:
- config_name: default
  data_files:
{splits}
---
# radvqa synthetic radiology VQA

Exported by `radvqa-data export` from a `radvqa-data synth` run ({manifest.get('generator')} backend,
code {json.dumps(manifest.get('code_version'))}). Load with `datasets.load_dataset("<this folder>")`.

| split | rows |
|---|---|
{lines}

Rows with an image: {counts['images_embedded']:,}; rows whose image file was missing (image is None):
{counts['images_missing']:,}. Columns follow `radvqa_data.schema.QA_SCHEMA`; each row records its
source, case, question/answer type, generator, template and the source span that grounds it.
The images and captions keep the licences of their sources (see the catalog's `licence` column
and the source datasets' terms).
"""
