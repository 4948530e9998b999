"""Issue 23: the traps a new user hits on day one, each driven through the CLI as they would.

Small real inputs: a `folder` source made here (PNG files + a captions.csv naming some files
that are not there, as a user's half-copied dataset), the shipped sample (catalogs/sample) and
its demo shards. Each test names the friction it pins down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radvqa_data.cli import app
from tests.conftest import SAMPLE_DIR

runner = CliRunner()
CAPTIONS = [  # (file, caption, split): the train rows name files that were never copied
    ("a.png", "Axial CT of the abdomen shows a hypodense lesion in the liver.", "test"),
    ("b.png", "Coronal MRI of the brain shows a mass in the left frontal lobe.", "test"),
    ("c.png", "Frontal chest radiograph shows a right pleural effusion.", "validation"),
    ("gone1.png", "Axial CT of the chest shows a nodule in the right lung.", "train"),
    ("gone2.png", "Sagittal MRI of the spine shows a disc herniation.", "train"),
    ("gone3.png", "Axial CT of the head shows an acute hemorrhage.", "train"),
]


def _png(path: Path, shade: int) -> None:
    from PIL import Image

    Image.new("L", (64, 64), shade).save(path)


@pytest.fixture()
def half_copied(tmp_path: Path) -> Path:
    """A `folder` dataset whose train images were not copied (as MedPix train on the shared
    data): 3 PNGs in test/validation, 3 captions of train files that are absent."""
    root = tmp_path / "mydata"
    root.mkdir()
    lines = ["image,caption,split"]
    for i, (name, caption, split) in enumerate(CAPTIONS):
        if not name.startswith("gone"):
            _png(root / name, 40 + 60 * i)
        lines.append(f'{name},"{caption}",{split}')
    (root / "captions.csv").write_text("\n".join(lines) + "\n")
    return root


def cli(*args: str):
    return runner.invoke(app, [*args])


def _cli_env(columns: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    if columns:
        env["COLUMNS"] = columns
    return env


def run_piped(*args: str, columns: str | None = "40") -> subprocess.CompletedProcess:
    """`radvqa-data ARGS` as a shell pipe runs it (stdout and stderr not terminals), with a
    narrow COLUMNS as a small terminal window would export."""
    code = "from radvqa_data.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=_cli_env(columns),
        timeout=300,
    )


# --- 1. no train split, imageless records silently ignored -------------------------------------


def test_synth_names_imageless_records_and_the_missing_train_split(half_copied, tmp_path):
    catalog, shards = tmp_path / "c.duckdb", tmp_path / "shards"
    add = cli("catalog", "add", "folder", str(half_copied), "--catalog", str(catalog))
    assert add.exit_code == 0, add.output
    # the catalog summary shows images per split and says the missing files get no rows
    assert "images in split train" in add.stdout and "images in split test" in add.stdout
    assert "3 of 6 records have no image file" in add.stdout
    assert cli("entities", "--catalog", str(catalog), "--no-progress").exit_code == 0
    r = cli("synth", "--catalog", str(catalog), "--out", str(shards), "--no-progress")
    assert r.exit_code == 0, r.output
    assert (
        "folder: 3 records without an image file (train 3): no rows; pass "
        "--allow-missing-images for caption-only rows" in r.stdout
    )
    man = json.loads((shards / "manifest.json").read_text())
    assert "train" not in man["by_split"] and man["by_split"]  # rows, but none in train
    assert "no train split: 0 train rows" in r.stdout
    assert "3 train records have no usable image file" in r.stdout
    assert man["images_left_out"] == {"folder": {"missing": {"train": 3}}}
    # `describe` shows the splits and the same reasons, from the manifest
    d = cli("describe", str(shards), "--samples", "0")
    assert d.exit_code == 0, d.output
    assert "rows per split: " in d.stdout and "no train split" in d.stdout
    assert "folder: 3 records without an image file" in d.stdout
    # with the flag, the same records give caption-only rows in train, and no note about them
    full = cli(
        "synth", "--catalog", str(catalog), "--out", str(tmp_path / "all"), "--no-progress",
        "--allow-missing-images",
    )  # fmt: skip
    assert full.exit_code == 0, full.output
    assert "without an image file" not in full.stdout and "no train split" not in full.stdout
    assert json.loads((tmp_path / "all" / "manifest.json").read_text())["by_split"]["train"] > 0


def test_benchmark_sources_left_out_of_synth_are_named(sample_shards, tmp_path):
    """The sample catalog holds VQA-RAD: synth's default skips it, and now says so."""
    r = cli(
        "synth", "--catalog", str(sample_shards["catalog"]), "--out", str(tmp_path / "s"),
        "--no-progress",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "vqa-rad: benchmark source (vqa-rad), not synthesized from" in r.stdout
    assert "median answer" in r.stdout and "rows per split: " in r.stdout


# --- 2. silent success on empty input ----------------------------------------------------------


def test_empty_folder_catalog_exits_1_unless_allow_empty(tmp_path):
    empty, catalog = tmp_path / "empty", tmp_path / "c.duckdb"
    empty.mkdir()
    r = cli("catalog", "add", "folder", str(empty), "--catalog", str(catalog))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"Error: {empty}: no image and no QA row found" in r.output
    assert "pass --allow-empty" in r.output and not catalog.exists()  # nothing written
    ok = cli("catalog", "add", "folder", str(empty), "--catalog", str(catalog), "--allow-empty")
    assert ok.exit_code == 0, ok.output


def test_a_medpix_folder_added_as_folder_is_refused(tmp_path):
    r = cli(
        "catalog", "add", "folder", str(SAMPLE_DIR / "medpix2"), "--catalog",
        str(tmp_path / "c.duckdb"),
    )  # fmt: skip
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "this is a MedPix 2.0 folder" in r.output
    assert "use `radvqa-data catalog add medpix2" in r.output


def test_synth_of_nothing_exits_1_and_export_of_an_empty_run_says_why(half_copied, tmp_path):
    """Only the imageless train records: synth has no image to read (exit 1, nothing written);
    with --allow-empty it writes an empty run whose summary has no "median answer None", and
    export of that run says it holds 0 rows and why, not "not a synth folder"."""
    for f in half_copied.glob("*.png"):
        f.unlink()
    catalog, shards = tmp_path / "c.duckdb", tmp_path / "shards"
    assert (
        cli("catalog", "add", "folder", str(half_copied), "--catalog", str(catalog)).exit_code == 0
    )
    r = cli("synth", "--catalog", str(catalog), "--out", str(shards), "--no-progress")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "Error: no image to synthesize from: folder: 6 records without an image file" in (
        r.output
    )
    assert "pass --allow-empty" in r.output and not shards.exists()
    ok = cli(
        "synth", "--catalog", str(catalog), "--out", str(shards), "--no-progress", "--allow-empty"
    )
    assert ok.exit_code == 0, ok.output
    assert "kept 0 rows" in ok.stdout and "None" not in ok.stdout
    d = cli("describe", str(shards))
    assert d.exit_code == 0 and "0 QA rows" in d.stdout, d.output
    e = cli("export", str(shards), "--out", str(tmp_path / "hf"), "--no-progress")
    assert e.exit_code == 1 and "Traceback" not in e.output
    assert f"{shards}: the synth run wrote 0 QA rows (manifest.json), nothing to export" in e.output
    assert "no part-*.parquet" not in e.output


def test_synth_whose_images_give_no_row_exits_1(tmp_path):
    """Images without any caption or metadata: every image is read, none gives a question."""
    root, catalog = tmp_path / "bare", tmp_path / "c.duckdb"
    root.mkdir()
    for i in range(3):
        _png(root / f"{i}.png", 50 * i)
    assert cli("catalog", "add", "folder", str(root), "--catalog", str(catalog)).exit_code == 0
    r = cli("synth", "--catalog", str(catalog), "--out", str(tmp_path / "s"), "--no-progress")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "synth wrote 0 QA rows" in r.output and "pass --allow-empty" in r.output


# --- 3. export over another export; no train split; licences in the card -----------------------


def test_export_refuses_to_replace_another_export_without_overwrite(sample_shards, tmp_path):
    shards, out = sample_shards["shards"], tmp_path / "out"
    first = cli("export", str(shards), "--format", "llava", "--out", str(out), "--no-progress")
    assert first.exit_code == 0, first.output
    images = sorted(p for p in (out / "images").rglob("*") if p.is_file())
    assert images
    other = cli("export", str(shards), "--format", "messages", "--out", str(out), "--no-progress")
    assert other.exit_code == 1 and "Traceback" not in other.output
    assert "holds another export (llava of" in other.output and "--overwrite" in other.output
    assert sorted(p for p in (out / "images").rglob("*") if p.is_file()) == images  # untouched
    again = cli("export", str(shards), "--format", "llava", "--out", str(out), "--no-progress")
    assert again.exit_code == 0, again.output  # the same export again: a rerun
    forced = cli(
        "export", str(shards), "--format", "messages", "--out", str(out), "--no-progress",
        "--overwrite",
    )  # fmt: skip
    assert forced.exit_code == 0, forced.output
    assert not (out / "images").exists() and (out / "data").is_dir()


def test_export_without_train_split_says_so_and_card_names_licences(sample_shards, tmp_path):
    from huggingface_hub import DatasetCard

    out = tmp_path / "llava"
    r = cli("export", str(sample_shards["shards"]), "--format", "llava", "--out", str(out),
            "--no-progress")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "note: no train split: no train.json in this export" in r.stdout
    assert not (out / "train.json").exists()
    assert json.loads((out / "export.json").read_text())["notes"][0].startswith("no train split")
    card = DatasetCard.load(out / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "other"  # not "unknown": the sources' licences are known
    assert meta["license_details"].startswith("medpix2: none published (NLM MedPix content")
    assert "no `train` split" in card.text
    # every shard row is exported (the sample's images are all there): no "difference" claimed
    man = json.loads((sample_shards["shards"] / "manifest.json").read_text())
    assert json.loads((out / "export.json").read_text())["rows"] == man["qa_rows"]
    assert "difference" not in card.text and "why this export has" not in card.text
    assert f"counts the same {man['qa_rows']:,} rows" in card.text


# --- 6. messages that name the right fix -------------------------------------------------------


def test_messages_name_the_right_fix(sample_shards, tmp_path):
    gone = tmp_path / "gone.duckdb"
    r = cli("export", str(sample_shards["shards"]), "--out", str(tmp_path / "o"),
            "--catalog", str(gone), "--no-progress")  # fmt: skip
    assert r.exit_code == 1
    assert f"--catalog {gone}: file not found" in r.output and "pass --catalog" not in r.output
    r = cli("catalog", "add", "folder", str(tmp_path / "nope"), "--catalog", str(gone))
    assert r.exit_code == 1 and "folder dataset folder" not in r.output
    assert "expected a folder of image files" in r.output
    r = cli("catalog", "add", "medpix2", str(tmp_path / "nope"), "--catalog", str(gone))
    assert "expected a MedPix 2.0 folder (Descriptions.json, Case_topic.json" in r.output


# --- 7. output: results on stdout, nothing wrapped or cut off a terminal ------------------------


def test_summaries_go_to_stdout_and_nothing_wraps_in_a_narrow_pipe(half_copied, tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "catalog.duckdb"
    deep.parent.mkdir()
    add = run_piped("catalog", "add", "folder", str(half_copied), "--catalog", str(deep))
    assert add.returncode == 0, add.stderr
    assert f"catalog: {deep}" in add.stdout  # the path on one line, not cut at COLUMNS=40
    assert "│ images in split train" in add.stdout
    # one image rate per run: the summary's; the probing bar shows none
    assert "images/s decoded" in add.stdout and "img/s" not in add.stderr
    ent = run_piped("entities", "--catalog", str(deep))
    assert ent.returncode == 0, ent.stderr
    assert "texts processed" in ent.stdout and "texts processed" not in ent.stderr
    shards = tmp_path / "shards"
    syn = run_piped("synth", "--catalog", str(deep), "--out", str(shards))
    assert syn.returncode == 0, syn.stderr
    assert "rejected (reason)" in syn.stdout and "rows per split" in syn.stdout
    assert "rows per split" not in syn.stderr and "synth" in syn.stderr  # the bar: stderr
    for out in (add.stdout, syn.stdout):
        assert "…" not in out and "..." not in out
    line = next(s for s in syn.stdout.splitlines() if "records without an image file" in s)
    assert line.endswith("pass --allow-missing-images for caption-only rows")
    helped = run_piped("synth", "--help", columns="40")
    assert "--allow-missing-images" in helped.stdout and "--allow-missing-i…" not in helped.stdout
    assert "--allow-empty" in helped.stdout
