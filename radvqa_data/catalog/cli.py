"""CLI commands of radvqa_data.catalog (registered on the `radvqa-data` app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
