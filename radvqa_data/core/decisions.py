"""A person's verdicts on QA rows, and the one function that applies them to a table of rows.

`radvqa-data review pull NAME --out DECISIONS.parquet` writes them from a FiftyOne dataset; the
export (`export --decisions`), the cleaned copy (`audit --fix ... --decisions`) and the trainer's
reader (`read_qa(..., decisions=)`, `radvqa-train run/eval --decisions`) read them back through
`read_decisions` and `apply_decisions`. They live in the core because train may import only
the core and the reader (tests/test_boundaries.py), and they need nothing but Polars.

A decision is keyed by the QA row's stable id (`Candidate.row_id`: a hash of source, image id,
question, answer and generator/template), so it survives a rerun of synth with the same
settings. A picture rejected as a whole becomes one `reject` per row on it (`scope` = image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from radvqa_data.core.errors import InputError

#: action: `reject` drops the row; `correct` replaces its answer with `answer`.
DECISION_SCHEMA: Final = {
    "id": pl.String,  # the QA row id (QA_SCHEMA.id)
    "action": pl.String,  # reject | correct
    "answer": pl.String,  # the corrected answer (null for reject)
    "scope": pl.String,  # row (a label was tagged) | image (the whole sample was tagged)
    "reason": pl.String,  # the tag or field that made the decision
    "source": pl.String,
    "image_id": pl.String,
    "question": pl.String,  # as reviewed, so a person can read the file
    "dataset": pl.String,  # the FiftyOne dataset it was pulled from
}
ACTIONS: Final = ("reject", "correct")


def empty_decisions() -> pl.DataFrame:
    """A decisions table with no rows."""
    return pl.DataFrame(schema=DECISION_SCHEMA)


def read_decisions(path: str | Path) -> pl.DataFrame:
    """The decisions file at `path` (Parquet, `DECISION_SCHEMA`; `id` and `action` required)."""
    path = Path(path)
    expected = "a decisions Parquet file from `radvqa-data review pull` (columns id, action, ...)"
    if not path.is_file():
        raise InputError(f"--decisions {path}: file not found (expected {expected})")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for a bad file
        raise InputError(f"{path}: cannot read ({exc}); expected {expected}") from exc
    missing = {"id", "action"} - set(df.columns)
    if missing:
        raise InputError(f"{path}: lacks columns {sorted(missing)}; expected {expected}")
    df = df.select(
        [
            pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c)
            for c, t in DECISION_SCHEMA.items()
        ]
    )
    bad = df.filter(~pl.col("action").is_in(ACTIONS) | pl.col("id").is_null())
    if bad.height:
        raise InputError(
            f"{path}: {bad.height} decisions with an unknown action or no id "
            f"(e.g. {bad.row(0, named=True)}); expected action in {', '.join(ACTIONS)}"
        )
    no_answer = df.filter((pl.col("action") == "correct") & pl.col("answer").is_null()).height
    if no_answer:
        raise InputError(f"{path}: {no_answer} 'correct' decisions without an answer")
    return df


def apply_decisions(
    rows: pl.DataFrame,
    decisions: pl.DataFrame,
    *,
    id_col: str = "id",
    answer_col: str = "answer",
) -> tuple[pl.DataFrame, dict]:
    """`rows` without the rejected rows and with corrected answers; and what was done.

    A row both rejected and corrected is rejected (the less favourable verdict wins, as in the
    gold-set protocol). Decisions whose id is not among `rows` are counted (`not_found`), not an
    error: a decisions file covers a whole dataset, a table may hold one split of it.
    """
    rejected = decisions.filter(pl.col("action") == "reject").select("id").unique()
    corrected = (
        decisions.filter(pl.col("action") == "correct")
        .join(rejected, on="id", how="anti")
        .unique("id", keep="last", maintain_order=True)
        .select(pl.col("id"), pl.col("answer").alias("__corrected"))
    )
    ids = rows.select(pl.col(id_col).alias("id")).unique()
    n_rejected = rows.filter(pl.col(id_col).is_in(rejected["id"].implode())).height
    kept = rows.filter(~pl.col(id_col).is_in(rejected["id"].implode()))
    kept = kept.join(corrected.rename({"id": id_col}), on=id_col, how="left")
    changed = pl.col("__corrected").is_not_null() & (
        pl.col("__corrected") != pl.col(answer_col).fill_null("")
    )
    n_corrected = kept.filter(changed).height
    kept = kept.with_columns(
        pl.when(changed).then(pl.col("__corrected")).otherwise(pl.col(answer_col)).alias(answer_col)
    ).drop("__corrected")
    known = decisions.select("id").unique().join(ids, on="id", how="semi").height
    summary = {
        "decisions": decisions.height,
        "rejected": n_rejected,
        "corrected": n_corrected,
        "not_found": decisions.select("id").unique().height - known,
    }
    return kept, summary
