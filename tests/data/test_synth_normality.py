"""Issue 20, rules v6: PRES "no" rows from statements of normality, about that structure only.

Records are built from real MedPix 2.0 and ROCO captions (the rows of the `normal6` gold slice)
run through the real entity pipeline.
"""

from __future__ import annotations

import pytest

from radvqa_data.core.errors import ConfigError
from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.filters import FilterChain, default_filters
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.caption_questions import caption_candidates
from radvqa_data.synth.rules.generator import RulesGenerator


@pytest.fixture(scope="module")
def nlp():
    from radvqa_data.entities.pipeline import build_pipeline

    return build_pipeline()


def rec(nlp, caption: str, **kw) -> ImageRecord:
    from radvqa_data.entities.pipeline import doc_entities

    base = dict(
        source="medpix2", image_id="MPX1_synpic1", case_id="MPX1", split="train", status="ok",
        modality="CT", modality_raw="CT - noncontrast", plane="axial", organ="abdomen",
        texts={"caption": caption}, entities=doc_entities(nlp(caption), "caption"),
    )  # fmt: skip
    base.update(kw)
    return ImageRecord(**base)


def normal_rows(r: ImageRecord, on: bool = True) -> list[Candidate]:
    kept, _ = FilterChain(default_filters()).split(
        caption_candidates(r, QuestionRandom("0:medpix2:" + r.image_id), on)
    )
    return [c for c in kept if c.template_id.startswith("pres.normal")]


@pytest.mark.parametrize(
    "caption, region, asked, span",
    [
        # MPX2319: the mass is retroperitoneal; the liver is stated normal
        (
            "CT with intravenous and oral contrast material demonstrates a large retroperitoneal "
            "mass with central calcifications.  The liver was also normal.",
            "abdomen",
            "in the liver",
            "The liver was also normal",
        ),
        ("Normal pancreatic head.", "abdomen", "in the pancreatic head", "Normal pancreatic head"),
        (
            "CT thorax showing a large left sided hydropneumothorax and giant bullae. "
            "Right lung was normal.",
            "chest",
            "in the right lung",
            "Right lung was normal",
        ),
        (
            "Computed tomography of adrenal glands. Normal right adrenal gland with no "
            "hyperplasia and left adrenal gland with two nodules 1.8×1.5 cm and 1.6×1.1 cm.",
            "abdomen",
            None,  # v6 tuning: the structure is named again (the other gland has the nodules)
            None,
        ),
    ],
)
def test_a_structure_stated_normal_answers_for_itself_only(nlp, caption, region, asked, span):
    rows = normal_rows(rec(nlp, caption, organ=region))
    if asked is None:
        assert rows == []
        return
    assert len(rows) == 1
    (c,) = rows
    assert (c.question_type, c.answer, c.source_field, c.source_text) == (
        "PRES", "no", "caption", span
    )  # fmt: skip
    assert asked in c.question  # the question carries the structure, never a global "no"
    assert c.record.texts["caption"][c.span_start : c.span_end] == span


@pytest.mark.parametrize(
    "caption",
    [
        "The mediastinum was otherwise unremarkable.",  # otherwise: something is not
        "The remaining soft tissues are unremarkable.",  # the rest only
        "The spinal cord is normal in signal.",  # one property
        "Remainder of pancreas is normal with minimal duct dilitation.",
        "MRI showing the accessory bladder in front of the normal bladder.",  # named again
        "Small triangular fragment located over the normal lateral meniscus.",  # inside a phrase
        "Basically normal - arguable subtle loss of gray matter intensity.",  # no structure
        "The liver is normal. A hepatic cyst is seen.",  # a finding of the same structure
        "The kidneys appear grossly normal.",  # hedged
    ],
)
def test_partial_hedged_or_contradicted_statements_ask_nothing(nlp, caption):
    assert normal_rows(rec(nlp, caption)) == []


def test_clear_lungs_only_on_ct_or_radiographs(nlp):
    caption = "The lungs are clear with no clear infiltrates or any evidence of pneumothorax."
    rows = normal_rows(rec(nlp, caption, modality="X-ray", plane="frontal", organ="chest"))
    assert len(rows) == 1
    assert "in the lungs" in rows[0].question
    assert any(f in rows[0].question for f in ("consolidation", "opacity"))
    caption = "This demonstrates the ultrasound appearance of normal lung."
    assert normal_rows(rec(nlp, caption, modality="ultrasound", organ="chest")) == []
    # "clear" of anything but the lungs states nothing
    assert normal_rows(rec(nlp, "The liver is clear.")) == []


def test_case_findings_statement_only_about_this_study(nlp):
    """A statement in the case's findings counts where its paragraph names this image's
    modality (as the case-level negations), once per case."""
    from radvqa_data.entities.pipeline import doc_entities

    findings = (
        "MR images of the left knee demonstrate a large joint effusion.  Heterogeneous high "
        "signal is seen within the posterior cruciate ligament, consistent with a complete tear. "
        " The anterior cruciate ligament is also normal."
    )
    r = rec(nlp, "Joint effusion present.", modality="MRI", plane="sagittal", organ="extremity")
    r.texts["findings"] = findings
    r.entities += doc_entities(nlp(findings), "findings")
    rows = normal_rows(r)
    assert [(c.source_field, c.source_text) for c in rows] == [
        ("findings", "The anterior cruciate ligament is also normal")
    ]
    r.modality = "CT"  # the paragraph is about an MRI: says nothing about a CT picture
    assert normal_rows(r) == []


def test_option_turns_the_source_off(nlp):
    r = rec(nlp, "Normal pancreatic head.")
    assert normal_rows(r, on=True) and not normal_rows(r, on=False)
    gen = RulesGenerator(normal_statements="off")
    assert gen.settings["normal_statements"] == "off"
    assert not [c for c in gen.generate([r]) if c.template_id.startswith("pres.normal")]
    with pytest.raises(ConfigError, match="--normal-statements"):
        RulesGenerator(normal_statements="maybe")
