"""`radvqa-data export`: shards -> LLaVA, LLaMA-Factory, TRL or `datasets` files, with a card.

Only typer and the standard library are imported here; `datasets` and polars are imported
inside the command so that `radvqa-data --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import OptionalCatalogOpt, ProgressOpt, user_errors

app = typer.Typer()


@app.command("export")
def export_cmd(
    shards: Path = typer.Argument(
        ..., help="A synth output folder (manifest.json), or an `audit --fix` folder."
    ),
    fmt: str = typer.Option(
        "hf",
        "--format",
        help="llava | sharegpt (LLaMA-Factory) | messages (TRL) | hf (datasets, QA columns).",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder (new, empty, or an earlier run of the same export)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace another export (other format or input) in --out."
    ),
    catalog: OptionalCatalogOpt = None,
    audit: Path = typer.Option(
        None, "--audit", help="The audit's --report and/or --fix folder, for the card."
    ),
    manifest: Path = typer.Option(
        None,
        "--manifest",
        help="Synth manifest.json (default: DIR's, or that of the --fix output's input).",
    ),
    images: str = typer.Option(
        "copy", "--images", help="llava/sharegpt: copy | hardlink | symlink into OUT/images/."
    ),
    name: str = typer.Option(
        None, "--name", help="Name in the card and LLaMA-Factory entries (default: OUT's)."
    ),
    decisions: Path = typer.Option(
        None,
        "--decisions",
        help="Review verdicts (`radvqa-data review pull`): drop rejected rows, use corrections.",
    ),
    progress: ProgressOpt = True,
) -> None:
    """Export shards for a training stack (LLaVA, LLaMA-Factory, TRL, datasets), with a card.

    --catalog: for image paths (default: the one in the manifest)."""
    with user_errors():
        from radvqa_data.export import export

        r = export(
            shards,
            out,
            fmt,
            catalog=catalog,
            manifest=manifest,
            audit=audit,
            images=images,
            name=name,
            progress=progress,
            decisions=decisions,
            overwrite=overwrite,
        )
        skipped = ", ".join(f"{k}={n}" for k, n in r["skipped"].items() if n)
        parts = [
            f"exported {r['rows']} rows ({fmt}) to {out}: "
            + ", ".join(f"{k}={v}" for k, v in r["splits"].items())
        ]
        if skipped:
            parts.append(f"skipped (no usable image): {skipped}")
        if r["rows_without_image"]:
            parts.append(f"{r['rows_without_image']} rows without image")
        if r["decisions"]:
            d = r["decisions"]
            parts.append(f"review: {d['rejected']} rows rejected, {d['corrected']} corrected")
        if r["quarantined"]:
            parts.append(f"{r['quarantined']} quarantined rows left out")
        typer.echo("; ".join(parts))
        for note in r["notes"]:
            typer.echo(f"note: {note}")
