"""`--against NAME[:SPLIT]`: protected evaluation sets in the catalog (images and benchmark QA)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.reader.catalog import (
    audit_images,
    benchmark_questions,
    benchmark_split_images,
    source_kinds,
    source_splits,
)


@dataclass(frozen=True)
class Against:
    """One protected set: a catalog source, optionally one split."""

    source: str
    split: str | None

    @property
    def label(self) -> str:
        return self.source if self.split is None else f"{self.source}:{self.split}"


def parse_against(
    specs: list[str], con: duckdb.DuckDBPyConnection | None, catalog: str
) -> list[Against]:
    """Parse and check `--against` values against the catalog's sources."""
    if not specs:
        return []
    if con is None:
        raise InputError("--against needs a catalog: pass --catalog FILE")
    known = set(source_kinds(con))
    out = []
    for s in specs:
        name, _, split = s.partition(":")
        if name not in known:
            raise InputError(
                f"--against {s}: no source '{name}' in {catalog}; "
                f"sources there: {', '.join(sorted(known)) or '(none)'}"
            )
        if split:
            have = source_splits(con, name)
            if split not in have:
                raise InputError(
                    f"--against {s}: source '{name}' has no split '{split}'; "
                    f"splits there: {', '.join(sorted(have)) or '(none)'}"
                )
        out.append(Against(name, split or None))
    return out


def protected_images(con: duckdb.DuckDBPyConnection, sets: list[Against]) -> pl.DataFrame:
    """Images of the protected sets. With a split: images of that split, plus images that carry
    benchmark questions of that split (VQA-RAD images serve train and test questions at once)."""
    frames = []
    for a in sets:
        if a.split is None:
            frames.append(audit_images(con, "source = ?", [a.source]))
        else:
            df = benchmark_split_images(con, a.source, a.split)
            frames.append(df.with_columns(pl.lit(a.split).alias("split")))
    if not frames:
        return pl.DataFrame()
    imgs = pl.concat(frames, how="diagonal_relaxed").unique(
        ["source", "image_id"], keep="first", maintain_order=True
    )
    return imgs.join(_qa_splits(con, sets), on=["source", "image_id"], how="left")


#: how splits are listed for a person: train before validation before test
_SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}


def _qa_splits(con: duckdb.DuckDBPyConnection, sets: list[Against]) -> pl.DataFrame:
    """(source, image_id, splits): every split whose benchmark questions an image carries, so
    that an image serving train and test questions (split NULL in the catalog) reads
    `vqa-rad:train+test` in the report rather than `vqa-rad:-`."""
    frames = [benchmark_questions(con, a.source) for a in {a.source: a for a in sets}.values()]
    frames = [f.select("source", "image_id", "split") for f in frames if f.height]
    if not frames:
        return pl.DataFrame(
            schema={"source": pl.String, "image_id": pl.String, "splits": pl.List(pl.String)}
        )
    qa = pl.concat(frames).drop_nulls("split").unique()
    return (
        qa.with_columns(pl.col("split").replace_strict(_SPLIT_ORDER, default=9).alias("_o"))
        .sort("source", "image_id", "_o", "split")
        .group_by("source", "image_id", maintain_order=True)
        .agg(pl.col("split").alias("splits"))
    )


def protected_questions(con: duckdb.DuckDBPyConnection, sets: list[Against]) -> pl.DataFrame:
    """Benchmark QA rows of the protected sets (source, qid, image_id, split, question, answer)."""
    frames = []
    for a in sets:
        frames.append(benchmark_questions(con, a.source, a.split))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames)
