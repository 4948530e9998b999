"""`radvqa-experiment run --quick` on the real data: structure of the outputs and baselines.

Real MedPix 2.0 + VQA-RAD from the shared folder (skipped when absent): catalog -> entities ->
synth -> audit --fix -> the experiment with a tiny model on 64 rows per training split
(VQA-RAD test stays whole, so the baselines are the real ones).
"""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

pytest.importorskip("transformers")


def _ok(app, args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def quick_run(real_catalog, tmp_path_factory):
    from radvqa_data.cli import app as data_app
    from radvqa_experiment.cli import app as exp_app

    tmp = tmp_path_factory.mktemp("experiment")
    catalog = tmp / "catalog.duckdb"  # a copy: entities must not change the session's catalog
    shutil.copy(real_catalog, catalog)
    _ok(data_app, ["entities", "--catalog", catalog])
    _ok(data_app, ["synth", "--catalog", catalog, "--out", tmp / "shards"])
    _ok(
        data_app,
        [
            "audit",
            tmp / "shards",
            "--catalog",
            catalog,
            "--against",
            "vqa-rad",
            "--fix",
            tmp / "clean",
            "--no-images",
            "--no-progress",
        ],
    )
    _ok(
        exp_app,
        [
            "run",
            "data-centric-cpu",
            "--quick",
            "--catalog",
            catalog,
            "--shards",
            tmp / "clean",
            "--audit",
            tmp / "clean",
            "--out",
            tmp / "out",
            "--workers",
            "1",
            "--arms",
            "synthetic_then_benchmark",
        ],
    )
    return tmp / "out"


# real data, about 2 minutes on 2 cores (the experiment on the real catalog): slow tier
@pytest.mark.slow
def test_quick_experiment_writes_every_output(quick_run):
    res = json.loads((quick_run / "results.json").read_text())
    assert set(res["arms"]) >= {"question_only", "benchmark", "synthetic_then_benchmark"}
    for arm in res["arms"].values():
        for m in ("closed_accuracy", "closed_accuracy_yesno", "open_recall"):
            assert len(arm[m]["per_seed"]) == res["seeds"] == 2
            assert 0.0 <= arm[m]["mean"] <= 1.0
        assert set(arm["blank"]) >= {"closed_accuracy"} and set(arm["shuffle"]) >= {
            "closed_accuracy"
        }
    pairs = {(c["a"], c["b"], c["metric"]) for c in res["comparisons"]}
    assert ("synthetic_then_benchmark", "benchmark", "closed_accuracy") in pairs
    assert ("question_only", "benchmark", "closed_accuracy") in pairs
    for c in res["comparisons"]:
        assert c["ci95"][0] <= c["diff"] <= c["ci95"][1]
    d = res["data"]
    assert d["vqa_rad_test"] == 451 and d["synthetic_rows"] > 0 and d["synthetic_images"] > 0
    assert d["audit_removed_rows"] is not None and d["vqa_rad_train"] == 64
    assert res["minutes"] > 0
    md = (quick_run / "results.md").read_text()
    assert "| question_only | 0." in md and "| baseline: always_yes | 0.4338 | 0.4701 |" in md
    assert (quick_run / "closed_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert (quick_run / "report" / "index.html").is_file()
    assert (quick_run / "models" / res["best_arm"] / "config.json").is_file()


# real data, about 2 minutes on 2 cores (the experiment on the real catalog): slow tier
@pytest.mark.slow
def test_quick_experiment_baselines_are_the_known_ones(quick_run):
    b = json.loads((quick_run / "results.json").read_text())["baselines"]
    assert b["always_yes"]["closed_accuracy"] == pytest.approx(118 / 272, abs=1e-4)  # 0.4338
    assert b["always_yes"]["closed_accuracy_yesno"] == pytest.approx(118 / 251, abs=1e-4)  # 0.4701
    assert 0.45 < b["type_majority"]["closed_accuracy"] < 0.55


# uses the same real-data experiment run: slow tier
@pytest.mark.slow
def test_question_only_arm_scores_the_same_on_any_picture(quick_run):
    """Trained and scored on blank pictures, the arm cannot depend on them: its blank-test
    ablation gives exactly its own answers."""
    res = json.loads((quick_run / "results.json").read_text())["arms"]["question_only"]
    assert res["blank"]["closed_accuracy"]["per_seed"] == res["closed_accuracy"]["per_seed"]


# builds the real catalog (shared data): slow tier
@pytest.mark.slow
def test_image_determined_is_69_of_vqa_rad_test(real_catalog):
    """MODALITY 33 + PLANE 26 + ORGAN 10 (closed and open) of VQA-RAD's 451 test questions."""
    from radvqa_data.reader import read_qa
    from radvqa_train.metrics import in_subset

    rows = read_qa("vqa-rad:test", catalog=real_catalog).to_dicts()
    assert len(rows) == 451
    assert sum(in_subset(r, "image_determined") for r in rows) == 69
    assert sum(in_subset(r, "closed") for r in rows) == 272
