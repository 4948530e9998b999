"""`radvqa-data export` through the CLI, and the QA rows of a shard folder."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.core.shards import ShardDir

runner = CliRunner()


def export(shards: Path, out: Path, fmt: str, *extra: str) -> dict:
    """`radvqa-data export` through the CLI; returns OUT/export.json."""
    r = runner.invoke(
        app, ["export", str(shards), "--format", fmt, "--out", str(out), "--no-progress", *extra]
    )
    assert r.exit_code == 0, r.output
    return json.loads((out / "export.json").read_text())


def qa_rows(shards: Path) -> pl.DataFrame:
    return pl.read_parquet(ShardDir(shards).qa_files())
