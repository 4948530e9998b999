"""The audit and diagnostic reports in a real headless browser (Debian's chromium), as a reader
first sees them: the DOM after scripts ran shows the audit's findings grouped by check with
benchmark leakage first and the `--fix` command, and the diag summary's named accuracy beside
its baselines with small patterns folded; a screenshot of each is taken and is not blank.

The screenshots in docs/img/ (audit-report.png, diag-report.png) come from this test:
`RADVQA_SCREENSHOT_DIR=docs/img just test-browser` writes them there (default: a temp folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tests.helpers.audit import audited_shards

pytestmark = pytest.mark.browser

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
]
WIDTH = 1280
#: resolved now: the audit test changes into its temp folder
SHOT_DIR = (
    Path(os.environ["RADVQA_SCREENSHOT_DIR"]).resolve()
    if os.environ.get("RADVQA_SCREENSHOT_DIR")
    else None
)


def _chromium(args: list[str], tmp: Path) -> str:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    res = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def _dom(page: Path, tmp: Path) -> str:
    return _chromium(["--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()], tmp)


def _shot(page: Path, name: str, height: int, tmp: Path) -> Path:
    """Screenshot the top `height` pixels of `page` into $RADVQA_SCREENSHOT_DIR (or tmp)."""
    from PIL import Image, ImageStat

    folder = SHOT_DIR or tmp
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    _chromium(
        [f"--window-size={WIDTH},{height}", f"--screenshot={shot}", page.resolve().as_uri()], tmp
    )
    with Image.open(shot) as img:
        assert img.size == (WIDTH, height)
        assert ImageStat.Stat(img.convert("L")).stddev[0] > 10  # text and pictures, not blank
    return shot


def _section(dom: str, start: str) -> str:
    part = dom[dom.index(start) :]
    return part[: part.index("</section>")]


def test_audit_report_in_the_browser(tmp_path, sample_catalog, monkeypatch):
    from radvqa_data.cli import app

    audited_shards(tmp_path, sample_catalog)
    shutil.copy(sample_catalog, tmp_path / "catalog.duckdb")
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them, in the printed commands
    rep = tmp_path / "report"
    args = ["audit", "shards", "--catalog", "catalog.duckdb", "--against", "vqa-rad"]
    res = CliRunner().invoke(app, [*args, "--report", "report", "--no-progress"])
    assert res.exit_code == 0, res.output
    doc = json.loads((rep / "audit.json").read_text())
    dom = _dom(rep / "report.html", tmp_path)
    # grouped by check, benchmark leakage first; each section carries its counts
    sections = re.findall(
        r'<section class="group" id="g-(\w+)" data-kind="\w+" data-findings="(\d+)" '
        r'data-affected="(\d+)">',
        dom,
    )
    by = {g["kind"]: g for g in doc["groups"]}
    assert [k for k, _, _ in sections] == [g["kind"] for g in doc["groups"] if g["findings"]]
    assert sections[0][0] == "benchmark_image"
    for kind, n, affected in sections:
        assert int(n) == by[kind]["findings"] and int(affected) == by[kind]["affected_qa_rows"]
    # what to do first: the command that takes the affected rows out
    todo = re.search(r'<pre class="cmd" id="fix-all">(.*?)</pre>', dom).group(1)
    want = "radvqa-data audit shards --catalog catalog.duckdb --against vqa-rad --fix shards-clean"
    assert todo == want
    bench = _section(dom, 'id="g-benchmark_image"')
    assert "--only benchmark_image --fix" in bench and "vqa-rad:train+test" in bench
    assert "<details><summary>ncc-aligned</summary>" in bench  # method details folded
    # within-split pairs: a count per split, the pairs folded (closed) below it
    dup = _section(dom, 'id="g-qa_duplicate"')
    assert re.search(r'<details class="pairs"><summary>show the 2 within-split', dup)
    assert "vqa-rad:-" not in dom
    _shot(rep / "report.html", "audit-report.png", 1400, tmp_path)


def test_diag_report_in_the_browser(sample_report, tmp_path):
    out = sample_report[0]
    s = json.loads((out / "summary.json").read_text())
    dom = _dom(out / "index.html", tmp_path)
    summary = _section(dom, '<section id="summary">')
    headline = re.search(r'id="kpi-headline"><b>([\d.]+)%</b><span>(.*?)</span>', summary)
    assert float(headline.group(1)) == pytest.approx(
        100 * s["metrics"]["closed_accuracy"], abs=0.05
    )
    assert "<code>closed_accuracy</code>" in headline.group(2)
    # the model and both baselines, side by side, in the first screen
    rows = re.findall(r'<tr (?:class="model" data-row="model"|data-baseline="(\w+)")>', summary)
    assert rows == ["", "always_yes", "type_majority"]
    assert 'id="verdict"' in summary
    # small patterns folded: a closed <details> holding exactly the patterns under the minimum
    patterns = pl.read_parquet(out / "patterns.parquet")
    small = patterns.filter(pl.col("n") < s["min_pattern_cases"])
    fails = _section(dom, '<section id="failures">')
    if small.height:
        folded = re.search(r'<details id="small-patterns">(.*?)</details>', fails, re.S).group(1)
        assert set(re.findall(r'id="pattern-(p\d+)"', folded)) == set(small["pattern_id"])
    shown = re.sub(r"<details.*?</details>", "", fails, flags=re.S)
    assert set(re.findall(r'id="pattern-(p\d+)"', shown)) == set(patterns["pattern_id"]) - set(
        small["pattern_id"]
    )
    _shot(out / "index.html", "diag-report.png", 1500, tmp_path)
    # the failure modes alone: a copy of the page beside it with the other sections hidden
    # (headless chromium screenshots a page scrolled to #failures blank)
    only = out / "failures-only.html"
    hide = "<style>#summary,#groups,#gallery-section{display:none}</style></head>"
    only.write_text((out / "index.html").read_text().replace("</head>", hide, 1))
    _shot(only, "diag-failures.png", 800, tmp_path)
    only.unlink()
