"""`radvqa-data`: catalog -> entities -> label-issues -> synth -> audit -> export.

Each area's `cli` module holds its commands, module-level, on a Typer app of its own; this
module adds those apps in pipeline order (`catalog` as a sub-app, the others' commands at the
top level). Those modules import only typer and light modules at import time, so
`radvqa-data --help` stays instant; heavy libraries (spacy, torch, transformers) are imported
inside the commands. Shared options (`--catalog`, `--progress`, `--workers`) come from
`radvqa_data.core.cli`.
"""

from __future__ import annotations

import typer

from radvqa_data.audit import cli as audit_cli
from radvqa_data.catalog import cli as catalog_cli
from radvqa_data.entities import cli as entities_cli
from radvqa_data.export import cli as export_cli
from radvqa_data.labels import cli as labels_cli
from radvqa_data.llm import cli as llm_cli
from radvqa_data.review import cli as review_cli
from radvqa_data.synth import cli as synth_cli

app = typer.Typer(
    name="radvqa-data",
    help="Turn radiology image-caption data into clean, audited VQA training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(catalog_cli.app)  # catalog add / stats
app.add_typer(entities_cli.app)  # entities
app.add_typer(labels_cli.app)  # label-issues
app.add_typer(synth_cli.app)  # synth, describe
app.add_typer(export_cli.app)  # export
app.add_typer(llm_cli.app)  # parse-responses
app.add_typer(audit_cli.app)  # audit
app.add_typer(review_cli.app)  # review [build] / pull / sample / score


if __name__ == "__main__":  # pragma: no cover
    app()
