"""The report in a real headless browser (Debian's chromium): loads without console errors, the
gallery's images decode, a filter from the URL hash works, and a screenshot is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

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


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _dump(url: str, tmp: Path) -> tuple[str, str]:
    """DOM after scripts ran (virtual time lets load handlers finish) and chromium's log."""
    res = _chromium(
        ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", url], tmp
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout, res.stderr


def _cards(dom: str) -> list[str]:
    return re.findall(r'<div class="card [^"]*"[^>]*>', dom)


def test_page_loads_images_and_filters(sample_report, tmp_path):
    out = sample_report[0]
    page = (out / "index.html").resolve().as_uri()
    dom, log = _dump(page, tmp_path)
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not console, console  # the page logs nothing, so any console line is an error
    body = re.search(r"<body([^>]*)>", dom).group(1)
    total = int(re.search(r'data-images-total="(\d+)"', body).group(1))
    loaded = int(re.search(r'data-images-loaded="(\d+)"', body).group(1))
    assert total > 0 and loaded == total
    cards = _cards(dom)
    assert cards and not any(" hidden" in c for c in cards)

    # a filter given in the URL hash shows exactly the cards that carry the flag
    ex = pl.read_parquet(out / "examples.parquet").filter(pl.col("status") == "ok")
    flag = "inconsistent_paraphrase"
    want = set(ex.filter(pl.col(f"flag_{flag}"))["id"])
    dom, _ = _dump(f"{page}#flag={flag}", tmp_path)
    shown = {re.search(r'data-id="([^"]+)"', c).group(1) for c in _cards(dom) if " hidden" not in c}
    in_gallery = {re.search(r'data-id="([^"]+)"', c).group(1) for c in _cards(dom)}
    assert shown and shown == want & in_gallery
    assert f'data-shown="{len(shown)}"' in dom

    # a group filter (from the group table's links) narrows to that group
    dom, _ = _dump(f"{page}#group=answer_type:closed&correct=false", tmp_path)
    visible = [c for c in _cards(dom) if " hidden" not in c]
    assert all('data-g-answer_type="closed"' in c and 'data-correct="false"' in c for c in visible)


def test_screenshot_is_not_blank(sample_report, tmp_path):
    from PIL import Image, ImageStat

    shot = tmp_path / "report.png"
    page = (sample_report[0] / "index.html").resolve().as_uri()
    res = _chromium(["--window-size=1280,1600", f"--screenshot={shot}", page], tmp_path)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 1600)
        stat = ImageStat.Stat(img.convert("L"))
        assert stat.stddev[0] > 10  # text, charts and images, not a uniform page
        colours = img.convert("RGB").resize((320, 400)).getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50
