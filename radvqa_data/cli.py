"""`radvqa-data`: catalog -> entities -> synth -> audit -> export.

Each area registers its commands from its own `cli` module. Those modules import only typer and
the standard library at import time, so `radvqa-data --help` stays instant; heavy libraries
(duckdb is light, but spacy, torch, transformers are not) are imported inside the commands.
"""

from __future__ import annotations

import typer

from radvqa_data.audit import cli as audit_cli
from radvqa_data.catalog import cli as catalog_cli
from radvqa_data.llm import cli as llm_cli
from radvqa_data.synth import cli as synth_cli

app = typer.Typer(
    name="radvqa-data",
    help="Turn radiology image-caption data into clean, audited VQA training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

catalog_cli.register(app)  # catalog add / stats
synth_cli.register(app)  # entities, synth, export
llm_cli.register(app)  # parse-responses
audit_cli.register(app)  # audit


if __name__ == "__main__":  # pragma: no cover
    app()
