"""`radvqa-data catalog add|stats` (registered on the `radvqa-data` app).

Thin wrappers: parse options, call `radvqa_data.catalog.ingest.add_source` or
`radvqa_data.catalog.stats.catalog_stats`, print. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import executor_option, ray_address_option, user_errors
from radvqa_data.core.paths import DEFAULT_CATALOG

KIND_HELP = "medpix2 | roco | rocov2 | vqa-rad | slake | dicom | folder"

catalog_app = typer.Typer(help="Build and inspect the DuckDB catalog of images, texts and benchmark QA.", no_args_is_help=True)


@catalog_app.command("add")
def add(
    kind: str = typer.Argument(..., help=KIND_HELP),
    path: Path = typer.Argument(..., help="dataset folder as its publisher ships it"),
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", "-c", help="catalog file (created if absent)"),
    name: str | None = typer.Option(None, "--name", help="source name (default: the kind); use to catalog two sources of one kind"),
    workers: int | None = typer.Option(None, "--workers", "-j", help="threads decoding images (default: one per core, at most 8)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    executor: str = executor_option(),
    ray_address: str | None = ray_address_option(),
) -> None:
    """Catalog one dataset; adding the same source again replaces its rows (never duplicates)."""
    with user_errors():
        from radvqa_data.catalog.ingest import add_source
        from radvqa_data.catalog.report import print_summary

        summary = add_source(catalog, kind, path, name=name, workers=workers, progress=not quiet,
                             executor=executor, ray_address=ray_address)
        print_summary(summary, catalog)


@catalog_app.command("stats")
def stats(
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", "-c", help="catalog file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (for scripts)"),
) -> None:
    """Counts by source, split, modality and status."""
    with user_errors():
        import json

        from radvqa_data.catalog.stats import catalog_stats

        result = catalog_stats(catalog)
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        else:
            from radvqa_data.catalog.report import print_stats

            print_stats(result, catalog)


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.add_typer(catalog_app, name="catalog")
