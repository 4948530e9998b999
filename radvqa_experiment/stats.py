"""Figures of the experiment: reference baselines, mean ± std over seeds, paired bootstrap CIs.

Two closed accuracies, named apart so nobody confuses them:
- ``closed_accuracy``: over questions whose ``answer_type`` is closed (VQA-RAD test: 272);
- ``closed_accuracy_yesno``: over questions whose reference is yes or no (VQA-RAD test: 251).
"""

from __future__ import annotations

import statistics
from collections import Counter

from radvqa_data.core.answers import is_closed, normalize_answer
from radvqa_train.metrics import bootstrap_ci, in_subset, score

METRICS = (
    "closed_accuracy",
    "closed_accuracy_yesno",
    "open_recall",
    "exact_match",
    "image_determined_accuracy",
)
#: The subset a comparison's metric is computed on (`comparisons[].subset`).
SUBSET_OF = {
    "closed_accuracy": "closed",
    "closed_accuracy_yesno": "closed",
    "image_determined_accuracy": "image_determined",
    "open_recall": "open",
    "exact_match": "all",
}
#: results.json `subsets.NAME` -> the metric scoring it.
SUBSET_METRICS = {"closed": "closed_accuracy", "image_determined": "image_determined_accuracy"}


def is_yesno(row: dict) -> bool:
    return normalize_answer(row.get("answer")) in ("yes", "no")


def per_question(rows: list[dict], metric: str) -> list[tuple[str, float]]:
    """(question id, score) of the rows a metric is defined on."""
    if metric == "closed_accuracy":
        return [(r["id"], float(r["correct"])) for r in rows if is_closed(r["answer_type"])]
    if metric == "closed_accuracy_yesno":
        return [(r["id"], float(r["correct"])) for r in rows if is_yesno(r)]
    if metric == "open_recall":
        return [(r["id"], float(r["recall"])) for r in rows if not is_closed(r["answer_type"])]
    if metric == "image_determined_accuracy":  # closed and open: `correct` (metrics.score)
        return [(r["id"], float(r["correct"])) for r in rows if in_subset(r, "image_determined")]
    return [(r["id"], float(r["exact_match"])) for r in rows]


def changed(real: list[dict], ablated: list[dict], subset: str) -> list[tuple[str, float]]:
    """(question id, 1.0 if the normalized answer differs on the ablated picture) per question
    of `subset` ("all" for every question): the image sensitivity's per-question values."""
    by_id = {r["id"]: r for r in ablated}
    return [
        (
            r["id"],
            float(
                normalize_answer(r["prediction"]) != normalize_answer(by_id[r["id"]]["prediction"])
            ),
        )
        for r in real
        if r["id"] in by_id and (subset == "all" or in_subset(r, subset))
    ]


def sensitivity(real_runs: list[list[dict]], ablated_runs: list[list[dict]], subset: str) -> dict:
    """Share of `subset`'s questions whose answer changes with the ablated picture: mean ± std
    over seeds, and a 95% bootstrap CI over questions of the seed-averaged indicator."""
    per_seed = [changed(r, a, subset) for r, a in zip(real_runs, ablated_runs, strict=True)]
    acc: dict[str, list[float]] = {}
    for seed_vals in per_seed:
        for qid, v in seed_vals:
            acc.setdefault(qid, []).append(v)
    ci = bootstrap_ci([sum(v) / len(v) for v in acc.values()])
    return {
        **mean_std([sum(v for _, v in sv) / max(len(sv), 1) for sv in per_seed]),
        "ci95": None if ci is None else ci[1],
    }


def metric(rows: list[dict], name: str) -> float:
    vals = [v for _, v in per_question(rows, name)]
    return round(sum(vals) / max(len(vals), 1), 6)


def mean_std(values: list[float]) -> dict:
    return {
        "mean": round(statistics.fmean(values), 6),
        "std": round(statistics.stdev(values), 6) if len(values) > 1 else 0.0,
        "per_seed": [round(v, 6) for v in values],
    }


def paired_bootstrap(
    a_runs: list[list[dict]], b_runs: list[list[dict]], name: str, n: int = 2000, seed: int = 0
) -> tuple[float, list[float]]:
    """Difference a - b of the seed-mean metric, and its 95% CI resampling test questions.

    Each arm's score per question is averaged over its seeds first, so the interval reflects
    which questions were drawn (the paired design), with seed noise averaged in.
    """

    def seed_mean(runs: list[list[dict]]) -> dict[str, float]:
        acc: dict[str, list[float]] = {}
        for rows in runs:
            for qid, v in per_question(rows, name):
                acc.setdefault(qid, []).append(v)
        return {k: sum(v) / len(v) for k, v in acc.items()}

    a, b = seed_mean(a_runs), seed_mean(b_runs)
    ids = sorted(set(a) & set(b))
    res = bootstrap_ci([a[i] - b[i] for i in ids], n, seed)
    return (0.0, [0.0, 0.0]) if res is None else res


def baselines(train: list[dict], test: list[dict]) -> dict:
    """Always 'yes', and the majority train answer per (question type, answer type): a closed
    PRES question gets the commonest closed PRES answer, an open one the commonest open one."""

    def scored(pred_of) -> list[dict]:
        return [{**r, **score(r["answer"], pred_of(r), r["answer_type"])} for r in test]

    def key(r: dict) -> tuple[str, str]:
        return r["question_type"], r["answer_type"]

    by_key: dict[tuple[str, str], Counter] = {}
    for r in train:
        by_key.setdefault(key(r), Counter())[normalize_answer(r["answer"])] += 1
    majority = {k: c.most_common(1)[0][0] for k, c in by_key.items()}
    overall = Counter(normalize_answer(r["answer"]) for r in train).most_common(1)[0][0]
    out = {}
    for name, fn in (
        ("always_yes", lambda r: "yes"),
        ("type_majority", lambda r: majority.get(key(r), overall)),
    ):
        rows = scored(fn)
        out[name] = {m: metric(rows, m) for m in METRICS}
    return out
