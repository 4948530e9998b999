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
    yesno = [r for r in rows if normalize_answer(r.get("answer")) in ("yes", "no")]
    return {
        "closed_accuracy": _mean(float(r["correct"]) for r in closed),
        "closed_accuracy_yesno": _mean(float(r["correct"]) for r in yesno),
        "open_recall": _mean(r["recall"] for r in opened),
        "exact_match": _mean(r["exact_match"] for r in rows),
        "token_f1": _mean(r["token_f1"] for r in rows),
        "bleu1": _mean(r["bleu1"] for r in rows),
        "rouge_l": _mean(r["rouge_l"] for r in rows),
        "accuracy": _mean(float(r["correct"]) for r in rows),
        "image_determined_accuracy": _mean(
            float(r["correct"]) for r in rows if in_subset(r, "image_determined")
        ),
        "n": len(rows),
        "n_closed": len(closed),
        "n_open": len(opened),
        "n_yesno": len(yesno),
        "n_image_determined": sum(1 for r in rows if in_subset(r, "image_determined")),
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


# --- subsets and grounding: where the picture decides, and whether the answer follows it ---

#: Question types a picture decides outright (VQA-RAD test: MODALITY 33, PLANE 26, ORGAN 10 =
#: 69 questions, closed and open): a model that reads modality, plane and region gets them right
#: while a blind one guesses. PRES (163 on VQA-RAD test) needs fine detail and is left out.
IMAGE_DETERMINED_TYPES = frozenset({"MODALITY", "PLANE", "ORGAN"})
#: The named subsets every report scores (`in_subset`).
SUBSETS = ("closed", "image_determined")


def in_subset(row: dict, subset: str) -> bool:
    """Whether a scored row belongs to `subset`: ``closed`` (answer_type closed) or
    ``image_determined`` (question_type exactly one of `IMAGE_DETERMINED_TYPES`; a combined
    type such as "PRES, POS" is not decided by the picture alone)."""
    if subset == "closed":
        return is_closed(row.get("answer_type"))
    if subset == "image_determined":
        return str(row.get("question_type") or "").strip().upper() in IMAGE_DETERMINED_TYPES
    raise ValueError(f"unknown subset {subset!r} (known: {', '.join(SUBSETS)})")


def subset_accuracy(rows: list[dict], subset: str) -> float | None:
    """Mean of ``correct`` over the rows of `subset` (None when it has none)."""
    return _mean(float(r["correct"]) for r in rows if in_subset(r, subset))


def bootstrap_ci(
    values: list[float], n: int = 2000, seed: int = 0
) -> tuple[float, list[float]] | None:
    """Mean of `values` and its 95% percentile-bootstrap interval (None for no values). Used for
    every paired difference and share the reports print, so all intervals are made alike."""
    import numpy as np

    if not values:
        return None
    v = np.asarray(values, dtype=float)
    boots = v[np.random.default_rng(seed).integers(0, len(v), (n, len(v)))].mean(axis=1)
    return round(float(v.mean()), 6), [
        round(float(np.quantile(boots, q)), 6) for q in (0.025, 0.975)
    ]


def _ablation_cell(real: list[dict], ablated: dict[str, dict], n_boot: int) -> dict:
    """Accuracy on real and ablated pictures, the drop (real - ablated, paired CI) and the image
    sensitivity (share of questions whose normalized answer changes, CI) for one group."""
    cell: dict = {"n": len(real), "accuracy": _mean(float(r["correct"]) for r in real)}
    for mode, by_id in ablated.items():
        pairs = [(r, by_id[r["id"]]) for r in real if r["id"] in by_id]
        drop = bootstrap_ci([float(a["correct"]) - float(b["correct"]) for a, b in pairs], n_boot)
        changed = bootstrap_ci(
            [
                float(normalize_answer(a["prediction"]) != normalize_answer(b["prediction"]))
                for a, b in pairs
            ],
            n_boot,
        )
        cell[mode] = {
            "accuracy": _mean(float(b["correct"]) for _, b in pairs),
            "drop": None if drop is None else {"diff": drop[0], "ci95": drop[1]},
            "sensitivity": None if changed is None else {"share": changed[0], "ci95": changed[1]},
        }
    return cell


def grounding(real: list[dict], ablated: dict[str, list[dict]], n_boot: int = 2000) -> dict:
    """Does the answer follow the picture? `real`: scored rows on the real pictures; `ablated`:
    mode (blank, shuffle) -> the same questions scored on ablated pictures (matched by ``id``).

    Returns ``{"subsets": {all, closed, image_determined: cell}, "by_question_type": {type:
    cell}}``; a cell holds n, accuracy and per mode its accuracy, ``drop`` (real - ablated
    accuracy, paired bootstrap CI over questions) and ``sensitivity`` (share of questions whose
    answer changes with the ablated picture, with its CI)."""
    by_mode = {m: {r["id"]: r for r in rows} for m, rows in ablated.items()}
    groups: dict[str, list[dict]] = {"all": list(real)}
    for s in SUBSETS:
        groups[s] = [r for r in real if in_subset(r, s)]
    types: dict[str, list[dict]] = {}
    for r in real:
        types.setdefault(str(r.get("question_type") or "unknown"), []).append(r)
    return {
        "subsets": {k: _ablation_cell(v, by_mode, n_boot) for k, v in groups.items()},
        "by_question_type": {
            k: _ablation_cell(v, by_mode, n_boot) for k, v in sorted(types.items())
        },
    }
