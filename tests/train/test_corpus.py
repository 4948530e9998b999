"""The tokenizer corpus holds training-split text only (no VQA-RAD test question leaks in)."""

from __future__ import annotations

from tests.conftest import dataset


def test_no_vqa_rad_test_question_is_in_the_tokenizer_corpus(shared_data):
    from radvqa_train.corpus import VQA_RAD_TEST_TYPES, vqa_rad_rows
    from radvqa_train.tiny_model import corpus_lines

    rows = vqa_rad_rows(dataset(shared_data, "vqa-rad"))
    train_text = {
        " ".join(r["question"].split()) for r in rows if r["phrase_type"] not in VQA_RAD_TEST_TYPES
    }
    test_only = {
        " ".join(r["question"].split()) for r in rows if r["phrase_type"] in VQA_RAD_TEST_TYPES
    } - train_text
    assert len(test_only) > 350  # most test questions are worded unlike any train question
    corpus = "\n".join(corpus_lines())
    # a short test question can sit inside a longer train one ("is there a mass" in "is there a
    # mass effect?"): that is train text, not a leak
    leaked = [q for q in test_only if q in corpus and not any(q in t for t in train_text)]
    assert leaked == [], f"{len(leaked)} test questions in the corpus, e.g. {leaked[:3]}"


def test_shipped_corpus_is_what_the_builder_makes(shared_data):
    """Reproducible: `python -m radvqa_train.corpus --data SHARED` rewrites the same file."""
    from radvqa_train.corpus import corpus_from
    from radvqa_train.tiny_model import corpus_lines

    lines = corpus_from(dataset(shared_data, "medpix2"), dataset(shared_data, "vqa-rad"))
    assert lines == corpus_lines()
