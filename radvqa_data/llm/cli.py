"""`radvqa-data parse-responses`: QA pairs out of raw LLM replies (no model needed)."""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import user_errors

app = typer.Typer()


@app.command("parse-responses")
def parse_responses_cmd(
    file: Path = typer.Argument(
        ...,
        help=(
            "Raw model replies: one per JSON line (a string, or an object with "
            "text/response/content), or a JSON list of strings."
        ),
    ),
) -> None:
    """Extract QA pairs from raw LLM replies: JSONL pairs on stdout, a summary on stderr."""
    with user_errors():
        import json
        import sys

        from radvqa_data.llm.responses import parse_file

        summary = parse_file(file, sys.stdout)
        typer.echo(
            f"{summary['responses']} responses, {summary['with_pairs']} with pairs, "
            f"{summary['pairs']} pairs extracted; rejected: {json.dumps(summary['rejected'])}",
            err=True,
        )
