"""FiftyOne for the review tests: one database (its bundled MongoDB) per test session, under a
temporary folder, with tracking off. Starting it costs seconds, so it is shared."""

from __future__ import annotations

import importlib.util
import os
import uuid

import pytest


@pytest.fixture(scope="session")
def fo(tmp_path_factory: pytest.TempPathFactory):
    """The `fiftyone` module, its database under a temporary folder; skips without the extra."""
    if importlib.util.find_spec("fiftyone") is None:
        pytest.skip("fiftyone is not installed (pip install 'radvqa[review]')")
    root = tmp_path_factory.mktemp("fiftyone")
    # set before FiftyOne is imported: it reads its config once, from the environment
    os.environ["FIFTYONE_DATABASE_DIR"] = str(root / "db")
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    from radvqa_data.review.fo import fiftyone

    module = fiftyone()
    assert module.config.database_dir == str(root / "db")
    try:
        module.list_datasets()  # starts the database now, once
    except Exception as exc:  # FiftyOne reports a mongod that cannot load as a port timeout
        pytest.fail(f"FiftyOne's database did not start ({exc}); see `just review-db`")
    return module


@pytest.fixture
def dataset_name(fo) -> str:
    """A fresh dataset name (datasets are persistent: each test uses its own)."""
    return f"t-{uuid.uuid4().hex[:8]}"
