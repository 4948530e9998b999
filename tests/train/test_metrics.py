"""VQA metrics: values worked out by hand."""

from __future__ import annotations

import math

import pytest

from radvqa_data.core.answers import normalize_answer
from radvqa_train.metrics import (
    aggregate,
    bleu1,
    recall,
    rouge_l,
    score,
    summarize,
    token_f1,
    tokens,
)


def test_normalize_drops_case_punctuation_articles():
    assert normalize_answer("  The Left  Lung, (apex). ") == "left lung apex"
    assert tokens(None) == []


def test_recall_f1_bleu_rouge_by_hand():
    ref, pred = tokens("left upper lobe"), tokens("the upper lobe of the left lung")
    assert recall(ref, pred) == 1.0
    # pred tokens: upper lobe of left lung (5); common 3 -> p 3/5, r 1 -> f1 0.75
    assert token_f1(ref, pred) == pytest.approx(0.75)
    assert bleu1(ref, pred) == pytest.approx(3 / 5)
    # LCS(left upper lobe, upper lobe of left lung) = 2 -> p 2/5, r 2/3
    assert rouge_l(ref, pred) == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    # brevity penalty when the prediction is shorter than the reference
    assert bleu1(tokens("right lower lobe"), tokens("lobe")) == pytest.approx(math.exp(1 - 3))


def test_closed_yes_no_uses_first_token_open_uses_recall():
    assert score("Yes", "yes, there is a mass", "closed")["correct"] is True
    assert score("Yes", "no", "closed")["correct"] is False
    assert score("Axial", "axial", "closed")["correct"] is True
    assert score("Axial", "axial plane", "closed")["correct"] is False
    assert score("right kidney", "the kidney", "open")["correct"] is True  # recall 0.5
    assert score("right kidney mass", "kidney", "open")["correct"] is False  # recall 1/3


def test_summary_breakdowns_have_counts():
    rows = [
        {
            "answer_type": "closed",
            "question_type": "PRES",
            "modality": "CT",
            "organ": None,
            "source": "x",
            **score("yes", "yes", "closed"),
        },
        {
            "answer_type": "closed",
            "question_type": "PRES",
            "modality": "MRI",
            "organ": "head",
            "source": "x",
            **score("no", "yes", "closed"),
        },
        {
            "answer_type": "open",
            "question_type": "ORGAN",
            "modality": "CT",
            "organ": "head",
            "source": "x",
            **score("brain", "brain", "open"),
        },
    ]
    m = summarize(rows)
    assert m["overall"]["closed_accuracy"] == 0.5 and m["overall"]["open_recall"] == 1.0
    assert m["overall"]["n"] == 3 and m["overall"]["n_closed"] == 2
    assert m["by_modality"]["CT"]["n"] == 2 and m["by_organ"]["unknown"]["n"] == 1
    assert m["by_question_type"]["ORGAN"]["closed_accuracy"] is None
    assert aggregate([])["n"] == 0


def test_image_determined_subset_is_modality_plane_organ_closed_and_open():
    from radvqa_train.metrics import in_subset

    def row(qt, at="CLOSED"):
        return {"question_type": qt, "answer_type": at}

    assert in_subset(row("MODALITY"), "image_determined")
    assert in_subset(row("plane ", "OPEN"), "image_determined")
    assert in_subset(row("ORGAN", "OPEN"), "image_determined")
    assert not in_subset(row("PRES"), "image_determined")
    assert not in_subset(row("PRES, POS"), "image_determined")  # combined: not the picture alone
    assert in_subset(row("PRES"), "closed") and not in_subset(row("PRES", "OPEN"), "closed")
    with pytest.raises(ValueError, match="unknown subset"):
        in_subset(row("PRES"), "nope")


def test_grounding_counts_drops_and_changed_answers():
    """Four MODALITY questions answered right on the real picture; on the blank one, two flip
    to a wrong answer: accuracy drop 0.5 and half the answers changed."""
    from radvqa_train.metrics import bootstrap_ci, grounding, score

    def scored(i, qt, ref, pred):
        return {
            "id": str(i),
            "question_type": qt,
            "answer_type": "OPEN",
            "answer": ref,
            "prediction": pred,
            **score(ref, pred, "OPEN"),
        }

    real = [scored(i, "MODALITY", "ct", "ct") for i in range(4)] + [scored(9, "PRES", "yes", "no")]
    blank = [scored(i, "MODALITY", "ct", "mri" if i < 2 else "ct") for i in range(4)]
    blank.append(scored(9, "PRES", "yes", "no"))
    g = grounding(real, {"blank": blank}, n_boot=200)
    cell = g["subsets"]["image_determined"]
    assert cell["n"] == 4 and cell["accuracy"] == 1.0 and cell["blank"]["accuracy"] == 0.5
    assert cell["blank"]["drop"]["diff"] == 0.5 and cell["blank"]["sensitivity"]["share"] == 0.5
    assert g["by_question_type"]["PRES"]["blank"]["sensitivity"]["share"] == 0.0
    assert g["subsets"]["all"]["blank"]["drop"]["diff"] == pytest.approx(2 / 5)
    mean, (lo, hi) = bootstrap_ci([1.0, 0.0, 1.0, 1.0], n=500)
    assert mean == 0.75 and 0.0 <= lo <= mean <= hi <= 1.0
    assert bootstrap_ci([]) is None
