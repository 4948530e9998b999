"""The report's headline figures, scored by `radvqa-train eval`'s own scorer, and the trivial
baselines a reader compares them with.

One scorer: every figure here is `radvqa_train.metrics.aggregate` over rows scored by
`radvqa_train.metrics.score`, so the report's `closed_accuracy` is the number `radvqa-train eval`
printed under the same name for the same predictions (the report does not define its own
accuracy).

Baselines (answers that ignore the image, scored the same way over the same rows):
- ``always_yes``: "yes" to every question;
- ``type_majority``: to every question, the most common reference answer among the rows of its
  question type and answer type (closed/open). It is taken from these very rows, so it is an
  optimistic guesser that knows this set's answer distribution.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import polars as pl

from radvqa_data.core.answers import normalize_answer
from radvqa_train.metrics import aggregate, score

#: the figures shown side by side for the model and each baseline (eval's names)
SHOWN: Final = ("closed_accuracy", "closed_accuracy_yesno", "open_recall", "accuracy")

#: what each figure means, written where the report shows it
DEFINITIONS: Final = {
    "closed_accuracy": "share of closed questions (answer_type closed) answered correctly; a "
    "yes/no reference is compared with the first word of the answer, any other closed reference "
    "with the whole normalized answer",
    "closed_accuracy_yesno": "the same over the questions whose reference is yes or no",
    "open_recall": "mean share of the reference's words found in the answer, over open questions",
    "accuracy": "share of all questions answered correctly (open: recall at least 0.5)",
}

BASELINE_LABELS: Final = {
    "always_yes": 'always "yes"',
    "type_majority": "type majority",
}
BASELINE_DEFINITIONS: Final = {
    "always_yes": 'answers "yes" to every question, without looking at the image',
    "type_majority": "answers every question with the most common reference answer of its "
    "question type and answer type in these rows (it knows this set's answer distribution)",
}


def _scored(refs: list, preds: list, types: list) -> list[dict[str, Any]]:
    return [
        {**score(r or "", p or "", t), "answer_type": t, "answer": r}
        for r, p, t in zip(refs, preds, types, strict=True)
    ]


def model_metrics(table: pl.DataFrame) -> dict[str, Any]:
    """`radvqa-train eval`'s overall metrics for the model's predictions in `table`."""
    return aggregate(
        _scored(
            table["answer"].to_list(),
            table["prediction"].to_list(),
            table["answer_type"].to_list(),
        )
    )


def type_majority_answers(table: pl.DataFrame) -> list[str]:
    """Per row, the most common normalized reference of its (question_type, answer_type) rows;
    ties go to the alphabetically first answer so the baseline is deterministic."""
    keys = list(zip(table["question_type"].to_list(), table["answer_type"].to_list(), strict=True))
    counts: dict[tuple, Counter] = {}
    for key, ref in zip(keys, table["answer"].to_list(), strict=True):
        counts.setdefault(key, Counter())[normalize_answer(ref)] += 1
    best = {k: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, c in counts.items()}
    return [best[k] for k in keys]


def baseline_metrics(table: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """{"always_yes": metrics, "type_majority": metrics} over the same rows as the model."""
    refs, types = table["answer"].to_list(), table["answer_type"].to_list()
    return {
        "always_yes": aggregate(_scored(refs, ["yes"] * table.height, types)),
        "type_majority": aggregate(_scored(refs, type_majority_answers(table), types)),
    }
