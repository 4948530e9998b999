"""The rows of a synth output, for comparing two runs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


def shard_rows(out: Path) -> dict[str, object]:
    """Kept and rejected rows (sorted) and the manifest without what names the run's folder or
    times it (catalog path, backend seconds)."""
    qa = pl.read_parquet(sorted((out / "qa").glob("*.parquet")))
    rejects = pl.read_parquet(sorted((out / "rejects").glob("*.parquet")))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["catalog"].pop("path")
    manifest["backend_counters"] = {
        k: v
        for k, v in manifest["backend_counters"].items()
        if k not in ("seconds", "peak_in_flight")
    }
    return {
        "qa": sorted(qa.rows(), key=repr),
        "rejects": sorted(rejects.rows(), key=repr),
        "manifest": manifest,
    }
