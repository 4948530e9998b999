"""Each shared filter: one kept and one rejected case, plus the chain's counting and balance."""

from __future__ import annotations

import pytest

from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.filters import (
    AnswerInQuestionFilter,
    FilterChain,
    GroundingFilter,
    ImageDuplicateFilter,
    LanguageFilter,
    LengthFilter,
    NonVisualFilter,
    YesNoBalancer,
    default_filters,
)
from radvqa_data.synth.rules.caption_check import source_text_reason

CAPTION = (
    "The prostate is enlarged with several calcifications noted within. "
    "No dominant prostate mass is evident."
)


def rec(**kw) -> ImageRecord:
    base = dict(
        source="medpix2",
        image_id="MPX1009_synpic46283",
        case_id="MPX1009",
        split="train",
        status="ok",
        modality="CT",
        modality_raw="CT - noncontrast",
        plane="coronal",
        organ="pelvis",
        texts={"caption": CAPTION},
    )
    base.update(kw)
    return ImageRecord(**base)


def cand(
    question="Where are the calcifications?",
    answer="prostate",
    answer_type="open",
    qtype="POS",
    field="caption",
    span="prostate",
    start=4,
    end=12,
    record=None,
    reason=None,
) -> Candidate:
    return Candidate(
        record or rec(),
        question,
        answer,
        answer_type,
        qtype,
        "rules",
        "t#0",
        "v1",
        source_field=field,
        source_text=span,
        span_start=start,
        span_end=end,
        reject_reason=reason,
    )


def test_length_filter():
    f = LengthFilter(max_answer_words=3)
    assert f(cand()) is None
    assert f(cand(answer="an enlarged prostate with calcifications")) == "answer_too_long"
    assert f(cand(answer="  ")) == "empty_answer"
    assert f(cand(question="Where?")) == "question_too_short"


def test_language_filter():
    f = LanguageFilter()
    assert f(cand()) is None
    assert (
        f(cand(question="¿Dónde están las calcificaciones en la próstata del paciente?"))
        == "non_english"
    )


@pytest.mark.parametrize(
    "question, reason",
    [
        ("How old is the patient in this 73-year-old man?", "non_visual_age"),
        ("What changed since 2009?", "non_visual_date"),
        ("What is the patient's history?", "non_visual_history"),
        ("What does the arrow point to?", "non_visual_figure_ref"),
        ("What is shown in panel B?", "non_visual_figure_ref"),
    ],
)
def test_non_visual_filter(question, reason):
    f = NonVisualFilter()
    assert f(cand()) is None
    assert f(cand(question=question)) == reason
    assert NonVisualFilter(allowed_types=frozenset({"POS"}))(cand(question=question)) is None


def test_answer_in_question_filter():
    f = AnswerInQuestionFilter()
    assert f(cand()) is None
    assert f(cand(question="Where in the prostate are the calcifications?")) == "answer_in_question"
    # synonyms count: "computed tomography" gives away "CT"
    assert (
        f(cand(question="Is computed tomography the modality?", answer="CT", qtype="MODALITY"))
        == "answer_in_question"
    )
    # closed questions name their options by design
    assert f(cand(question="Is this a CT or an MRI?", answer="CT", answer_type="closed")) is None


def test_grounding_filter():
    f = GroundingFilter()
    assert f(cand()) is None
    assert f(cand(span="liver", start=4, end=9, answer="liver")) == "span_not_in_source"
    assert f(cand(answer="bladder")) == "answer_not_grounded"
    assert f(cand(field=None, span=None)) == "ungrounded"
    # metadata: "MRI" is supported by "MR - T2 weighted" through the lexicon's synonyms
    mri = rec(modality="MRI", modality_raw="MR - T2 weighted")
    assert (
        f(
            cand(
                record=mri,
                answer="T2-weighted",
                field="metadata.modality",
                span="MR - T2 weighted",
                start=None,
                end=None,
            )
        )
        is None
    )
    assert (
        f(
            cand(
                record=mri,
                answer="FLAIR",
                field="metadata.modality",
                span="MR - T2 weighted",
                start=None,
                end=None,
            )
        )
        == "answer_not_grounded"
    )
    # yes/no answers only need their span in the source
    assert (
        f(
            cand(
                question="Is there a mass?",
                answer="no",
                answer_type="closed",
                span="mass",
                start=CAPTION.index("mass"),
                end=CAPTION.index("mass") + 4,
            )
        )
        is None
    )


def test_duplicate_filter_is_per_image_and_resets():
    f = ImageDuplicateFilter()
    assert f(cand()) is None
    assert f(cand(question="where are the calcifications")) == "duplicate"
    assert f(cand(record=rec(image_id="other"))) is None
    f.reset()
    assert f(cand()) is None


def test_source_text_reasons():
    assert source_text_reason("Figure 2") == "text_figure_only"
    assert source_text_reason("  ") == "text_empty"
    assert source_text_reason("x " * 1500) == "text_too_long"
    assert (
        source_text_reason(
            "Tomografía computarizada de la pelvis con una masa en la próstata y en el recto"
        )
        == "text_non_english"
    )
    assert source_text_reason(CAPTION) is None


def test_chain_counts_every_decision_and_keeps_generator_rejects():
    chain = FilterChain(default_filters())
    kept, rejected = chain.split(
        [
            cand(),
            cand(answer="bladder"),
            cand(reason="uncertain_finding"),
            cand(question="where are the calcifications?"),
        ]
    )
    assert len(kept) == 1 and chain.kept == 1
    assert [r for _, r in rejected] == ["answer_not_grounded", "uncertain_finding", "duplicate"]
    assert dict(chain.rejected) == {
        "answer_not_grounded": 1,
        "uncertain_finding": 1,
        "duplicate": 1,
    }


def test_yes_no_balancer_trims_majority_to_max_share():
    rows = []
    for i in range(30):
        c = cand(
            question=f"Is there a mass {i}?",
            answer="yes" if i < 24 else "no",
            answer_type="closed",
            qtype="PRES",
            record=rec(image_id=f"img{i}"),
        )
        rows.append((c.row_id(), c))
    kept, trimmed = YesNoBalancer(0.55).balance(rows)
    yes = sum(c.answer == "yes" for _, c in kept)
    no = sum(c.answer == "no" for _, c in kept)
    assert no == 6 and yes == 7 and len(trimmed) == 17
    assert 0.4 <= yes / (yes + no) <= 0.6
