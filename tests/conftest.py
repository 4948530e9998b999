"""Shared fixtures.

Real public data lives outside the project (`../shared/data` beside the checkout, override with
RADVQA_SHARED_DATA). Tests that need a dataset take the `shared_data` fixture and are skipped
cleanly when that folder (or the dataset inside it) is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "catalogs" / "sample"


def shared_data_root() -> Path:
    """Where the real datasets are: $RADVQA_SHARED_DATA or ../shared/data beside the repo."""
    env = os.environ.get("RADVQA_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real datasets; skips the test when it is absent."""
    root = shared_data_root()
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root} (set RADVQA_SHARED_DATA)")
    return root


def dataset(root: Path, name: str) -> Path:
    """One dataset folder under the shared root; skips the test when it is absent."""
    path = root / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found under {root}")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The small MedPix 2.0 sample the project ships (catalogs/sample)."""
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog built from the shipped sample (catalogs/sample: MedPix 2.0 + VQA-RAD subsets)."""
    from radvqa_data.catalog.ingest import add_source

    path = tmp_path_factory.mktemp("sample-catalog") / "sample.duckdb"
    add_source(path, "medpix2", SAMPLE_DIR / "medpix2", progress=False)
    if (SAMPLE_DIR / "vqa-rad").is_dir():
        add_source(path, "vqa-rad", SAMPLE_DIR / "vqa-rad", progress=False)
    return path


@pytest.fixture(scope="session")
def real_catalog(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A catalog of the real MedPix 2.0 and VQA-RAD data from the shared folder (built once)."""
    from radvqa_data.catalog.ingest import add_source

    path = tmp_path_factory.mktemp("real-catalog") / "real.duckdb"
    add_source(path, "medpix2", dataset(shared_data, "medpix2"), progress=False)
    add_source(path, "vqa-rad", dataset(shared_data, "vqa-rad"), progress=False)
    return path


@pytest.fixture(scope="session")
def ray_cluster() -> object:
    """One local Ray instance (2 CPUs) for the whole session: it takes seconds to start, and a
    process can join only one. Token authentication is off (nothing written under the home
    folder), and the workers can import this checkout (`tests` too: test generators are pickled
    to them by reference)."""
    ray = pytest.importorskip("ray")
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "PYTHONPATH")}
    os.environ["RAY_AUTH_MODE"] = "disabled"
    paths = (str(REPO_ROOT), saved["PYTHONPATH"])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    started = not ray.is_initialized()
    if started:
        import logging

        ray.init(
            num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
        )
    from radvqa_data.executor.ray_runtime import quiet_ray_data

    quiet_ray_data()
    yield ray
    if started:
        ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def query_catalog(catalog: Path, sql: str) -> list[tuple]:
    """Run one read-only query on a catalog file and return all rows (closes the connection)."""
    import duckdb

    con = duckdb.connect(str(catalog), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
