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
