"""Planted label flips: how many known errors `label-issues` finds, and how many of its flags
are those errors (the measurement behind the recall/precision figures in docs/label-issues.md).

`plant_flips` changes a share of the checkable labels of a catalog *copy* to another class the
model knows, and returns what it changed; `score_flips` compares the flags with them. Two
precisions are reported: strict (every flag that is not a planted flip counts against it) and
against a clean run (a flag the same model also raised on the unflipped catalog is one of the
source's own suspects, not a false alarm of the planted run).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import duckdb

from radvqa_data.labels.tasks import pictures, task_classes


@dataclass(frozen=True)
class Flip:
    """One planted error: `field` of (source, image_id) changed from `given` to `planted`."""

    source: str
    image_id: str
    field: str
    given: str
    planted: str


def plant_flips(
    con: duckdb.DuckDBPyConnection,
    fraction: float,
    fields: tuple[str, ...] = ("modality", "plane"),
    *,
    seed: int = 0,
    min_class_images: int = 15,
) -> list[Flip]:
    """Flip `fraction` of each field's learnable training labels (in place: use a copy)."""
    pics = pictures(con)
    classes = task_classes(pics, min_class_images)
    rng = random.Random(seed)
    flips: list[Flip] = []
    for field in fields:
        names = classes.get(field, [])
        pool = [p for p in pics if p.train and p.labels[field] in names]
        for p in rng.sample(pool, round(fraction * len(pool))):
            given = p.labels[field]
            planted = rng.choice([c for c in names if c != given])
            flips.append(Flip(p.source, p.image_id, field, str(given), planted))
    for f in flips:
        # the field is one of the three label columns (never user text): safe to format in
        con.execute(
            f"UPDATE images SET {f.field} = ? WHERE source = ? AND image_id = ?",
            [f.planted, f.source, f.image_id],
        )
    return flips


@dataclass
class FlipScore:
    """Recall and precision of the flags against the planted flips, per field and overall."""

    planted: int
    flagged: int
    found: int
    recall: float
    precision: float  # strict
    precision_vs_clean: float | None  # flags also raised on the clean catalog set aside


def score_flips(
    flips: list[Flip],
    flagged: set[tuple[str, str, str]],
    clean_flags: set[tuple[str, str, str]] | None = None,
    field: str | None = None,
) -> FlipScore:
    """Score the flagged (source, image_id, field) keys against the flips (of `field`, or all)."""
    planted = {(f.source, f.image_id, f.field) for f in flips if field in (None, f.field)}
    flags = {k for k in flagged if field in (None, k[2])}
    found = len(planted & flags)
    vs_clean = None
    if clean_flags is not None:
        new = {k for k in flags if k in planted or k not in clean_flags}
        vs_clean = found / len(new) if new else 1.0
    return FlipScore(
        planted=len(planted),
        flagged=len(flags),
        found=found,
        recall=found / len(planted) if planted else 1.0,
        precision=found / len(flags) if flags else 1.0,
        precision_vs_clean=vs_clean,
    )
