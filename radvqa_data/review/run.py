"""The review commands as plain functions (the CLI and the tests call these)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.review.review_records import read_rows, review_records


def build_review(
    folder: Path,
    catalog: Path,
    name: str,
    *,
    audit: Path | None = None,
    label_issues: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Build or update dataset `name` from shard folder `folder`; returns the counts."""
    from radvqa_data.review.dataset import build_dataset

    recs = review_records(read_rows(folder), catalog, audit=audit, label_issues=label_issues)
    if not recs.images:
        raise InputError(
            f"{folder}: none of the {recs.rows} rows has an image file in {catalog} "
            "(nothing to look at)"
        )
    counts = build_dataset(recs, name, progress=progress)
    return {
        **counts,
        "rows": recs.rows,
        "no_image_file": recs.no_image_file,
        "rows_without_image": recs.rows_without_image,
    }


def sample_review(
    folder: Path,
    catalog: Path,
    name: str,
    *,
    n: int,
    seed: int,
    exclude: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """A fresh random slice of `n` rows as a new dataset `name`, to label for `score_review`."""
    from radvqa_data.review.dataset import build_dataset
    from radvqa_data.review.fo import fiftyone, load
    from radvqa_data.review.score import draw_slice

    fo = fiftyone()
    if fo.dataset_exists(name):
        raise InputError(
            f"dataset '{name}' exists; a fresh slice needs a new name "
            f"(and --exclude {name} to draw none of its rows again)"
        )
    seen: set[str] = set()
    for other in exclude or []:
        seen.update(x for ids in load(other).values("qa.classifications.row_id") for x in ids or [])
    rows = draw_slice(read_rows(folder), catalog, n, seed, seen)
    counts = build_dataset(review_records(rows, catalog), name, progress=progress)
    ds = fo.load_dataset(name)
    ds.info.update(slice={"folder": str(folder), "n": n, "seed": seed, "exclude": exclude or []})
    ds.save()
    return {**counts, "rows": rows.height}


def score_review(name: str) -> tuple[pl.DataFrame, int]:
    """Precision per question type from the verdict tags of dataset `name`; and how many rows
    carry no verdict tag."""
    from radvqa_data.review.fo import load
    from radvqa_data.review.score import precision_table, verdict_of
    from radvqa_data.review.verdicts import label_table

    labels = label_table(load(name))
    table = precision_table(labels)
    unlabelled = sum(1 for t in labels["tags"].to_list() if verdict_of(t) is None)
    return table, unlabelled
