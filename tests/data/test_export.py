"""`radvqa-data export --format hf`: the folder opens offline with `datasets`, images embedded."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from radvqa_data.cli import app
from tests.data.test_synth_support import rules_catalog_for


def test_export_hf_loads_with_datasets(real_catalog, tmp_path: Path, monkeypatch):
    rules_catalog = rules_catalog_for(real_catalog)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    runner = CliRunner()
    shards, out = tmp_path / "shards", tmp_path / "hf"
    r = runner.invoke(app, ["synth", "--catalog", str(rules_catalog), "--out", str(shards), "--limit", "120",
                            "--allow-missing-images", "--no-progress"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["export", str(shards), "--format", "hf", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output

    import datasets

    ds = datasets.load_dataset(str(out))
    qa = pl.read_parquet(sorted((shards / "qa").glob("part-*.parquet")))
    assert sum(len(ds[s]) for s in ds) == qa.height
    assert set(ds) == set(qa["split"].unique())
    assert isinstance(ds["train"].features["image"], datasets.Image)
    assert json.loads((shards / "manifest.json").read_text())["qa_rows"] == qa.height
    # rows of images whose PNG is present (dev/test split of MedPix) carry the decoded picture
    with_image = [row for s in ("validation", "test") if s in ds for row in ds[s].select(range(min(5, len(ds[s]))))]
    assert with_image and all(row["image"] is not None and row["image"].size[0] > 0 for row in with_image)
    # rows whose file is missing (the MedPix train split here) have no image
    assert all(img is None for img in ds["train"]["image"][:20])


def test_export_errors_are_one_line(tmp_path: Path):
    r = CliRunner().invoke(app, ["export", str(tmp_path), "--format", "hf", "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "no manifest.json" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["export", str(tmp_path), "--format", "tfrecord", "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "unknown format" in r.output
