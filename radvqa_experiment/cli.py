"""`radvqa-experiment` command line: `run` (the experiment of a recipe) and `recipes`.

Options are parsed here and handed to plain functions; torch is imported inside them so
`radvqa-experiment --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import user_errors

app = typer.Typer(
    help="The data-centric experiment: arms x seeds from scratch on CPU, scored on VQA-RAD.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("run")
def run_cmd(
    recipe: str = typer.Argument(
        ..., help="Experiment recipe YAML or shipped name (data-centric-cpu)."
    ),
    catalog: Path = typer.Option(
        ..., "--catalog", help="Catalog with VQA-RAD (and the MedPix images)."
    ),
    shards: Path = typer.Option(
        ..., "--shards", help="Audited synthetic QA shards (`audit --fix`): data version 'default'."
    ),
    data: list[str] = typer.Option(
        [],
        "--data",
        help=(
            "NAME=DIR: another synthetic shard folder (data version). Arms naming it in the "
            "recipe (`data: NAME`) use it; otherwise every synthetic arm is also run on it as "
            "ARM@NAME and compared with ARM (paired CIs). Repeatable."
        ),
    ),
    out: Path = typer.Option(
        Path("out/experiment"), "--out", help="Output folder (rerun resumes)."
    ),
    seeds: int | None = typer.Option(
        None, "--seeds", help="Seeds per arm (default: the recipe's)."
    ),
    arms: str | None = typer.Option(
        None,
        "--arms",
        help=(
            "Comma-separated arms to run (default: the recipe's arms not marked extra); "
            "+A,B: the default arms plus A and B (resume a finished OUT with more arms)."
        ),
    ),
    audit: Path | None = typer.Option(
        None, "--audit", help="The `audit --fix` folder, to record how many rows it removed."
    ),
    workers: int = typer.Option(
        2, "--workers", help="Processes training arm x seed runs side by side."
    ),
    quick: bool = typer.Option(False, "--quick", help="Tiny model, few rows: checks the plumbing."),
    report: bool = typer.Option(
        True, "--report/--no-report", help="The diag report on the best scratch-vision arm."
    ),
) -> None:
    """Train every arm x seed of RECIPE, score VQA-RAD test, write the figures."""
    with user_errors():
        from radvqa_experiment.data import parse_versions
        from radvqa_experiment.recipe import load_recipe, select_arms
        from radvqa_experiment.run import run_experiment

        versions = parse_versions(shards, data)
        r, left_out = select_arms(load_recipe(recipe, quick=quick), arms, versions)
        if left_out and not (arms or "").strip().removeprefix("+"):
            typer.echo(
                "arms left out (name them in --arms to run them): " + ", ".join(left_out),
                err=True,
            )
        res = run_experiment(
            r,
            catalog=catalog,
            shards=versions,
            out=out,
            seeds=seeds,
            audit=audit,
            limit=64 if quick else None,
            workers=workers,
            report=report,
            log=lambda line: typer.echo(line, err=True),  # progress: stderr; results: stdout
        )
        typer.echo((out / "results.md").read_text())
        typer.echo(f"best arm: {res['best_arm']}; {res['minutes']} minutes; wrote {out}")


@app.command("recipes")
def recipes_cmd() -> None:
    """List the experiment recipes shipped with the package."""
    with user_errors():
        from radvqa_experiment.recipe import shipped_recipes

        for name, desc in shipped_recipes():
            typer.echo(f"{name:24s} {desc}")


if __name__ == "__main__":  # pragma: no cover
    app()
