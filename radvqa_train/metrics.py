"""VQA metrics as the field reports them, as plain functions of (reference, prediction).

- Normalization (all metrics): lowercase, punctuation -> space, drop the articles a/an/the,
  collapse whitespace.
- ``exact_match``: normalized strings equal.
- ``recall`` (LLaVA-Med open-question protocol): share of distinct reference tokens present in
  the prediction.
- ``token_f1``: SQuAD-style F1 of token multisets.
- ``bleu1``: clipped unigram precision times the brevity penalty (one reference).
- ``rouge_l``: F1 of the longest common token subsequence (beta = 1).
- ``correct``: closed questions -> exact match, except that a yes/no reference is compared to
  the first token of the prediction ("Yes, there is..." counts as yes); open questions ->
  recall >= 0.5. ``closed_accuracy`` is the mean of ``correct`` over closed rows (by
  ``answer_type``: 272 on VQA-RAD test), ``closed_accuracy_yesno`` over rows whose reference is
  yes or no (251 on VQA-RAD test; papers quote either, so both are named), and ``open_recall``
  the mean recall over open rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from radvqa_data.core.answers import is_closed, normalize_answer

METRIC_KEYS = ("exact_match", "token_f1", "recall", "bleu1", "rouge_l")
OPEN_CORRECT_RECALL = 0.5


def tokens(text: str | None) -> list[str]:
    """Normalized tokens."""
    return normalize_answer(text).split()


def recall(ref: list[str], pred: list[str]) -> float:
    """Share of distinct reference tokens found in the prediction (1.0 for an empty reference)."""
    r = set(ref)
    return len(r & set(pred)) / len(r) if r else 1.0


def token_f1(ref: list[str], pred: list[str]) -> float:
    """F1 of the token multisets (1.0 when both are empty)."""
    if not ref or not pred:
        return float(ref == pred)
    common = sum((Counter(ref) & Counter(pred)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def bleu1(ref: list[str], pred: list[str]) -> float:
    """Clipped unigram precision x brevity penalty."""
    if not pred:
        return float(not ref)
    clipped = sum((Counter(pred) & Counter(ref)).values())
    bp = 1.0 if len(pred) >= len(ref) else math.exp(1 - len(ref) / len(pred))
    return bp * clipped / len(pred)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(ref: list[str], pred: list[str]) -> float:
    """ROUGE-L F1 (longest common subsequence of tokens)."""
    if not ref or not pred:
        return float(ref == pred)
    lcs = _lcs(ref, pred)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(pred), lcs / len(ref)
    return 2 * p * r / (p + r)


def score(reference: str, prediction: str, answer_type: str | None) -> dict:
    """All per-row scores plus ``correct`` (see the module docstring for the rules)."""
    ref, pred = tokens(reference), tokens(prediction)
    row = {
        "exact_match": float(ref == pred),
        "token_f1": token_f1(ref, pred),
        "recall": recall(ref, pred),
        "bleu1": bleu1(ref, pred),
        "rouge_l": rouge_l(ref, pred),
    }
    if is_closed(answer_type):
        if ref in (["yes"], ["no"]):
            row["correct"] = bool(pred[:1] == ref)
        else:
            row["correct"] = ref == pred
    else:
        row["correct"] = row["recall"] >= OPEN_CORRECT_RECALL
    return row


def _mean(values: Iterable[float]) -> float | None:
    v = list(values)
    return round(sum(v) / len(v), 6) if v else None


def aggregate(rows: list[dict]) -> dict:
    """Summary of scored rows (dicts with answer_type, correct and METRIC_KEYS)."""
    closed = [r for r in rows if is_closed(r.get("answer_type"))]
    opened = [r for r in rows if not is_closed(r.get("answer_type"))]
    yesno = [r for r in rows if normalize_answer(r.get("reference")) in ("yes", "no")]
    return {
        "closed_accuracy": _mean(float(r["correct"]) for r in closed),
        "closed_accuracy_yesno": _mean(float(r["correct"]) for r in yesno),
        "open_recall": _mean(r["recall"] for r in opened),
        "exact_match": _mean(r["exact_match"] for r in rows),
        "token_f1": _mean(r["token_f1"] for r in rows),
        "bleu1": _mean(r["bleu1"] for r in rows),
        "rouge_l": _mean(r["rouge_l"] for r in rows),
        "accuracy": _mean(float(r["correct"]) for r in rows),
        "n": len(rows),
        "n_closed": len(closed),
        "n_open": len(opened),
        "n_yesno": len(yesno),
    }


BREAKDOWNS = {
    "by_answer_type": "answer_type",
    "by_question_type": "question_type",
    "by_modality": "modality",
    "by_organ": "organ",
    "by_source": "source",
}


def summarize(rows: list[dict]) -> dict:
    """`{"overall": {...}, "by_answer_type": {value: {...}}, ...}` with counts in every cell."""
    out: dict = {"overall": aggregate(rows)}
    for name, col in BREAKDOWNS.items():
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(str(r.get(col) or "unknown"), []).append(r)
        out[name] = {k: aggregate(v) for k, v in sorted(groups.items())}
    return out
