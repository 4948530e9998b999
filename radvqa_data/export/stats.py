"""Counts of the exported rows, as the dataset card reports them.

The same definitions as the synth manifest (`radvqa_data.synth.manifest.shard_stats`): a
yes/no row is a closed row whose answer, stripped and lower-cased, is "yes" or "no"; the
yes-rate of a question type is yes / (yes + no). So an export of every row of a shard folder
has exactly the manifest's counts, and the card says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from radvqa_data.core.answers import ANSWER_TYPES, CLOSED
from radvqa_data.export.sources import hub_license, source_info


@dataclass
class RowStats:
    """Counts per split, type, answer type and source; yes/no per type; licences."""

    rows: int
    images: int
    by_split: dict[str, dict[str, int]]  # split -> {"rows", "images"}
    by_type: dict[str, dict[str, int]]  # question type -> {answer type: rows}
    yes_no: dict[str, dict[str, int]]  # question type -> {"yes", "no"}
    by_source: dict[str, dict]  # source -> {"kind", "rows", "images", "licences": {text: images}}


def row_stats(rows: pl.DataFrame) -> RowStats:
    """Count `rows` (export input columns)."""
    images = rows.select("source", "image_id")
    by_split = {
        s: {"rows": g.height, "images": g.select("source", "image_id").n_unique()}
        for (s,), g in rows.group_by("split", maintain_order=True)
    }
    by_type: dict[str, dict[str, int]] = {}
    for qt, at, n in (
        rows.group_by("question_type", "answer_type")
        .len()
        .sort("question_type", "answer_type")
        .iter_rows()
    ):
        by_type.setdefault(qt, dict.fromkeys(ANSWER_TYPES, 0))[at] = n
    yn = rows.filter(
        (pl.col("answer_type") == CLOSED)
        & pl.col("answer").str.strip_chars().str.to_lowercase().is_in(["yes", "no"])
    )
    yes_no: dict[str, dict[str, int]] = {}
    for qt, ans, n in (
        yn.group_by("question_type", pl.col("answer").str.strip_chars().str.to_lowercase())
        .len()
        .sort("question_type")
        .iter_rows()
    ):
        yes_no.setdefault(qt, {"yes": 0, "no": 0})[ans] = n
    by_source: dict[str, dict] = {}
    for (src,), g in rows.sort("source").group_by("source", maintain_order=True):
        kind = g["source_kind"][0] if "source_kind" in g.columns else None
        per_image = g.unique(["image_id"]).with_columns(
            pl.col("licence").fill_null(
                source_info(kind).licence or source_info(kind).licence_fallback
            )
        )
        lic = {
            k: int(n) for k, n in per_image.group_by("licence").len().sort("licence").iter_rows()
        }
        by_source[src] = {
            "kind": kind,
            "rows": g.height,
            "images": per_image.height,
            "licences": lic,
        }
    return RowStats(
        rows.height,
        images.n_unique() if rows.height else 0,
        by_split,
        dict(sorted(by_type.items())),
        yes_no,
        by_source,
    )


def card_license(stats: RowStats) -> str:
    """The Hub licence id for the card header: one exact id shared by every image, else
    ``unknown`` when nothing is known of any image's licence (your own images), else ``other``
    (`licence_details` says what each source's is; the body lists them per image)."""
    texts = {t for s in stats.by_source.values() for t in s["licences"]}
    ids = {hub_license(t) for t in texts}
    if len(ids) == 1 and None not in ids:
        return ids.pop()
    return "unknown" if texts <= {"unknown"} else "other"


def licence_details(stats: RowStats) -> str:
    """``medpix2: none published (...); vqa-rad: CC0 1.0``: each source's licences, one line."""
    return "; ".join(f"{src}: {', '.join(s['licences'])}" for src, s in stats.by_source.items())


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for `n` rows."""
    bounds = (
        (10**3, "n<1K"),
        (10**4, "1K<n<10K"),
        (10**5, "10K<n<100K"),
        (10**6, "100K<n<1M"),
        (10**7, "1M<n<10M"),
        (10**8, "10M<n<100M"),
        (10**9, "100M<n<1B"),
    )
    return next((label for limit, label in bounds if n < limit), "1B<n<10B")
