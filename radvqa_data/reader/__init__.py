"""The one small reader that `radvqa_train` and `radvqa_diag` use to get QA rows with images.

`read_qa(spec, shards=..., catalog=...)` returns a Polars DataFrame with the columns of
`READ_COLUMNS` (`radvqa_data.core.schema`), whatever the origin:

- ``synthetic`` / ``synthetic:SPLIT``: the QA shards written by `radvqa-data synth`
  (``SHARDS/qa/part-*.parquet``, columns of `radvqa_data.core.schema.QA_SCHEMA`), joined to the
  catalog's ``images`` table for the image file, modality and organ.
- ``NAME:SPLIT`` (``vqa-rad:test``, ``slake:train``): benchmark rows of the catalog
  (``benchmark_qa`` joined to ``images``); ``id`` is the benchmark's own row id (``qid``), and
  ``linked_id`` / ``phrase_type`` come along (the predictions row keeps them for diag).
- ``captions`` / ``captions:SOURCE`` / ``captions:SOURCE:SPLIT``: caption-alignment rows, one
  per image with a ``caption`` text (question "Describe the image.", answer = the caption).
  Without SPLIT only images of the ``train`` split or of sources without splits, so that test
  captions never reach training unless asked for by name (SOURCE may be ``*`` for all).

Rows whose image file is missing are dropped and counted (`stats["dropped_no_image"]`), unless
`require_images=False` (scoring a predictions file needs no pixels). With `decisions` (a file from
`radvqa-data review pull`), rows a person rejected are dropped and corrected answers replace the
generated ones (`radvqa_data.core.decisions`; counts in `stats["decisions"]`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from radvqa_data.core.answers import OPEN
from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import READ_COLUMNS, READ_IMAGE_COLUMNS
from radvqa_data.core.shards import ShardDir

__all__ = ["CAPTION_QUESTION", "READ_COLUMNS", "read_qa"]

log = logging.getLogger(__name__)

CAPTION_QUESTION = "Describe the image."


def _query_catalog(catalog: Path | None, sql: str, params: list, what: str) -> pl.DataFrame:
    from radvqa_data.core.db import connect  # duckdb: only when a catalog is read

    if catalog is None:
        raise InputError(f"{what} needs the catalog: pass --catalog FILE")
    with connect(catalog, read_only=True) as con:
        return con.sql(sql, params=params).pl()  # DuckDB 2: execute() results have no .pl()


def _benchmark(name: str, split: str, catalog: Path | None) -> pl.DataFrame:
    sql = """
        SELECT q.qid AS id, q.image_id, i.image_path, q.question, q.answer,
               lower(trim(q.answer_type)) AS answer_type, q.question_type,
               coalesce(q.modality, i.modality) AS modality, coalesce(q.organ, i.organ) AS organ,
               q.source, q.split, q.linked_id, q.phrase_type
        FROM benchmark_qa q LEFT JOIN images i ON i.source = q.source AND i.image_id = q.image_id
        WHERE q.source = ? AND q.split = ? ORDER BY q.qid
    """
    df = _query_catalog(catalog, sql, [name, split], f"'{name}:{split}'")
    if df.height == 0:
        splits = _query_catalog(
            catalog,
            "SELECT split, count(*) AS n FROM benchmark_qa WHERE source = ? GROUP BY split "
            "ORDER BY split",
            [name],
            f"'{name}:{split}'",
        )
        if splits.height:  # the source is there: the split name is wrong
            valid = ", ".join(f"{name}:{s}" for s in splits["split"].to_list())
            raise InputError(
                f"data '{name}:{split}': no split '{split}' in {name} (valid: {valid})"
            )
        raise InputError(
            f"{catalog}: no benchmark rows for source '{name}' "
            f"(add it with `radvqa-data catalog add {name} PATH`)"
        )
    return df


def _captions(source: str | None, split: str | None, catalog: Path | None) -> pl.DataFrame:
    sql = f"""
        SELECT i.source || ':' || i.image_id AS id, i.image_id, i.image_path,
               '{CAPTION_QUESTION}' AS question, t.text AS answer, '{OPEN}' AS answer_type,
               'OTHER' AS question_type, i.modality, i.organ, i.source,
               coalesce(i.split, 'train') AS split
        FROM texts t JOIN images i ON i.source = t.source AND i.image_id = t.image_id
        WHERE t.field = 'caption'
          AND (CAST(? AS VARCHAR) IS NULL AND (i.split = 'train' OR i.split IS NULL) OR i.split = ?)
          AND (CAST(? AS VARCHAR) IS NULL OR i.source = CAST(? AS VARCHAR))
        ORDER BY i.source, i.image_id
    """
    return _query_catalog(catalog, sql, [split, split, source, source], "'captions'")


def _synthetic(split: str | None, shards: Path | None, catalog: Path | None) -> pl.DataFrame:
    if shards is None:
        raise InputError("'synthetic' data needs the shard folder: pass --shards DIR")
    qa = ShardDir(shards).read_qa(
        f"{shards}: no QA shards (expected {shards}/qa/part-*.parquet from `radvqa-data synth`)"
    )
    missing = {"id", "image_id", "source", "split", "question", "answer"} - set(qa.columns)
    if missing:
        raise InputError(f"{shards}/qa: shards lack columns {sorted(missing)} (expected QA_SCHEMA)")
    if split is not None:
        counts = dict(qa.group_by("split").len().sort("split").iter_rows())
        qa = qa.filter(pl.col("split") == split)
        if qa.height == 0:
            have = ", ".join(f"synthetic:{s} ({n:,} rows)" for s, n in counts.items())
            raise InputError(
                f"data 'synthetic:{split}': the shards in {shards} have no '{split}' rows "
                f"(there: {have or 'none'}; `radvqa-data describe {shards}` says why)"
            )
    cols = ", ".join(READ_IMAGE_COLUMNS)
    images = _query_catalog(
        catalog, f"SELECT source, image_id, {cols} FROM images", [], "'synthetic'"
    )
    return qa.join(images, on=["source", "image_id"], how="left")


def read_qa(
    spec: str,
    *,
    shards: Path | None = None,
    catalog: Path | None = None,
    require_images: bool = True,
    stats: dict | None = None,
    decisions: Path | str | None = None,
) -> pl.DataFrame:
    """QA rows (columns `READ_COLUMNS`) for a data spec; see the module docstring.

    `stats`, when given, receives ``rows`` and ``dropped_no_image`` counts (and ``decisions``:
    what the decisions file dropped and corrected, when one is given).
    """
    name, _, rest = spec.partition(":")
    if name == "synthetic":
        df = _synthetic(rest or None, shards, catalog)
    elif name == "captions":
        source, _, split = rest.partition(":")
        df = _captions(None if source in ("", "*") else source, split or None, catalog)
    elif rest:
        df = _benchmark(name, rest, catalog)
    else:
        raise InputError(
            f"data spec '{spec}': expected synthetic[:SPLIT], captions[:SOURCE] or NAME:SPLIT"
        )
    # a column benchmark or caption rows do not have (e.g. a new QA column) is null there
    df = df.select(
        [
            pl.col(c).cast(pl.String) if c in df.columns else pl.lit(None, pl.String).alias(c)
            for c in READ_COLUMNS
        ]
    )
    applied = None
    if decisions is not None:
        from radvqa_data.core.decisions import apply_decisions, read_decisions

        df, applied = apply_decisions(df, read_decisions(decisions))
        applied["file"] = str(decisions)
        log.info("%s: decisions %s", spec, applied)
    dropped = 0
    if require_images:
        exists = [p is not None and Path(p).is_file() for p in df["image_path"].to_list()]
        keep = pl.Series(exists, dtype=pl.Boolean)
        dropped = df.height - int(keep.sum())
        df = df.filter(keep)
        if dropped:
            log.warning("%s: dropped %d rows without an image file", spec, dropped)
    if stats is not None:
        stats.update(rows=df.height, dropped_no_image=dropped)
        if applied is not None:
            stats["decisions"] = applied
    return df
