"""The synth driver on the real MedPix 2.0 catalog: shards, manifest, splits, resume after a
kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from radvqa_data.core.errors import ConfigError
from radvqa_data.core.schema import QA_COLUMNS, REJECT_SCHEMA
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.driver import run_synth
from radvqa_data.synth.rules.generator import RulesGenerator
from radvqa_data.synth.rules.templates import RULES_VERSION
from tests.helpers.synth_data import rules_catalog_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def rules_catalog(real_catalog: Path) -> Path:
    """The real catalog (copy) with caption entities (built once per session)."""
    return rules_catalog_for(real_catalog)


def synth(cat: Path, out: Path, overwrite: bool = False, **kw):
    cfg = SynthConfig(**{"allow_missing_images": True, "limit": 300, "shard_size": 64, **kw})
    return run_synth(cat, out, cfg, RulesGenerator(cfg.seed), overwrite=overwrite, progress=False)


def read(out: Path, sub: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((out / sub).glob("part-*.parquet"))).sort("id")


def test_shards_manifest_and_provenance(rules_catalog, tmp_path):
    s = synth(rules_catalog, tmp_path / "o")
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    qa, rej = read(tmp_path / "o", "qa"), read(tmp_path / "o", "rejects")
    assert sorted(p.name for p in (tmp_path / "o" / "qa").iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(5)
    ]
    assert tuple(qa.columns) == QA_COLUMNS and tuple(rej.columns) == tuple(REJECT_SCHEMA.names)
    assert m["qa_rows"] == qa.height == s.kept and m["reject_rows"] == rej.height
    assert m["rejects_by_reason"] == dict(sorted(rej["reason"].value_counts().rows()))
    assert m["images"] == 300 and m["images_with_rows"] == 300 and m["complete"]
    assert m["by_source"] == {"medpix2": qa.height} and sum(m["by_split"].values()) == qa.height
    assert m["catalog"]["fingerprint"]
    assert m["code_version"]["rules_version"] == RULES_VERSION == "v7"
    assert m["config"]["sources"] == ["medpix2"]  # benchmarks (vqa-rad) are not synthesized from
    assert qa["id"].n_unique() == qa.height
    assert (
        qa.filter(pl.col("generator") != "rules").height == 0
        and qa["template_id"].null_count() == 0
    )
    assert m["case_split_violations"] == 0
    assert (
        qa.group_by("case_id")
        .agg(pl.col("split").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
        .height
        == 0
    )
    # splits come from the catalog image
    assert set(qa["split"].unique()) <= {"train", "validation", "test"}


def test_done_when_properties_on_subset(rules_catalog, tmp_path):
    synth(rules_catalog, tmp_path / "o")
    qa = read(tmp_path / "o", "qa")
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert len(m["by_question_type"]) >= 6
    assert all(0.4 <= r <= 0.6 for r in m["yes_rate"].values()), m["yes_rate"]
    assert m["median_answer_words"] <= 3
    from radvqa_data.filters import answer_in_question

    leaks = [
        q
        for q, a in qa.filter(pl.col("answer_type") == "open").select("question", "answer").rows()
        if answer_in_question(q, a)
    ]
    assert leaks == []


def test_missing_images_need_the_flag(rules_catalog, tmp_path):
    with_flag = synth(rules_catalog, tmp_path / "a", limit=None)
    without = synth(rules_catalog, tmp_path / "b", limit=None, allow_missing_images=False)
    assert with_flag.manifest["images"] == 2050 and without.manifest["images"] == 397


def test_a_new_rules_version_is_named_on_rerun(rules_catalog, tmp_path, monkeypatch):
    """Rows made by other rules are a different run: the refusal names the rules version."""
    import radvqa_data.synth.rules.templates as templates

    monkeypatch.setattr(templates, "RULES_VERSION", "v3")
    synth(rules_catalog, tmp_path / "o", limit=5)
    monkeypatch.setattr(templates, "RULES_VERSION", "v4")
    with pytest.raises(ConfigError, match='generator_settings.rules_version: "v3" -> "v4"'):
        synth(rules_catalog, tmp_path / "o", limit=5)


def test_rerun_skips_and_other_config_is_refused(rules_catalog, tmp_path):
    first = synth(rules_catalog, tmp_path / "o")
    again = synth(rules_catalog, tmp_path / "o")
    assert again.shards_skipped == again.shards_total == 5 and again.images == 0
    assert again.manifest == first.manifest
    with pytest.raises(ConfigError, match="different run"):
        synth(rules_catalog, tmp_path / "o", seed=1)
    assert (
        synth(rules_catalog, tmp_path / "o", seed=1, overwrite=True).manifest["config"]["seed"] == 1
    )


def _resume_script(cat: Path, out: Path) -> str:
    return (
        "from radvqa_data.synth.config import SynthConfig\n"
        "from radvqa_data.synth.driver import run_synth\n"
        "from radvqa_data.synth.rules.generator import RulesGenerator\n"
        f"run_synth({str(cat)!r}, {str(out)!r}, "
        "SynthConfig(allow_missing_images=True, shard_size=8, limit=800), "
        "RulesGenerator(0), progress=False)\n"
    )


def test_killed_run_resumes_to_the_identical_result(rules_catalog, tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "killed"
    run_synth(
        rules_catalog,
        ref,
        SynthConfig(allow_missing_images=True, shard_size=8, limit=800),
        RulesGenerator(0),
        progress=False,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", _resume_script(rules_catalog, out)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "_state").glob("part-*.json"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list((out / "_state").glob("part-*.json")))
    assert 3 <= done_at_kill < 100, "the run must be interrupted in the middle"
    assert not (out / "manifest.json").exists()
    resumed = run_synth(
        rules_catalog,
        out,
        SynthConfig(allow_missing_images=True, shard_size=8, limit=800),
        RulesGenerator(0),
        progress=False,
    )
    assert resumed.shards_skipped >= done_at_kill
    for sub in ("qa", "rejects"):
        assert read(out, sub).equals(read(ref, sub))
        assert sorted(p.name for p in (out / sub).iterdir()) == sorted(
            p.name for p in (ref / sub).iterdir()
        )
    assert json.loads((out / "manifest.json").read_text()) == json.loads(
        (ref / "manifest.json").read_text()
    )


def test_progress_bar_shows_label_count_rate_and_note(capsys):
    """The shared bar (core.progress) draws on stderr, so stdout stays a command's result."""
    from radvqa_data.core.progress import Phases, progress_bar

    with progress_bar("probing", 4, "img") as advance:
        advance(1)
        advance(3, label="probed", note="all done")
    with Phases(True) as phases:
        phases.factory("audit")("pairs", 2)(2)
    with progress_bar("hidden", 4, "img", enabled=False) as advance:
        advance(4)
    out, err = capsys.readouterr()
    assert out == ""
    assert "probed" in err and "4/4" in err and "all done" in err and "audit: pairs" in err
    assert "hidden" not in err
