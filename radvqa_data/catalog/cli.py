"""`radvqa-data catalog add|stats`: the `catalog` sub-app of `radvqa-data`.

Thin wrappers: parse options, call `radvqa_data.catalog.ingest.add_source` or
`radvqa_data.reader.catalog_stats.catalog_stats`, print. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import (
    AllowEmptyOpt,
    CatalogOpt,
    ExecutorOpt,
    ProgressOpt,
    RayAddressOpt,
    WorkersOpt,
    user_errors,
)
from radvqa_data.core.paths import DEFAULT_CATALOG

KIND_HELP = "medpix2 | roco | rocov2 | vqa-rad | slake | dicom | folder"

app = typer.Typer(
    name="catalog",
    no_args_is_help=True,
    help="Build and inspect the DuckDB catalog of images, texts and benchmark QA.",
)


@app.command("add")
def add(
    kind: str = typer.Argument(..., help=KIND_HELP),
    path: Path = typer.Argument(..., help="dataset folder as its publisher ships it"),
    catalog: CatalogOpt = DEFAULT_CATALOG,
    name: str | None = typer.Option(
        None,
        "--name",
        help="source name (default: the kind); use to catalog two sources of one kind",
    ),
    workers: WorkersOpt = None,
    progress: ProgressOpt = True,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Catalog one dataset; adding the same source again replaces its rows (never duplicates).

    --workers: threads decoding images (default: one per core, at most 8). The catalog file is
    created if absent. A folder with no image and no QA row exits 1 (--allow-empty: 0)."""
    with user_errors():
        from radvqa_data.catalog.ingest import add_source
        from radvqa_data.catalog.report import print_summary

        summary = add_source(
            catalog,
            kind,
            path,
            name=name,
            workers=workers,
            progress=progress,
            executor=executor,
            ray_address=ray_address,
            allow_empty=allow_empty,
        )
        print_summary(summary, catalog)


@app.command("stats")
def stats(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (for scripts)"),
) -> None:
    """Counts by source, split, modality and status."""
    with user_errors():
        import json

        from radvqa_data.reader.catalog_stats import catalog_stats

        result = catalog_stats(catalog)
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        else:
            from radvqa_data.catalog.report import print_stats

            print_stats(result, catalog)
