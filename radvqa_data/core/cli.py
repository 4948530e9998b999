"""Shared CLI plumbing: one `Error: ...` line for user mistakes, no tracebacks.

Every Typer command body is `with user_errors(): do_the_work(...)`. The library raises
`RadvqaError` subclasses; here they become one red line and exit code 1. Ctrl-C exits 130 with
a note that finished work was kept (every writer in the project is atomic).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer

from radvqa_data.core.errors import RadvqaError


def executor_option() -> typer.models.OptionInfo:
    """`--executor local|ray`: the same flag on every step that can run on a Ray cluster."""
    return typer.Option(
        "local", "--executor",
        help="local: this machine's cores; ray: a Ray cluster (same rows; see docs/scale.md).",
    )


def ray_address_option() -> typer.models.OptionInfo:
    """`--ray-address ADDR`, read only with `--executor ray`."""
    return typer.Option(
        None, "--ray-address",
        help="With --executor ray: the cluster (HOST:6379 as `ray start --head` prints, or auto); "
        "default: a local Ray instance sized to this machine.",
    )


def fail(message: str, code: int = 1) -> None:
    """Print `Error: message` on stderr and exit with `code`."""
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and a non-zero exit code."""
    try:
        yield
    except RadvqaError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        typer.secho(
            "Interrupted: finished work is kept; rerun the same command to continue.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        sys.exit(130)
