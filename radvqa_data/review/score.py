"""Truth measurement: draw a fresh random slice to label, and precision per type from its tags.

`draw_slice` picks N QA rows uniformly at random (a seeded draw over the rows sorted by id, so
the same seed and rows give the same slice) among rows whose image has a file, leaving out rows
already in earlier slices. A person then tags each row in the app with one verdict of the fixed
set `VERDICTS` (the gold-set protocol of tests/data/gold/README.md). `precision_table` turns the
tags into precision per question type (correct / labelled) with a Wilson score interval; a row
with several verdict tags counts with the least favourable one, as the protocol says.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.review.verdicts import VERDICTS


def draw_slice(
    rows: pl.DataFrame,
    catalog: Path,
    n: int,
    seed: int,
    exclude: set[str] | frozenset = frozenset(),
) -> pl.DataFrame:
    """`n` rows drawn at random (seeded) among those with an image file, none in `exclude`."""
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import images_with_files

    with connect(catalog, read_only=True) as con:
        ok = images_with_files(con)
    pool = (
        rows.join(ok, on=["source", "image_id"], how="semi")
        .filter(~pl.col("id").is_in(list(exclude)))
        .sort("id")
    )
    if pool.height < n:
        raise InputError(
            f"--n {n}: only {pool.height} rows with an image file are left to draw from "
            f"({len(exclude)} excluded as already in earlier slices)"
        )
    return pool.sample(n=n, seed=seed, shuffle=True)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95% by default); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def verdict_of(tags: list[str]) -> str | None:
    """The row's verdict: the least favourable verdict tag it carries, or None."""
    found = [VERDICTS.index(t) for t in tags if t in VERDICTS]
    return VERDICTS[max(found)] if found else None


def precision_table(labels: pl.DataFrame) -> pl.DataFrame:
    """Per question type, then `ALL`: labelled rows, each verdict's count, precision and its
    95% Wilson interval. `labels` has `question_type` and `tags` (a list of strings)."""
    v = labels.with_columns(
        pl.col("tags").map_elements(verdict_of, return_dtype=pl.String).alias("verdict")
    )
    v = v.filter(pl.col("verdict").is_not_null())
    rows = []
    groups = [(qt, part) for (qt,), part in v.group_by(["question_type"])]
    for qt, part in sorted(groups, key=lambda g: str(g[0])) + [("ALL", v)]:
        counts = {k: part.filter(pl.col("verdict") == k).height for k in VERDICTS}
        n, k = part.height, counts["correct"]
        lo, hi = wilson(k, n)
        rows.append(
            {
                "question_type": qt,
                "labelled": n,
                **counts,
                "precision": k / n if n else None,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pl.DataFrame(rows)


def format_table(table: pl.DataFrame, unlabelled: int) -> str:
    """The table as aligned text lines, for the terminal."""
    lines = [f"{'type':10s} {'n':>5s} {'correct':>8s} {'precision':>9s}  95% CI (Wilson)"]
    for r in table.iter_rows(named=True):
        p = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        lines.append(
            f"{r['question_type']:10s} {r['labelled']:5d} {r['correct']:8d} {p:>9s}  "
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        )
    lines.append(f"{unlabelled} rows carry no verdict tag ({', '.join(VERDICTS)})")
    return "\n".join(lines)
