"""Data-area fixtures: the demo's shards (the shipped sample, with entities, rules synth)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_shards(
    tmp_path_factory: pytest.TempPathFactory, sample_catalog: Path
) -> dict[str, Path]:
    """{"catalog", "shards"}: what `just demo` makes before `export` (built once per session)."""
    from typer.testing import CliRunner

    from radvqa_data.cli import app
    from radvqa_data.entities.run import run_entities

    root = tmp_path_factory.mktemp("sample-shards")
    catalog = Path(shutil.copy(sample_catalog, root / "catalog.duckdb"))
    run_entities(catalog, fields=["caption"], n_process=1, progress=False)
    shards = root / "shards"
    r = CliRunner().invoke(
        app, ["synth", "--catalog", str(catalog), "--out", str(shards), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    return {"catalog": catalog, "shards": shards}


@pytest.fixture(scope="session")
def exports(
    sample_shards: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The demo shards exported once into each format: {format: OUT}."""
    from tests.helpers.export import export

    root = tmp_path_factory.mktemp("exports")
    for fmt in ("llava", "sharegpt", "messages", "hf"):
        export(sample_shards["shards"], root / fmt, fmt)
    return {fmt: root / fmt for fmt in ("llava", "sharegpt", "messages", "hf")}
