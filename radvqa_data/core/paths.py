"""Default locations. Every command takes an explicit path too; these are only defaults."""

from __future__ import annotations

import os
from pathlib import Path

#: Default catalog file, relative to the working directory (override: RADVQA_CATALOG).
DEFAULT_CATALOG = Path(os.environ.get("RADVQA_CATALOG", "catalogs/radvqa.duckdb"))


def assets_dir(catalog: Path) -> Path:
    """Folder beside a catalog for files the catalog creates (e.g. DICOM renderings as PNG)."""
    return catalog.with_name(catalog.name + ".assets")
