"""Read the trainer's `predictions.parquet` and join what the catalog knows
(paraphrase links, paths).

Required columns (`PREDICTIONS_REQUIRED`): id, question, prediction, correct, and image_path (or
image_id + a catalog). The other columns the trainer writes (`PREDICTIONS_OPTIONAL`: reference,
answer_type, question_type, modality, organ, source, split) are filled with nulls when absent;
scores pass through. Relative image paths are resolved against the predictions file's folder.
Both lists come from `radvqa_data.core.schema`, where the trainer's writer finds them too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import PREDICTIONS_OPTIONAL, PREDICTIONS_REQUIRED

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


def join_catalog(df: pl.DataFrame, catalog: str | Path | None) -> pl.DataFrame:
    """Add `linked_id` / `phrase_type` from `benchmark_qa` and fill missing image paths
    from `images`.

    Matching: the prediction id equals the benchmark qid; otherwise (source, image_id,
    question) match case- and space-insensitively. Image paths come from the catalog row of the
    same (source, image_id), the catalog's key: two sources may use one image id. A row without a
    source takes the source of its image id when only one source has that id. Without a
    catalog, `linked_id` is null (no paraphrase check).
    """
    if catalog is None:
        return df.with_columns(
            pl.lit(None, dtype=pl.Utf8).alias("linked_id"),
            pl.lit(None, dtype=pl.Utf8).alias("phrase_type"),
        )
    from radvqa_data.core.db import connect

    bq_cols = ("source", "qid", "image_id", "qnorm", "linked_id", "phrase_type")
    with connect(catalog, read_only=True) as con:
        # DuckDB 2: no `.pl()` on a connection result here; fetchall() also closes the result.
        bq = pl.DataFrame(
            con.execute(
                "SELECT source, qid, image_id, lower(trim(question)), linked_id, "
                "phrase_type FROM benchmark_qa"
            ).fetchall(),
            schema=list(bq_cols),
            orient="row",
            schema_overrides={c: pl.Utf8 for c in bq_cols},
        )
        imgs = pl.DataFrame(
            con.execute(
                "SELECT source, image_id, path FROM images WHERE path IS NOT NULL"
            ).fetchall(),
            schema=["source", "image_id", "catalog_path"],
            orient="row",
            schema_overrides={"source": pl.Utf8, "image_id": pl.Utf8, "catalog_path": pl.Utf8},
        )
    sole = (
        imgs.group_by("image_id")
        .agg(pl.col("source").unique())
        .filter(pl.col("source").list.len() == 1)
        .select("image_id", pl.col("source").list.first().alias("_sole"))
    )
    df = df.join(sole, on="image_id", how="left").with_columns(
        pl.coalesce("source", "_sole").alias("_src"),
        pl.col("question").str.strip_chars().str.to_lowercase().alias("_qnorm"),
    )
    by_id = bq.unique("qid", keep="first", maintain_order=True).select(
        pl.col("qid").alias("id"),
        pl.col("linked_id").alias("_l1"),
        pl.col("phrase_type").alias("_p1"),
    )
    key = ["_src", "image_id", "_qnorm"]
    by_text = (
        bq.rename({"source": "_src", "qnorm": "_qnorm"})
        .unique(key)
        .select(*key, pl.col("linked_id").alias("_l2"), pl.col("phrase_type").alias("_p2"))
    )
    df = df.join(by_id, on="id", how="left").join(by_text, on=key, how="left")
    df = df.join(imgs.rename({"source": "_src"}), on=["_src", "image_id"], how="left")
    return df.with_columns(
        pl.coalesce("_l1", "_l2").cast(pl.Utf8).alias("linked_id"),
        pl.coalesce("_p1", "_p2").cast(pl.Utf8).alias("phrase_type"),
        pl.coalesce("image_path", "catalog_path").alias("image_path"),
    ).drop(["_sole", "_src", "_qnorm", "_l1", "_l2", "_p1", "_p2", "catalog_path"])
