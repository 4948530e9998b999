"""Read the trainer's `predictions.parquet` (with its paraphrase ids) and fill image paths
from the catalog.

Required columns (`PREDICTIONS_REQUIRED`): id, question, prediction, correct, and image_path (or
image_id + a catalog). The other columns the trainer writes (`PREDICTIONS_OPTIONAL`: answer,
answer_type, question_type, modality, organ, source, split, linked_id, phrase_type) are filled
with nulls when absent; scores pass through. Relative image paths are resolved against the
predictions file's folder. A column an earlier trainer wrote under another name
(`RENAMED_PREDICTION_COLUMNS`: ``reference`` is ``answer``) is renamed here, where the file is read.
Both lists come from `radvqa_data.core.schema`, where the trainer's writer finds them too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import (
    PREDICTIONS_OPTIONAL,
    PREDICTIONS_REQUIRED,
    prediction_renames,
)

REQUIRED = PREDICTIONS_REQUIRED
OPTIONAL = PREDICTIONS_OPTIONAL


def read_predictions(path: str | Path) -> pl.DataFrame:
    """Load and validate a predictions file (one clear error naming the file if unusable)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: predictions file not found (expected the trainer's predictions.parquet)"
        )
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a non-Parquet file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    df = df.rename(prediction_renames(df.columns))  # a file an earlier version wrote
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"expected at least {', '.join(REQUIRED)} + image_path"
        )
    if "image_path" not in df.columns and "image_id" not in df.columns:
        raise InputError(f"{path}: needs an image_path (or image_id with --catalog) column")
    if df.height == 0:
        raise InputError(f"{path}: no predictions in the file")
    for col in OPTIONAL:
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
    df = df.with_columns(
        pl.col("id").cast(pl.Utf8),
        pl.col("correct").cast(pl.Boolean),
        pl.col("prediction").cast(pl.Utf8).fill_null(""),
    )
    if df["id"].is_duplicated().any():
        raise InputError(
            f"{path}: column id has duplicate values; each prediction needs its own id"
        )
    base = path.resolve().parent
    return df.with_columns(
        pl.col("image_path")
        .cast(pl.Utf8)
        .map_elements(
            lambda p: p if p is None or Path(p).is_absolute() else str(base / p),
            return_dtype=pl.Utf8,
        )
    )


def fill_image_paths(df: pl.DataFrame, catalog: str | Path | None) -> pl.DataFrame:
    """Fill missing image paths from the catalog's `images` (read by `radvqa_data.reader`).

    Paths come from the catalog row of the same (source, image_id), the catalog's key: two
    sources may use one image id. A row without a source takes the source of its image id when
    only one source has that id. `linked_id` / `phrase_type` are not looked up: the trainer
    writes them into the predictions row (`PREDICTION_FIELDS`), so diag never re-joins them.
    """
    if catalog is None:
        return df
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import image_paths

    with connect(catalog, read_only=True) as con:
        imgs = image_paths(con).select(
            pl.col("source").cast(pl.Utf8),
            pl.col("image_id").cast(pl.Utf8),
            pl.col("image_path").cast(pl.Utf8).alias("catalog_path"),
        )
    sole = (
        imgs.group_by("image_id")
        .agg(pl.col("source").unique())
        .filter(pl.col("source").list.len() == 1)
        .select("image_id", pl.col("source").list.first().alias("_sole"))
    )
    df = df.join(sole, on="image_id", how="left").with_columns(
        pl.coalesce("source", "_sole").alias("_src")
    )
    df = df.join(imgs.rename({"source": "_src"}), on=["_src", "image_id"], how="left")
    return df.with_columns(pl.coalesce("image_path", "catalog_path").alias("image_path")).drop(
        ["_sole", "_src", "catalog_path"]
    )
