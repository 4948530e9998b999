"""`radvqa-train` command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="radvqa-train",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
