"""Figures of the experiment: reference baselines, mean ± std over seeds, paired bootstrap CIs.

Two closed accuracies, named apart so nobody confuses them:
- ``closed_accuracy``: over questions whose ``answer_type`` is closed (VQA-RAD test: 272);
- ``closed_accuracy_yesno``: over questions whose reference is yes or no (VQA-RAD test: 251).
"""

from __future__ import annotations

import statistics
from collections import Counter

from radvqa_data.core.answers import is_closed, normalize_answer
from radvqa_train.metrics import score

METRICS = ("closed_accuracy", "closed_accuracy_yesno", "open_recall", "exact_match")


def is_yesno(row: dict) -> bool:
    return normalize_answer(row.get("reference", row.get("answer"))) in ("yes", "no")


def per_question(rows: list[dict], metric: str) -> list[tuple[str, float]]:
    """(question id, score) of the rows a metric is defined on."""
    if metric == "closed_accuracy":
        return [(r["id"], float(r["correct"])) for r in rows if is_closed(r["answer_type"])]
    if metric == "closed_accuracy_yesno":
        return [(r["id"], float(r["correct"])) for r in rows if is_yesno(r)]
    if metric == "open_recall":
        return [(r["id"], float(r["recall"])) for r in rows if not is_closed(r["answer_type"])]
    return [(r["id"], float(r["exact_match"])) for r in rows]


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
    import numpy as np

    def seed_mean(runs: list[list[dict]]) -> dict[str, float]:
        acc: dict[str, list[float]] = {}
        for rows in runs:
            for qid, v in per_question(rows, name):
                acc.setdefault(qid, []).append(v)
        return {k: sum(v) / len(v) for k, v in acc.items()}

    a, b = seed_mean(a_runs), seed_mean(b_runs)
    ids = sorted(set(a) & set(b))
    d = np.array([a[i] - b[i] for i in ids])
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1)
    return round(float(d.mean()), 6), [
        round(float(np.quantile(boots, q)), 6) for q in (0.025, 0.975)
    ]


def baselines(train: list[dict], test: list[dict]) -> dict:
    """Always 'yes', and the majority train answer per (question type, answer type): a closed
    PRES question gets the commonest closed PRES answer, an open one the commonest open one."""

    def scored(pred_of) -> list[dict]:
        return [
            {**r, "reference": r["answer"], **score(r["answer"], pred_of(r), r["answer_type"])}
            for r in test
        ]

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
