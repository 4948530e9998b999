"""CLI: `entities`, `synth` through Typer's CliRunner; the whole-corpus run is in the slow tier."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.cli import app
from tests.conftest import dataset
from tests.helpers.synth_data import copy_catalog, insert_catalog, medpix_records


def test_help_is_fast_and_lists_commands():
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "radvqa_data.cli", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and time.perf_counter() - t0 < 5
    for cmd in ("entities", "synth", "export"):
        assert cmd in res.stdout
    # no heavy library imported by the CLI modules at import time
    probe = (
        "import sys, radvqa_data.cli; print(sorted(m for m in "
        "('spacy', 'scispacy', 'datasets', 'torch') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()
        == "[]"
    )


def test_entities_then_synth_on_a_small_catalog(tmp_path: Path, shared_data):
    recs = medpix_records(dataset(shared_data, "medpix2"), 40, ids=("MPX1009_synpic46283",))
    cat = insert_catalog(tmp_path / "c.duckdb", recs)
    runner = CliRunner()
    r = runner.invoke(
        app, ["synth", "--catalog", str(cat), "--out", str(tmp_path / "early"), "--no-progress"]
    )
    # every record lacks its image file: nothing to read, and the error says why
    assert r.exit_code == 1 and "40 records without an image file" in r.output
    r = runner.invoke(
        app,
        ["synth", "--catalog", str(cat), "--out", str(tmp_path / "early"), "--no-progress"]
        + ["--allow-empty"],
    )
    assert r.exit_code == 0 and "have no entities yet" in r.output
    r = runner.invoke(app, ["entities", "--catalog", str(cat), "--no-progress", "-j", "1"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "shards"
    r = runner.invoke(
        app,
        ["synth", "--catalog", str(cat), "--out", str(out), "--no-progress", "--allow-empty"],
    )
    assert r.exit_code == 0, r.output
    assert "no entities yet" not in r.output
    assert json.loads((out / "manifest.json").read_text())["images"] == 0  # all images "missing"
    r = runner.invoke(
        app,
        [
            "synth",
            "--catalog",
            str(cat),
            "--out",
            str(out),
            "--allow-missing-images",
            "--overwrite",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["images"] == m["images_with_rows"] == len(recs) and m["qa_rows"] > 300
    qa = pl.read_parquet(sorted((out / "qa").glob("*.parquet")))
    negated = qa.filter(
        (pl.col("image_id") == "MPX1009_synpic46283")
        & (pl.col("question_type") == "PRES")
        & (pl.col("answer") == "no")
    )
    assert negated["source_text"].to_list() == ["No dominant prostate mass"]  # the negation span


def test_user_errors_are_one_line(tmp_path: Path, monkeypatch):
    runner = CliRunner()
    r = runner.invoke(
        app, ["synth", "--catalog", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 1 and "no catalog here" in r.output and "Traceback" not in r.output
    cat = insert_catalog(tmp_path / "c.duckdb", [])
    r = runner.invoke(
        app, ["synth", "--catalog", str(cat), "--out", str(tmp_path / "o"), "--sources", "roco"]
    )
    assert r.exit_code == 1 and "roco not in the catalog" in r.output
    r = runner.invoke(
        app, ["synth", "--catalog", str(cat), "--out", str(tmp_path / "o"), "--shard-size", "0"]
    )
    assert r.exit_code == 1 and "shard_size must be >= 1" in r.output
    r = runner.invoke(
        app, ["synth", "--catalog", str(cat), "--out", str(tmp_path / "o"), "--backend", "nope"]
    )
    assert r.exit_code == 1 and "unknown backend" in r.output
    monkeypatch.setitem(
        sys.modules, "radvqa_data.llm.factory", None
    )  # as if the LLM module were absent
    r = runner.invoke(
        app, ["synth", "--catalog", str(cat), "--out", str(tmp_path / "o"), "--backend", "openai"]
    )
    assert (
        r.exit_code == 1
        and "needs radvqa_data.llm" in r.output
        and len(r.output.strip().splitlines()) == 1
    )


def medpix_image_ids(catalog: Path) -> set[str]:
    """The image ids of the MedPix 2.0 source in a catalog, with a file or not."""
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import review_images

    with connect(catalog, read_only=True) as con:
        return set(review_images(con).filter(pl.col("source") == "medpix2")["image_id"])


@pytest.mark.slow
def test_whole_medpix_done_when(real_catalog: Path, tmp_path: Path):
    """The issue's "Done when" on all 2,050 MedPix 2.0 records (images present or not)."""
    from radvqa_data.filters import answer_in_question

    cat = copy_catalog(real_catalog, tmp_path / "cat.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["entities", "--catalog", str(cat), "--no-progress"]).exit_code == 0
    out = tmp_path / "shards"
    r = runner.invoke(
        app,
        [
            "synth",
            "--catalog",
            str(cat),
            "--out",
            str(out),
            "--allow-missing-images",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    # Since rules v2 a photograph, drawing, montage, 3D rendering or scout gets no modality/plane
    # question, and a caption-only row needs a finding: 23 of the 2,050 images have no row, and
    # every one of them has its rejects written with a reason.
    assert m["images"] == 2050 and m["images_with_rows"] >= 2000
    kept_images = set(pl.read_parquet(sorted((out / "qa").glob("*.parquet")))["image_id"])
    rejects = pl.read_parquet(sorted((out / "rejects").glob("*.parquet")))
    rowless = medpix_image_ids(cat) - kept_images
    assert len(rowless) == 2050 - m["images_with_rows"]
    assert rowless <= set(rejects["image_id"]) and rejects["reason"].null_count() == 0
    assert len(m["by_question_type"]) >= 6
    assert all(0.4 <= v <= 0.6 for v in m["yes_rate"].values()), m["yes_rate"]
    assert m["median_answer_words"] <= 3 and m["case_split_violations"] == 0
    qa = pl.read_parquet(sorted((out / "qa").glob("*.parquet")))
    assert not [
        1
        for q, a in qa.filter(pl.col("answer_type") == "open").select("question", "answer").rows()
        if answer_in_question(q, a)
    ]


def test_llm_backend_plugs_into_the_same_driver(tmp_path: Path, shared_data):
    """`--backend transformers` with a tiny random-weight model built here: its (noise) output goes
    through the same filters, shards and manifest; nothing is dropped silently."""
    from radvqa_data.llm.tiny import build_tiny_causal_lm

    model = build_tiny_causal_lm(tmp_path / "tiny")
    cat = insert_catalog(tmp_path / "c.duckdb", medpix_records(dataset(shared_data, "medpix2"), 3))
    out = tmp_path / "llm"
    r = CliRunner().invoke(
        app,
        [
            "synth",
            "--catalog",
            str(cat),
            "--out",
            str(out),
            "--backend",
            "transformers",
            "--model",
            str(model),
            "--max-new-tokens",
            "16",
            "--allow-missing-images",
            "--no-progress",
            "--concurrency",
            "1",
            "--allow-empty",  # a tiny random LLM's replies: every row may be a reject
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    assert m["config"]["backend"] == "transformers" and m["config"]["generator_settings"][
        "model"
    ] == str(model)
    rej = pl.read_parquet(sorted((out / "rejects").glob("*.parquet")))
    assert m["qa_rows"] + m["reject_rows"] > 0 and rej["reason"].null_count() == 0
    assert sum(m["rejects_by_reason"].values()) == rej.height


def test_describe_command_summarizes_a_synth_output(sample_shards, tmp_path) -> None:
    from typer.testing import CliRunner

    from radvqa_data.cli import app

    r = CliRunner().invoke(app, ["describe", str(sample_shards["shards"]), "--samples", "1"])
    assert r.exit_code == 0, r.output
    assert "QA rows from" in r.output and "rejects by reason" in r.output
    bad = CliRunner().invoke(app, ["describe", str(tmp_path)])
    assert bad.exit_code == 1 and "no manifest.json" in bad.output
