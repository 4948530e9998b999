"""Read the trainer's `predictions.parquet` and join what the catalog knows (paraphrase links, paths).

Required columns: id, question, prediction, correct, and image_path (or image_id + a catalog).
Everything else the trainer writes (reference, answer_type, question_type, modality, organ,
source, split, metrics) is optional and filled with nulls when absent. Relative image paths are
resolved against the predictions file's folder.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError

REQUIRED = ("id", "question", "prediction", "correct")
OPTIONAL = ("image_id", "image_path", "reference", "answer_type", "question_type", "modality",
            "organ", "source", "split")


def read_predictions(path: str | Path) -> pl.DataFrame:
    """Load and validate a predictions file (one clear error naming the file if unusable)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: predictions file not found (expected the trainer's predictions.parquet)")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a non-Parquet file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; expected at least {', '.join(REQUIRED)} + image_path")
    if "image_path" not in df.columns and "image_id" not in df.columns:
        raise InputError(f"{path}: needs an image_path (or image_id with --catalog) column")
    if df.height == 0:
        raise InputError(f"{path}: no predictions in the file")
    for col in OPTIONAL:
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(col))
    df = df.with_columns(pl.col("id").cast(pl.Utf8), pl.col("correct").cast(pl.Boolean),
                         pl.col("prediction").cast(pl.Utf8).fill_null(""))
    if df["id"].is_duplicated().any():
        raise InputError(f"{path}: column id has duplicate values; each prediction needs its own id")
    base = path.resolve().parent
    return df.with_columns(
        pl.col("image_path").cast(pl.Utf8).map_elements(
            lambda p: p if p is None or Path(p).is_absolute() else str(base / p), return_dtype=pl.Utf8
        )
    )


def join_catalog(df: pl.DataFrame, catalog: str | Path | None) -> pl.DataFrame:
    """Add `linked_id` / `phrase_type` from `benchmark_qa` and fill missing image paths from `images`.

    Matching: the prediction id equals the benchmark qid; otherwise (image_id, question) match
    case- and space-insensitively. Without a catalog, `linked_id` is null (no paraphrase check).
    """
    if catalog is None:
        return df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("linked_id"),
                               pl.lit(None, dtype=pl.Utf8).alias("phrase_type"))
    from radvqa_data.core.db import connect

    con = connect(catalog, read_only=True)
    try:
        # DuckDB 2: no `.pl()` on a connection result here; fetchall() also closes the result.
        bq = pl.DataFrame(
            con.execute("SELECT qid, image_id, lower(trim(question)), linked_id, phrase_type FROM benchmark_qa").fetchall(),
            schema=["qid", "image_id", "qnorm", "linked_id", "phrase_type"], orient="row",
            schema_overrides={c: pl.Utf8 for c in ("qid", "image_id", "qnorm", "linked_id", "phrase_type")},
        )
        imgs = pl.DataFrame(
            con.execute("SELECT image_id, path FROM images WHERE path IS NOT NULL").fetchall(),
            schema=["image_id", "catalog_path"], orient="row",
            schema_overrides={"image_id": pl.Utf8, "catalog_path": pl.Utf8},
        )
    finally:
        con.close()
    df = df.with_columns(pl.col("question").str.strip_chars().str.to_lowercase().alias("_qnorm"))
    by_id = bq.select(pl.col("qid").alias("id"), pl.col("linked_id").alias("_l1"), pl.col("phrase_type").alias("_p1"))
    by_text = bq.unique(["image_id", "qnorm"]).select(
        "image_id", pl.col("qnorm").alias("_qnorm"), pl.col("linked_id").alias("_l2"), pl.col("phrase_type").alias("_p2"))
    df = df.join(by_id, on="id", how="left").join(by_text, on=["image_id", "_qnorm"], how="left")
    df = df.join(imgs.unique("image_id"), on="image_id", how="left")
    return df.with_columns(
        pl.coalesce("_l1", "_l2").cast(pl.Utf8).alias("linked_id"),
        pl.coalesce("_p1", "_p2").cast(pl.Utf8).alias("phrase_type"),
        pl.coalesce("image_path", "catalog_path").alias("image_path"),
    ).drop(["_qnorm", "_l1", "_l2", "_p1", "_p2", "catalog_path"])
