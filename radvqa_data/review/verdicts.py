"""What people said in FiftyOne, read back: decisions (reject / corrected answer) and verdicts.

Read with `values()` over the whole dataset (one query per field, no sample objects), so pulling
22,230 labels takes about a second. Corrected answers live in a label attribute a person sets
(`corrected_answer` by default; FiftyOne's open-source app tags but does not edit attributes,
so it is set from Python, docs/review.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from radvqa_data.core.atomic import write_parquet
from radvqa_data.core.decisions import DECISION_SCHEMA
from radvqa_data.review.fo import load

#: The fixed tag set for truth measurement, best first (the gold-set protocol's labels).
VERDICTS = ("correct", "unsupported", "wrong", "bad_question")


def label_table(ds: Any, answer_field: str = "corrected_answer") -> pl.DataFrame:
    """One row per QA label: row id, image, question, type, answer, tags, image tags, correction."""
    fields = [
        "source",
        "image_id",
        "tags",
        "qa.classifications.row_id",
        "qa.classifications.question",
        "qa.classifications.question_type",
        "qa.classifications.answer",
        "qa.classifications.tags",
        f"qa.classifications.{answer_field}",
    ]
    cols = ds.values(fields)
    out: dict[str, list] = {k: [] for k in ("source", "image_id", "image_tags", "id", "question")}
    out.update(question_type=[], answer=[], tags=[], corrected=[])
    for src, img, stags, rids, *labels in zip(*cols, strict=True):
        n = len(rids or [])
        # an attribute no label has (yet) comes back as None, not as a list of Nones
        labels = [x if x is not None else [None] * n for x in labels]
        for rid, q, qt, ans, ltags, corr in zip(rids or [], *labels, strict=True):
            row = (src, img, list(stags or []), rid, q, qt, ans, list(ltags or []), corr)
            for k, v in zip(out, row, strict=True):
                out[k].append(v)
    return pl.DataFrame(
        out,
        schema={
            **{k: pl.String for k in ("source", "image_id")},
            "image_tags": pl.List(pl.String),
            **{k: pl.String for k in ("id", "question", "question_type", "answer")},
            "tags": pl.List(pl.String),
            "corrected": pl.String,
        },
    )


def decisions_of(
    labels: pl.DataFrame,
    name: str,
    reject_tags: tuple[str, ...] = ("reject",),
    answer_field: str = "corrected_answer",
) -> pl.DataFrame:
    """Decisions (`DECISION_SCHEMA`) from a `label_table`: a label tagged with a reject tag, every
    row of an image tagged so, and each corrected answer that differs from the answer."""
    rt = list(reject_tags)
    row_rej = labels.filter(pl.col("tags").list.set_intersection(rt).list.len() > 0)
    img_rej = labels.filter(pl.col("image_tags").list.set_intersection(rt).list.len() > 0)
    corr = labels.filter(
        pl.col("corrected").is_not_null() & (pl.col("corrected") != pl.col("answer"))
    )

    def frame(df: pl.DataFrame, action: str, scope: str, reason: pl.Expr) -> pl.DataFrame:
        answer = pl.col("corrected") if action == "correct" else pl.lit(None, pl.String)
        return df.select(
            "id",
            pl.lit(action).alias("action"),
            answer.alias("answer"),
            pl.lit(scope).alias("scope"),
            reason.alias("reason"),
            "source",
            "image_id",
            "question",
            pl.lit(name).alias("dataset"),
        )

    tag_of = pl.col("tags").list.set_intersection(rt).list.join(",")
    out = pl.concat(
        [
            frame(row_rej, "reject", "row", tag_of),
            frame(
                img_rej,
                "reject",
                "image",
                pl.col("image_tags").list.set_intersection(rt).list.join(","),
            ),
            frame(corr, "correct", "row", pl.lit(answer_field)),
        ]
    )
    return out.cast(DECISION_SCHEMA).unique(["id", "action"], keep="first", maintain_order=True)


def pull(
    name: str,
    out: Path,
    *,
    reject_tags: tuple[str, ...] = ("reject",),
    answer_field: str = "corrected_answer",
) -> dict[str, int]:
    """Write the decisions of dataset `name` to `out` (Parquet, atomic); returns counts."""
    ds = load(name)
    decisions = decisions_of(label_table(ds, answer_field), name, reject_tags, answer_field)
    write_parquet(Path(out), decisions)
    counts = {"decisions": decisions.height}
    for action, scope, n in decisions.group_by(["action", "scope"]).len().iter_rows():
        counts[f"{action}_{scope}"] = n
    return counts
