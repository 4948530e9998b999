"""Issue 20: excluded differentials and other images give no row, scoped negations keep their
qualifier, balance modes, a shared caption written once. Records are built from real MedPix 2.0
captions (quoted in the issue) run through the real entity pipeline."""

from __future__ import annotations

import pytest

from radvqa_data.core.pipeline_records import Candidate, ImageRecord, Sibling
from radvqa_data.filters import FilterChain, YesNoBalancer, default_filters
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.caption_questions import caption_candidates
from radvqa_data.synth.rules.generator import RulesGenerator


@pytest.fixture(scope="module")
def nlp():
    from radvqa_data.entities.pipeline import build_pipeline

    return build_pipeline()


def rec(nlp, caption: str, image_id: str = "MPX1_synpic1", **kw) -> ImageRecord:
    from radvqa_data.entities.pipeline import doc_entities

    base = dict(
        source="medpix2", image_id=image_id, case_id="MPX1", split="train", status="ok",
        modality="MRI", modality_raw="MR - T2 weighted", plane="axial", organ="head",
        texts={"caption": caption}, entities=doc_entities(nlp(caption), "caption"),
    )  # fmt: skip
    base.update(kw)
    return ImageRecord(**base)


def caption_rows(r: ImageRecord) -> tuple[list[Candidate], list[str]]:
    kept, rejected = FilterChain(default_filters()).split(
        caption_candidates(r, QuestionRandom("0:medpix2:" + r.image_id))
    )
    return kept, [reason for _, reason in rejected]


def test_excluded_differential_is_never_a_finding(nlp):
    """The issue's optic neuritis case: "meningioma" under "seen in" was ABN and POS."""
    r = rec(
        nlp,
        "Axial T1 post contrast MR image shows enhancement of the left optic nerve. This "
        "tram-track enhancement can be seen in optic glioma or optic nerve meningioma.",
    )
    kept, reasons = caption_rows(r)
    assert not [c for c in kept if "meningioma" in (c.question + c.answer)]
    assert not [c for c in kept if "glioma" in (c.question + c.answer)]
    assert "excluded_differential" in reasons
    for cue in ("to suggest", "differential diagnosis includes", "rule out", "such as"):
        kept, reasons = caption_rows(rec(nlp, f"Enhancing lesion in the pons, {cue} abscess."))
        assert not [c for c in kept if "abscess" in (c.question + c.answer)], cue
    kept, _ = caption_rows(rec(nlp, "Ring enhancing mass, abscess versus tumor."))
    assert not [c for c in kept if c.answer in ("abscess", "tumor")]


def test_seen_in_a_place_still_gives_rows(nlp):
    """ "seen in" followed by a place, then "with" a feature: both are this picture's."""
    kept, _ = caption_rows(rec(nlp, "A large mass is seen in the liver with calcification."))
    assert any(c.question_type == "PRES" and c.answer == "yes" for c in kept)


def test_sentence_about_another_image_gives_no_row(nlp):
    for caption in (
        "The hemorrhage is not evident on the CT image.",
        "Hemorrhage was present on the prior study.",
        "Follow-up shows a new infarct in the left frontal lobe.",
    ):
        kept, reasons = caption_rows(rec(nlp, caption))
        assert not [c for c in kept if c.question_type == "PRES"], caption
        assert "other_image_sentence" in reasons, caption


def test_scoped_negation_carries_its_qualifier(nlp):
    """ "No peripheral enhancing fluid collections are seen" became "Is there a fluid
    collection? no" (13 rows of one case): the question now asks what was denied."""
    kept, _ = caption_rows(
        rec(nlp, "No peripheral enhancing fluid collections are seen.", organ="abdomen")
    )
    no = [c for c in kept if c.question_type == "PRES" and c.answer == "no"]
    assert no and all("peripheral enhancing fluid collection" in c.question for c in no)
    assert no[0].source_text.startswith("No peripheral enhancing fluid collection")
    kept, _ = caption_rows(rec(nlp, "There is no pulmonary embolism.", organ="chest"))
    no = [c for c in kept if c.question_type == "PRES" and c.answer == "no"]
    assert no and all("pulmonary embolism" in c.question for c in no)


def test_negation_scoped_to_a_structure_gives_no_question(nlp):
    """ "The left kidney is normal with no hydronephrosis" says nothing about the right one."""
    kept, reasons = caption_rows(
        rec(
            nlp,
            "Large right renal mass. The left kidney is normal with no hydronephrosis.",
            organ="abdomen",
        )
    )
    assert not [c for c in kept if "hydronephrosis" in c.question]
    assert "negation_scoped_elsewhere" in reasons


def test_every_denied_finding_is_a_no(nlp):
    kept, _ = caption_rows(rec(nlp, "No hemorrhage, hydrocephalus or midline shift."))
    no = {c.question for c in kept if c.question_type == "PRES" and c.answer == "no"}
    assert len(no) == 3


def _pairs(n_yes: int, n_no: int) -> list[tuple[str, Candidate]]:
    r = ImageRecord("s", "i", None, "train", "ok")
    rows = []
    for k, a in enumerate(["yes"] * n_yes + ["no"] * n_no):
        c = Candidate(r, f"q{k}", a, "closed", "PRES", "rules", "t", "v")
        rows.append((c.row_id(), c))
    return rows


def test_balance_modes():
    kept, trimmed = YesNoBalancer(0.55, "reject").balance(_pairs(30, 10))
    assert len(trimmed) == 18 and len(kept) == 22
    kept, trimmed = YesNoBalancer(0.55, "off").balance(_pairs(30, 10))
    assert not trimmed and len(kept) == 40
    assert all(c.sample_weight is None for _, c in kept)
    kept, trimmed = YesNoBalancer(0.55, "weight").balance(_pairs(30, 10))
    assert not trimmed and len(kept) == 40
    w_yes = sum(c.sample_weight for _, c in kept if c.answer == "yes")
    w_no = sum(c.sample_weight for _, c in kept if c.answer == "no")
    assert w_no == 10 and w_yes / (w_yes + w_no) == pytest.approx(12 / 22, abs=1e-4)


def test_shared_caption_written_once(nlp):
    caption = "Large enhancing mass in the right frontal lobe with surrounding edema."
    sibs = lambda me: tuple(  # noqa: E731
        Sibling(i, "MRI", "axial", True) for i in ("MPX1_synpic1", "MPX1_synpic2") if i != me
    )
    gen = RulesGenerator(0)
    one = rec(nlp, caption, "MPX1_synpic1", siblings=sibs("MPX1_synpic1"))
    two = rec(nlp, caption, "MPX1_synpic2", siblings=sibs("MPX1_synpic2"))
    rows1 = [c for c in gen.generate([one]) if c.source_field == "caption" and not c.reject_reason]
    rows2 = [c for c in gen.generate([two]) if c.source_field == "caption" and not c.reject_reason]
    assert rows1 and not rows2
    assert {c.shared_with for c in rows1} == {"MPX1_synpic2"}
    assert any(c.reject_reason == "caption_on_sibling" for c in gen.generate([two]))
    everyone = RulesGenerator(0, shared_captions="all")
    assert [
        c for c in everyone.generate([two]) if c.source_field == "caption" and not c.reject_reason
    ]


def test_shared_caption_goes_to_the_image_it_names(nlp):
    """A caption naming the coronal plane belongs to the coronal sharer, not the first by id."""
    caption = "Coronal T1 MR image shows a large mass in the right frontal lobe."
    gen = RulesGenerator(0)
    first = rec(
        nlp, caption, "MPX1_synpic1", siblings=(Sibling("MPX1_synpic2", "MRI", "coronal", True),)
    )
    second = rec(
        nlp,
        caption,
        "MPX1_synpic2",
        plane="coronal",
        siblings=(Sibling("MPX1_synpic1", "MRI", "axial", True),),
    )

    def written(r):
        return [c for c in gen.generate([r]) if c.source_field == "caption" and not c.reject_reason]

    assert not written(first)
    assert written(second)


def test_trainer_draws_weighted_rows_by_weight():
    from radvqa_train.data import draw_order

    order = draw_order([4], [1.0], 8000, seed=3, rows=[[1.0, 1.0, 1.0, 0.25]])
    counts = [sum(1 for _, i in order if i == k) for k in range(4)]
    assert counts[3] < counts[0] / 2  # weight 0.25: about a quarter as often
    assert draw_order([4], [1.0], 50, seed=3) == draw_order([4], [1.0], 50, seed=3, rows=[None])


def test_templates_mean_one_thing():
    """No either/or contrast question answered yes/no (nor "oral" asked of an MRI), and a FLAIR
    image is never "not T2-weighted" (FLAIR is a T2-weighted inversion recovery)."""
    from radvqa_data.synth.rules.metadata_questions import metadata_candidates
    from radvqa_data.synth.rules.templates import TEMPLATES

    assert not [p for p in TEMPLATES["modality.contrast_yesno"] if " or " in p]
    for k in range(200):
        r = ImageRecord(
            "medpix2", f"MPX9_synpic{k}", "MPX9", "train", "ok", modality="MRI",
            modality_raw="MR - FLAIR", plane="axial", organ="head",
        )  # fmt: skip
        for c in metadata_candidates(r, QuestionRandom(f"{k}")):
            if c.template_id.startswith("modality.sequence_yesno") and c.answer == "no":
                assert "T2" not in c.question, c.question


@pytest.mark.parametrize(
    "caption",
    [
        # ROCO captions of the fresh5_no slice whose "no" was narrower than its question
        "No mass lesion is seen at the lead point of intussusception.",
        "No abscess is identified in the RVOT (arrow).",
        "No significant shunt vascularity is appreciated.",
        "Repeat head computed tomography showing significant resolution of infarct size.",
        "Resolution of lesions in chest X-ray (arrows).",
        "Coronary angiogram without significant lesions.",
        # v6, from the fresh6_no slice: a mass's content, a condition, a remnant
        "The mass depicts a predominantly fluid signal intensity without any evidence of soft "
        "tissue, calcification or fat.",
        "This nodule has a regular margin and is heterogeneous with no calcification.",
        "In the absence of ascites, surface nodularity may not be as conspicuous as in Fig. 5",
        "Postoperative magnetic resonance image. No mass remnant (white arrow) was found.",
    ],
)
def test_narrower_denials_ask_nothing(nlp, caption):
    kept, _ = caption_rows(rec(nlp, caption, organ="chest", modality="CT"))
    assert not [c for c in kept if c.question_type == "PRES" and c.answer == "no"]


def test_complete_resolution_and_a_place_on_the_study_still_deny(nlp):
    for caption, modality in (
        ("MRI demonstrating complete resolution of inferior vena cava thrombosis.", "MRI"),
        ("No adrenal mass was observed on computed tomography of the abdomen.", "CT"),
    ):
        kept, _ = caption_rows(rec(nlp, caption, organ="abdomen", modality=modality))
        assert [c for c in kept if c.question_type == "PRES" and c.answer == "no"], caption


def test_trainer_reads_the_weight_column_as_written_by_the_reader():
    """`read_qa` returns every column as a string; a null weight is 1.0, no column is None."""
    import polars as pl

    from radvqa_train.data import row_weights

    df = pl.DataFrame({"sample_weight": ["0.25", None, "1.0"]})
    assert row_weights(df) == [0.25, 1.0, 1.0]
    assert (
        row_weights(
            pl.DataFrame({"sample_weight": [None, None]}, schema={"sample_weight": pl.String})
        )
        is None
    )
    assert row_weights(pl.DataFrame({"question": ["q"]})) is None


def test_manifest_counts_balance_and_weight_mode_writes_weights(sample_shards, tmp_path):
    import json

    import polars as pl
    from typer.testing import CliRunner

    from radvqa_data.cli import app

    man = json.loads((sample_shards["shards"] / "manifest.json").read_text())
    rej = pl.read_parquet(str(sample_shards["shards"] / "rejects" / "*.parquet"))
    trimmed = rej.filter(pl.col("reason") == "yes_no_balance")
    assert man["balance"]["mode"] == "reject"
    assert man["balance"]["true_rows_removed_per_type"] == dict(
        trimmed.group_by("question_type").len().iter_rows()
    )
    assert sum(man["rejects_by_reason_and_type"].values()) == rej.height
    out = tmp_path / "weighted"
    r = CliRunner().invoke(
        app,
        ["synth", "--catalog", str(sample_shards["catalog"]), "--out", str(out), "--no-progress",
         "--balance", "weight"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    man = json.loads((out / "manifest.json").read_text())
    qa = pl.read_parquet(str(out / "qa" / "*.parquet"))
    assert man["balance"] == {
        "mode": "weight",
        "true_rows_removed_per_type": {},
        "weighted_rows": qa.filter(pl.col("sample_weight").is_not_null()).height,
    }
    assert man["balance"]["weighted_rows"] > 0
    assert (
        qa.height
        == man["qa_rows"]
        > json.loads((sample_shards["shards"] / "manifest.json").read_text())["qa_rows"]
    )
    bad = CliRunner().invoke(
        app, ["synth", "--catalog", str(sample_shards["catalog"]), "--out", str(tmp_path / "x"),
              "--balance", "maybe"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "balance must be one of" in bad.output


def test_a_denial_asks_what_it_names(nlp):
    """v6: "no gallstones" asks about a gallstone (not any stone); an adjectival structure keeps
    its noun ("in the right thoracic wall", not "in the right thoracic")."""
    kept, _ = caption_rows(
        rec(nlp, "Abdominal CT on admission. There were no gallstones.", organ="abdomen",
            modality="CT")
    )  # fmt: skip
    nos = [c.question for c in kept if c.question_type == "PRES" and c.answer == "no"]
    assert len(nos) == 1 and "gallstone" in nos[0], nos
    kept, _ = caption_rows(
        rec(nlp, "MRI imaging detected no lesion in the right thoracic wall.", organ="chest")
    )
    nos = [c.question for c in kept if c.question_type == "PRES" and c.answer == "no"]
    assert nos and all(q.endswith("in the right thoracic wall?") for q in nos), nos
