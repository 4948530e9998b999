"""README's real-data walk, as a new user takes it on the shared folders (issue 23).

MedPix 2.0 with its dev/test images only (the train PNGs are not in `medpix2/`), VQA-RAD, and
ROCO's captions (no images at all): catalog -> entities -> synth -> describe -> export, each
through the `radvqa-data` CLI in a pipe. The summaries must say what the walk cannot give:
no train split, 34,111 ROCO records and 1,653 MedPix records without an image file, the
benchmark left out of synthesis; and the export must say it has no train file.

Slow (about 2 minutes on the shared 2-core machine, mostly entities over 66,000 texts); skipped
when the shared data is absent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dataset

pytestmark = pytest.mark.slow


def radvqa_data(*args: str) -> subprocess.CompletedProcess:
    """`radvqa-data ARGS` in a pipe, as a script runs it; it must succeed."""
    res = subprocess.run(
        [sys.executable, "-c", "from radvqa_data.cli import app; app()", *args],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode == 0, (args, res.stderr[-3000:])
    return res


def test_readme_real_data_walk_reports_what_it_cannot_give(shared_data: Path, tmp_path: Path):
    cat = str(tmp_path / "catalog.duckdb")
    medpix = radvqa_data("catalog", "add", "medpix2", str(dataset(shared_data, "medpix2")),
                         "--catalog", cat, "--no-progress")  # fmt: skip
    assert "images in split train" in medpix.stdout and "1,653 │" in medpix.stdout
    assert "1,653 of 2,050 records have no image file" in medpix.stdout
    radvqa_data(
        "catalog", "add", "vqa-rad", str(dataset(shared_data, "vqa-rad")), "--catalog", cat,
        "--no-progress",
    )  # fmt: skip
    roco = radvqa_data("catalog", "add", "roco", str(dataset(shared_data, "roco")),
                       "--catalog", cat, "--no-progress")  # fmt: skip
    assert "34,111 of 34,111 records have no image file" in roco.stdout
    stats = radvqa_data("catalog", "stats", "--catalog", cat, "--json")
    assert json.loads(stats.stdout)["sources"]["roco"]["splits"]["train"] == 17_752

    ent = radvqa_data("entities", "--catalog", cat, "--no-progress")
    assert "texts processed" in ent.stdout

    shards = tmp_path / "shards"
    syn = radvqa_data("synth", "--catalog", cat, "--out", str(shards), "--no-progress")
    lines = syn.stdout.splitlines()
    assert (
        "not done: roco: 34,111 records without an image file (train 17,752, validation 8,180, "
        "test 8,179): no rows; pass --allow-missing-images for caption-only rows"
    ) in lines
    assert (
        "not done: medpix2: 1,653 records without an image file (train 1,653): no rows; pass "
        "--allow-missing-images for caption-only rows"
    ) in lines
    assert any(s.startswith("not done: vqa-rad: benchmark source") for s in lines)
    man = json.loads((shards / "manifest.json").read_text())
    assert man["by_split"] and "train" not in man["by_split"]
    rows = ", ".join(f"{s} {n:,}" for s, n in sorted(man["by_split"].items(), key=lambda x: -x[1]))
    assert f"not done: no train split: 0 train rows ({rows}); 19,405 train records" in syn.stdout
    assert f"rows per split: {rows}" in lines

    desc = radvqa_data("describe", str(shards), "--samples", "0")
    assert f"rows per split: {rows}" in desc.stdout and "no train split" in desc.stdout

    out = tmp_path / "llava"
    exp = radvqa_data("export", str(shards), "--format", "llava", "--out", str(out),
                      "--images", "symlink", "--no-progress")  # fmt: skip
    assert "note: no train split: no train.json in this export" in exp.stdout
    assert sorted(p.name for p in out.glob("*.json")) == [
        "export.json",
        "test.json",
        "validation.json",
    ]
