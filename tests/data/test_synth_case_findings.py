"""Rules v7 (issue 20): rows from the case's findings text, anchored to a picture whose caption
names the finding (`synth/rules/case_findings.py`), and PRES phrasings with their article.
Records are built from real MedPix 2.0 captions and case findings (quoted) run through the real
entity pipeline."""

from __future__ import annotations

import pytest

from radvqa_data.core.pipeline_records import Candidate, ImageRecord, Sibling
from radvqa_data.filters import FilterChain, default_filters
from radvqa_data.synth.rules.candidates import QuestionRandom, finding_slots, make
from radvqa_data.synth.rules.caption_questions import caption_candidates
from radvqa_data.synth.rules.generator import RulesGenerator
from radvqa_data.synth.rules.templates import TEMPLATES

# MPX2114: an enhancing mass of the left renal moiety of a horseshoe kidney
CAPTION = "Image shows an enhancing mass within the left renal moiety."
FINDINGS = (
    "Horseshoe kidney with large mass in the left kidney.  Patient also had a stone in the left "
    "sided collecting system."
)


@pytest.fixture(scope="module")
def nlp():
    from radvqa_data.entities.pipeline import build_pipeline

    return build_pipeline()


def rec(nlp, caption: str, findings: str, image_id: str = "MPX1_synpic2", **kw) -> ImageRecord:
    from radvqa_data.entities.pipeline import doc_entities

    base = dict(
        source="medpix2", image_id=image_id, case_id="MPX1", split="train", status="ok",
        modality="CT", modality_raw="CT w/contrast (IV)", plane="axial", organ="abdomen",
        texts={"caption": caption, "findings": findings},
        entities=doc_entities(nlp(caption), "caption") + doc_entities(nlp(findings), "findings"),
    )  # fmt: skip
    base.update(kw)
    return ImageRecord(**base)


def rows(r: ImageRecord, on: bool = True) -> list[Candidate]:
    kept, _ = FilterChain(default_filters()).split(
        caption_candidates(r, QuestionRandom("0:medpix2:" + r.image_id), case_findings=on)
    )
    return kept


def from_findings(r: ImageRecord, on: bool = True) -> list[Candidate]:
    return [c for c in rows(r, on) if c.source_field == "findings"]


def test_findings_add_what_the_caption_does_not_say(nlp):
    """The caption names the mass and its side; the findings (one study, the image's modality:
    a case of CT images only) add its size, cited in the findings text."""
    r = rec(nlp, CAPTION, FINDINGS)
    got = from_findings(r)
    size = [c for c in got if c.question_type == "SIZE"]
    assert [c.answer for c in size] == ["large"]
    assert size[0].source_text == "large"
    assert FINDINGS[size[0].span_start : size[0].span_end] == "large"
    assert not from_findings(r, on=False)


def test_findings_side_against_the_caption_gives_nothing(nlp):
    """MPX1115: the caption's "catheter fragment in RPA" against the findings' "left pulmonary
    artery" (draft rows labelled wrong): a side the caption does not state adds nothing."""
    r = rec(
        nlp,
        "Image shows an enhancing mass within the right renal moiety.",
        FINDINGS,
    )
    assert not from_findings(r)


def test_findings_of_another_number_give_nothing(nlp):
    """MPX1660: "a central lytic lesion" against the liver's "multiple lesions" (draft rows
    labelled wrong): a count is taken only where the caption's noun has the same number."""
    findings = "CT scan revealed multiple lesions in the liver."
    plural = rec(nlp, "Axial CT shows enhancing lesions in the liver.", findings)
    assert [c.answer for c in from_findings(plural) if c.question_type == "COUNT"] == [
        "multiple",
        "yes",
    ]
    single = rec(nlp, "Axial CT shows an enhancing lesion in the liver.", findings)
    assert not from_findings(single)


def test_findings_rows_written_once_per_case(nlp):
    """Two CT images of the case whose captions both name the mass: the first by id writes the
    findings rows, the other none (no copies on siblings)."""
    first = rec(
        nlp, CAPTION, FINDINGS, image_id="MPX1_synpic1",
        siblings=(Sibling("MPX1_synpic2", "CT", "axial", False, ("mass",)),),
    )  # fmt: skip
    second = rec(
        nlp, CAPTION + " ", FINDINGS, image_id="MPX1_synpic2",
        siblings=(Sibling("MPX1_synpic1", "CT", "axial", False, ("mass",)),),
    )  # fmt: skip
    assert from_findings(first)
    assert not from_findings(second)


def test_findings_of_another_modality_give_nothing(nlp):
    """A findings paragraph naming MRI says nothing about a CT picture."""
    r = rec(nlp, CAPTION, "MRI: Horseshoe kidney with large mass in the left kidney.")
    assert not from_findings(r)


def test_case_findings_option():
    assert RulesGenerator().case_findings == "off"
    assert RulesGenerator(case_findings="on").settings["case_findings"] == "on"
    from radvqa_data.core.errors import ConfigError

    with pytest.raises(ConfigError, match="--case-findings"):
        RulesGenerator(case_findings="maybe")


def test_pres_phrasings_keep_the_article():
    """ "Is gallstone present?" (v6) -> "Is a gallstone present?"; a mass noun keeps none."""
    r = ImageRecord("medpix2", "MPX1_synpic1", "MPX1", "train", "ok")
    for k in range(len(TEMPLATES["pres.yesno"])):
        for norm, want in (("gallstone", " a gallstone"), ("edema", " edema")):
            rng = QuestionRandom(f"t{k}")
            c = make(r, rng, "PRES", "pres.yesno", "yes", "closed", "caption", norm,
                     finding_slots(norm))  # fmt: skip
            assert want in c.question, c.question
    assert all("{f_article} {f}" in p for p in TEMPLATES["pres.yesno"])
