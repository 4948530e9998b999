"""`radvqa-data catalog add|stats` through Typer's CliRunner and a real subprocess (interrupt)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.core.db import connect

runner = CliRunner()


def test_cli_add_and_stats_json(tmp_path: Path, sample_dir: Path) -> None:
    cat = tmp_path / "c.duckdb"
    r = runner.invoke(
        app,
        [
            "catalog",
            "add",
            "medpix2",
            str(sample_dir / "medpix2"),
            "--catalog",
            str(cat),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "images" in r.output and "40" in r.output
    r = runner.invoke(
        app,
        [
            "catalog",
            "add",
            "vqa-rad",
            str(sample_dir / "vqa-rad"),
            "-c",
            str(cat),
            "--name",
            "vqarad-sample",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["catalog", "stats", "--catalog", str(cat), "--json"])
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output)["sources"]
    assert set(stats) == {"medpix2", "vqarad-sample"}
    assert stats["vqarad-sample"]["kind"] == "vqa-rad" and stats["vqarad-sample"]["qa_rows"] == 66
    for src in stats.values():
        assert set(src) >= {
            "kind",
            "images",
            "status",
            "splits",
            "modality",
            "qa_rows",
            "qa_splits",
        }
        assert set(src["status"]) == {"ok", "missing", "corrupt"}
    r = runner.invoke(app, ["catalog", "stats", "--catalog", str(cat)])
    assert r.exit_code == 0 and "medpix2" in r.output and "validation 27" in r.output


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "vq"
    bad.mkdir()
    (bad / "VQA_RAD Dataset Public.json").write_text('[{"qid": 1,\n "question": }]')
    r = runner.invoke(
        app, ["catalog", "add", "vqa-rad", str(bad), "-c", str(tmp_path / "c.duckdb")]
    )
    assert r.exit_code == 1
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "line 2" in lines[0]
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["catalog", "stats", "-c", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1 and "no catalog here" in r.output


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["crash", "ctrl-c"])
def test_interrupted_run_keeps_whole_rows_and_rerun_continues(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """Killed (a crash) or Ctrl-C mid-probe, then rerun: no half rows, no duplicates, probes
    reused."""
    root = tmp_path / "many"
    root.mkdir()
    rng = np.random.default_rng(0)
    n = 450  # a few probe batches of 128
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (160, 160), dtype=np.uint8)).save(
            root / f"img{i:04d}.png", compress_level=1
        )
    cat = tmp_path / "c.duckdb"
    connect(cat).close()  # schema in place, so the WAL only grows with the run's own commits
    wal = Path(f"{cat}.wal")
    cmd = [
        str(Path(sys.executable).parent / "radvqa-data"),
        "catalog",
        "add",
        "folder",
        str(root),
        "-c",
        str(cat),
        "--no-progress",
        "-j",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 20_000:  # at least one probe batch committed
            break
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, sig)  # the CLI and its worker processes, as a terminal's Ctrl-C does
    proc.wait(timeout=60)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if killed and sig == signal.SIGINT:
        assert proc.returncode == 130 and "Interrupted" in stderr and "Traceback" not in stderr, (
            stderr
        )
    con = duckdb.connect(str(cat))
    images = con.execute("SELECT count(*) FROM images").fetchall()[0][0]
    cached = con.execute("SELECT count(*) FROM catalog_probe_cache").fetchall()[0][0]
    con.close()
    assert images in (0, n)  # the source's rows appear all at once, never half
    if killed:
        assert 0 < cached < n
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    con = duckdb.connect(str(cat), read_only=True)
    try:
        assert con.execute(
            "SELECT count(*), count(DISTINCT image_id), count(phash) FROM images"
        ).fetchall()[0] == (n, n, n)
        assert con.execute("SELECT count(*) FROM sources").fetchall()[0][0] == 1
    finally:
        con.close()
    if killed:
        reused = int(
            next(line for line in r.stdout.splitlines() if "probes reused" in line)
            .split("│")[2]
            .replace(",", "")
        )
        assert reused >= cached > 0


def test_library_call_from_a_script_without_main_guard(tmp_path: Path) -> None:
    """Worker processes must not re-run the calling script (no `if __name__ == "__main__"` here)."""
    root = tmp_path / "imgs"
    root.mkdir()
    rng = np.random.default_rng(1)
    for i in range(60):  # above the in-process threshold, so the pool is used
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(root / f"{i}.png")
    script = tmp_path / "run.py"
    script.write_text(
        "from radvqa_data.catalog.ingest import add_source\n"
        f"s = add_source({str(tmp_path / 'c.duckdb')!r}, 'folder', {str(root)!r}, "
        "workers=2, progress=False)\n"
        "print('RESULT', s.ok, s.probed)\n"
    )
    r = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("RESULT") == 1 and "RESULT 60 60" in r.stdout
