"""`radvqa-data entities`: find lexicon entities (with negation and uncertainty) in catalog texts.

Only typer and the standard library are imported here; spaCy and duckdb are imported inside the
command so that `radvqa-data --help` stays instant.
"""

from __future__ import annotations

import typer

from radvqa_data.core.cli import (
    CatalogOpt,
    ExecutorOpt,
    ProgressOpt,
    RayAddressOpt,
    WorkersOpt,
    split_list,
    user_errors,
)
from radvqa_data.core.paths import DEFAULT_CATALOG

app = typer.Typer()


@app.command("entities")
def entities_cmd(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    model: str = typer.Option(
        None,
        "--model",
        help="Installed spaCy/scispaCy model (e.g. en_core_sci_sm); default: blank + lexicon.",
    ),
    workers: WorkersOpt = 2,
    batch_size: int = typer.Option(256, "--batch-size", help="Texts per nlp.pipe batch."),
    sources: list[str] = typer.Option(
        None, "--sources", help="Only these catalog sources (comma-separated or repeated)."
    ),
    fields: list[str] = typer.Option(
        None, "--fields", help="Only these text fields, e.g. caption (default: all)."
    ),
    progress: ProgressOpt = True,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Find entities (lexicon + negation/uncertainty) in every catalogued text not yet processed.

    --workers: spaCy worker processes."""
    with user_errors():
        from radvqa_data.core.db import connect
        from radvqa_data.entities.report import print_entity_summary
        from radvqa_data.entities.run import run_entities

        with connect(catalog, read_only=True):  # a clear error when the catalog is absent
            pass
        summary = run_entities(
            catalog,
            model=model,
            n_process=workers,
            batch_size=batch_size,
            sources=split_list(sources) or None,
            fields=split_list(fields) or None,
            progress=progress,
            executor=executor,
            ray_address=ray_address,
        )
        print_entity_summary(summary)
