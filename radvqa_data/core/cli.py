"""Shared CLI plumbing: one `Error: ...` line for user mistakes, no tracebacks, shared options.

Every Typer command body is `with user_errors(): do_the_work(...)`. The library raises
`RadvqaError` subclasses; here they become one red line and exit code 1. Ctrl-C exits 130 with
a note that finished work was kept (every writer in the project is atomic).

The options every CLI shares are declared once here as `Annotated` types, so a flag has one
spelling and one help text in `radvqa-data`, `radvqa-train` and `radvqa-diag`:

    def cmd(catalog: CatalogOpt = DEFAULT_CATALOG, progress: ProgressOpt = True): ...

The default stays in the signature: it belongs to the command (or to the library function the
command calls), not to the flag.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from radvqa_data.core.errors import RadvqaError

# Optional[...] rather than X | None: Typer reads these annotations at run time on Python 3.10.
#: `--catalog/-c FILE`: the DuckDB catalog.
CatalogOpt = Annotated[Path, typer.Option("--catalog", "-c", help="Catalog file (DuckDB).")]
#: `--catalog/-c FILE` where the catalog is optional (the default is None).
OptionalCatalogOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--catalog", "-c", help="Catalog file (DuckDB)."),
]
#: `--allow-empty`: a step whose output would be empty succeeds instead of exiting 1.
AllowEmptyOpt = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="Exit 0 even when the output is empty (scripts); by default an empty result "
        "exits 1 with the reason.",
    ),
]
#: `--progress/--no-progress`: progress bars on stderr.
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]
#: `--workers/-j N`: parallel workers of a step (threads or processes, as the step says).
WorkersOpt = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option("--workers", "-j", min=1, help="Parallel workers (more: faster, more memory)."),
]
#: `--executor local|ray`: the same flag on every step that can run on a Ray cluster.
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local: this machine's cores; ray: a Ray cluster (same rows; see docs/scale.md).",
    ),
]
#: `--ray-address ADDR`, read only with `--executor ray`.
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="With --executor ray: the cluster (HOST:6379 as `ray start --head` prints, or auto); "
        "default: a local Ray instance sized to this machine.",
    ),
]


#: `--help` width off a terminal: wide enough that no option name or value is cut with "...".
HELP_WIDTH = 160


def help_fits_off_a_terminal() -> None:
    """Off a terminal (a pipe, `COLUMNS=60`), rich help would squeeze its option table into 80
    columns or `COLUMNS` and cut names (`--allow-missing-i...`); give it `HELP_WIDTH` instead.
    A terminal keeps its window's width. Typer reads `rich_utils.MAX_WIDTH` when it renders."""
    if sys.stdout.isatty():
        return
    from typer import rich_utils

    if rich_utils.MAX_WIDTH is None:  # TERMINAL_WIDTH, set by the user, wins
        rich_utils.MAX_WIDTH = HELP_WIDTH


help_fits_off_a_terminal()


def quiet_third_party_bars() -> None:
    """Silence Hugging Face's tqdm bars (transformers' "Loading weights", hub downloads,
    datasets' map/save): our own bar (`core.progress`) is the one progress display. Read when
    huggingface_hub and datasets are imported, so this runs before any command imports them;
    a value the user set wins."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


quiet_third_party_bars()


def split_list(values: list[str] | None) -> list[str]:
    """A repeatable option whose values may also be comma-separated: ["a,b", "c"] -> [a, b, c]."""
    return [s.strip() for v in values or [] for s in v.split(",") if s.strip()]


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
