"""Label issues as synth and diag use them: a flagged metadata fact is rejected (or corrected)
and counted in the manifest; diag labels a benchmark picture's missing modality as predicted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from radvqa_data.core.pipeline_records import ImageRecord
from radvqa_data.filters import FilterChain, default_filters
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.metadata_questions import metadata_candidates


def _rec(**kw) -> ImageRecord:
    base = dict(
        source="medpix2", image_id="MPX1_synpic1", case_id="MPX1", split="train", status="ok",
        modality="CT", modality_raw="CT - noncontrast", plane="axial", organ="abdomen",
        organ_raw="Abdomen", kind="scan",
    )  # fmt: skip
    base.update(kw)
    return ImageRecord(**base)


def _kept(rec: ImageRecord, policy: str):
    cands = list(metadata_candidates(rec, QuestionRandom("0:x"), policy))
    kept, rejected = FilterChain(default_filters()).split(cands)
    return kept, [(c.question_type, r) for c, r in rejected] + [
        (c.question_type, c.reject_reason) for c in cands if c.reject_reason
    ]


def test_a_flagged_fact_gives_no_question_by_default():
    rec = _rec(label_issues={"modality": "MRI"})
    kept, rejected = _kept(rec, "reject")
    assert not [c for c in kept if c.question_type == "MODALITY"]
    assert ("MODALITY", "label_issue") in rejected
    assert {c.question_type for c in kept} == {"PLANE", "ORGAN"}  # the other facts still asked
    clean, _ = _kept(_rec(), "reject")
    assert [c for c in clean if c.question_type == "MODALITY"]


def test_use_suggested_asks_the_suggested_value_and_ignore_asks_the_given():
    rec = _rec(label_issues={"modality": "MRI", "plane": None})
    kept, rejected = _kept(rec, "use-suggested")
    mod = [c for c in kept if c.question_type == "MODALITY"]
    opens = [c for c in mod if c.answer_type == "open"]
    assert opens and all(c.answer == "MRI" for c in opens)
    assert all(c.source_field == "label_model.modality" for c in mod)
    assert not [c for c in mod if "contrast" in c.template_id]  # the raw CT text is not used
    assert ("PLANE", "label_issue") in rejected  # no usable suggestion: rejected
    kept, _ = _kept(rec, "ignore")
    assert {
        c.answer for c in kept if c.question_type == "MODALITY" and c.answer_type == "open"
    } == {"CT"}


def test_synth_run_counts_label_issues_in_the_manifest(sample_catalog, tmp_path):
    from radvqa_data.core.db import LABEL_TABLES, connect, ensure_tables
    from radvqa_data.synth.config import SynthConfig
    from radvqa_data.synth.driver import run_synth
    from radvqa_data.synth.rules.generator import RulesGenerator

    cat = tmp_path / "cat.duckdb"
    shutil.copy(sample_catalog, cat)
    with connect(cat) as con:
        ensure_tables(con, *LABEL_TABLES)
        ids = con.execute(
            "SELECT image_id FROM images WHERE source = 'medpix2' AND modality = 'CT' "
            "AND extra->>'image_kind' = 'scan' ORDER BY image_id LIMIT 3"
        ).fetchall()
        for (iid,) in ids:
            con.execute(
                "INSERT INTO label_issues VALUES ('medpix2', ?, 'modality', 'CT', 'MRI', 0.01, "
                "'test', 'pixels')",
                [iid],
            )
    config = SynthConfig(sources=["medpix2"])
    out = {}
    for policy in ("reject", "use-suggested"):
        run_synth(
            cat, tmp_path / policy, config, RulesGenerator(0, label_issues=policy), progress=False
        )
        out[policy] = json.loads((tmp_path / policy / "manifest.json").read_text())
    assert out["reject"]["label_issues"]["rejected"] == 3
    assert out["reject"]["rejects_by_reason"]["label_issue"] == 3
    assert out["use-suggested"]["label_issues"]["used_suggested"] >= 3 * 2  # open + choice each
    assert out["use-suggested"]["label_issues"]["rejected"] == 0


def test_diag_fills_missing_modality_with_the_prediction(tmp_path):
    from radvqa_data.core.db import LABEL_TABLES, connect, ensure_tables
    from radvqa_diag.predicted_labels import fill_predicted

    cat = tmp_path / "c.duckdb"
    with connect(cat) as con:
        ensure_tables(con, *LABEL_TABLES)
        for iid, pred, conf in (("a.jpg", "CT", 0.95), ("b.jpg", "MRI", 0.55)):
            con.execute(
                "INSERT INTO label_predictions VALUES ('vqa-rad', ?, 'modality', 'm', 'ensemble', "
                "?, ?, ['CT', 'MRI'], [0.5, 0.5], NULL)",
                [iid, pred, conf],
            )
    df = pl.DataFrame(
        {
            "image_id": ["a.jpg", "b.jpg", "a.jpg"],
            "source": ["vqa-rad", "vqa-rad", None],
            "modality": [None, None, "X-ray"],
            "organ": ["chest", None, None],
        }
    )
    got = fill_predicted(df, Path(cat))
    assert got["modality"].to_list() == ["CT (predicted)", None, "X-ray"]  # stated value kept
    assert got["organ"].to_list() == ["chest", None, None]  # no region predictions here
    assert fill_predicted(df, None).equals(df)
