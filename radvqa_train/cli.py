"""`radvqa-train` command line: tiny-model, scratch-model, recipes, run, rehearse, eval.

Each command parses options and calls a plain function; torch/transformers/peft are imported
inside those functions so `radvqa-train --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import OptionalCatalogOpt, ProgressOpt, user_errors
from radvqa_train.judge import JudgeSettings

app = typer.Typer(
    name="radvqa-train",
    help=(
        "Multi-stage LoRA fine-tuning of a vision-language model, and the standard VQA evaluation."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("tiny-model")
def tiny_model_cmd(
    family: str = typer.Option(
        "paligemma", "--family", help="paligemma | idefics3 | qwen2_5_vl | gemma3 | qwen3_vl"
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the model + processor into."),
    image_size: int = typer.Option(32, help="Image side in pixels (multiple of 16)."),
    seed: int = typer.Option(0, help="Seed of the random weights."),
) -> None:
    """Write a tiny randomly initialized model of FAMILY (for smoke tests and demos)."""
    with user_errors():
        from radvqa_train.tiny_model import build_tiny_model

        path = build_tiny_model(family, out, image_size=image_size, seed=seed)
        typer.echo(f"wrote tiny {family} model to {path}")


@app.command("scratch-model")
def scratch_model_cmd(
    out: Path = typer.Option(..., "--out", help="Folder to write the model + processor into."),
    family: str = typer.Option("paligemma", "--family", help="Only paligemma for now."),
    hidden: int = typer.Option(128, "--hidden", help="Hidden size of the vision tower and the LM."),
    layers: int = typer.Option(4, "--layers", help="Layers of the vision tower and of the LM."),
    heads: int = typer.Option(4, "--heads", help="Attention heads."),
    image_size: int = typer.Option(64, "--image-size", help="Image side in pixels."),
    patch: int = typer.Option(16, "--patch", help="Patch side: (image-size/patch)^2 image tokens."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights."),
) -> None:
    """Write a randomly initialized model sized for full training from scratch (CPU experiments)."""
    with user_errors():
        from radvqa_data.core.errors import ConfigError
        from radvqa_train.tiny_model import build_scratch_model

        if family != "paligemma":
            raise ConfigError(f"--family {family}: scratch models are paligemma only for now")
        path = build_scratch_model(
            out,
            hidden=hidden,
            layers=layers,
            heads=heads,
            image_size=image_size,
            patch=patch,
            seed=seed,
        )
        typer.echo(f"wrote scratch {family} model to {path}")


@app.command(
    "experiment",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    hidden=True,
)
def experiment_cmd(ctx: typer.Context) -> None:
    """Moved: the experiment is its own layer above train and diag (`radvqa-experiment run`)."""
    # radvqa_train may not import the experiment (it sits above train and diag), so this only
    # points the way instead of forwarding
    args = " ".join(ctx.args)
    typer.echo(
        "error: the experiment moved to its own command: radvqa-experiment run " + args,
        err=True,
    )
    raise typer.Exit(2)


@app.command("recipes")
def recipes_cmd() -> None:
    """List the recipes shipped with the package."""
    with user_errors():
        from radvqa_train.config import list_recipes

        recipes = list_recipes()
        width = max((len(name) for name, _ in recipes), default=0) + 2  # a name is never cut
        for name, desc in recipes:
            typer.echo(f"{name:{width}s}{desc}")


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_cmd(
    ctx: typer.Context,
    recipe: str = typer.Argument(..., help="Recipe YAML path or shipped recipe name."),
    model: str | None = typer.Option(
        None, "--model", help="Model directory or hub id (overrides the recipe)."
    ),
    shards: Path | None = typer.Option(
        None, "--shards", help="Folder of synthetic QA shards (`synthetic`)."
    ),
    catalog: OptionalCatalogOpt = None,
    out: Path = typer.Option(Path("out/train"), "--out", help="Output folder."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the last checkpoint in OUT."
    ),
    decisions: Path | None = typer.Option(
        None,
        "--decisions",
        help="Review verdicts (`radvqa-data review pull`) for every data source without its own.",
    ),
    progress: ProgressOpt = True,
) -> None:
    """Train the stages of RECIPE; extra `key=value` arguments override the recipe."""
    with user_errors():
        from radvqa_train.config import load_config, recipe_path
        from radvqa_train.run import run_recipe

        cfg = load_config(recipe, overrides=list(ctx.args), model=model)
        for stage in cfg.stages if decisions is not None else []:
            for d in stage.data:
                d.decisions = d.decisions or str(decisions)
        run_recipe(
            cfg,
            out=out,
            shards=shards,
            catalog=catalog,
            resume=resume,
            progress=progress,
            origin=str(recipe_path(recipe)),
            overrides=list(ctx.args),
        )


@app.command(
    "rehearse",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def rehearse_cmd(
    ctx: typer.Context,
    recipe: str = typer.Argument(..., help="Recipe YAML path or shipped recipe name."),
    meta: bool = typer.Option(
        False, "--meta", help="Meta device only: counts, FLOPs, memory estimate (seconds)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    catalog: OptionalCatalogOpt = None,
    shards: Path | None = typer.Option(
        None, "--shards", help="Synthetic QA shards (real step: rows of synthetic specs)."
    ),
    rows: int = typer.Option(2, "--rows", help="Real step: catalog rows per stage batch."),
    mfu: float = typer.Option(0.4, "--mfu", help="Assumed model FLOPs utilisation for steps/s."),
    ram_cap_gb: float = typer.Option(
        0, "--ram-cap-gb", help="Real step: RSS cap in GB (0: none); one line, not OOM."
    ),
    out: Path = typer.Option(
        Path("out/rehearse"), "--out", help="Real step: where stage checkpoints are written."
    ),
) -> None:
    """Build every stage of RECIPE at its real size (random weights) and check it will run;
    extra `key=value` arguments override the recipe as in `run`."""
    with user_errors():
        import json

        from radvqa_train.config import load_config
        from radvqa_train.rehearse import rehearse_meta
        from radvqa_train.rehearse_table import format_report

        cfg = load_config(recipe, overrides=list(ctx.args))
        report = rehearse_meta(cfg, mfu=mfu, recipe=recipe)
        if not meta:
            from radvqa_train.rehearse_step import rehearse_real

            report["real"] = rehearse_real(
                cfg,
                catalog=catalog,
                shards=shards,
                rows=rows,
                out=out,
                recipe=recipe,
                ram_cap_gb=ram_cap_gb,
            )
        typer.echo(json.dumps(report, indent=1) if as_json else format_report(report))


@app.command("eval")
def eval_cmd(
    data: str = typer.Option(
        ..., "--data", help="synthetic[:SPLIT] | NAME:SPLIT (e.g. vqa-rad:test)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model or stage folder to generate with."
    ),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="JSONL/CSV with id + prediction."
    ),
    catalog: OptionalCatalogOpt = None,
    shards: Path | None = typer.Option(None, "--shards", help="Folder of synthetic QA shards."),
    decisions: Path | None = typer.Option(
        None, "--decisions", help="Review verdicts (`radvqa-data review pull`) to apply first."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Score only the first N rows."),
    batch_size: int = typer.Option(8, "--batch-size", help="Generation batch size."),
    max_new_tokens: int = typer.Option(16, "--max-new-tokens", help="Longest generated answer."),
    out: Path = typer.Option(Path("out/eval"), "--out", help="Output folder."),
    image_ablation: str | None = typer.Option(
        None,
        "--image-ablation",
        help=(
            "blank | shuffle: re-score with blank or shuffled pictures (does the model use them?)."
        ),
    ),
    grounding: bool = typer.Option(
        False,
        "--grounding",
        help=(
            "Also answer on blank and shuffled pictures: accuracy drop and share of changed "
            "answers per subset (closed, image_determined) and question type, with CIs."
        ),
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="LLM judge for open answers: openai (any OpenAI-style server)."
    ),
    judge_base_url: str | None = typer.Option(
        None, "--judge-base-url", help="Judge server URL, e.g. http://127.0.0.1:8000/v1."
    ),
    judge_model: str | None = typer.Option(
        None, "--judge-model", help="Judge model name (as the server knows it)."
    ),
    judge_api_key_env: str = typer.Option(
        JudgeSettings.api_key_env,
        "--judge-api-key-env",
        help="Env variable holding the judge's API key.",
    ),
    judge_timeout: float = typer.Option(
        JudgeSettings.timeout,
        "--judge-timeout",
        help="Seconds per judge request; failures are counted, not fatal",
    ),
    judge_concurrency: int = typer.Option(
        JudgeSettings.concurrency, "--judge-concurrency", help="Judge requests in flight."
    ),
    judge_max_new_tokens: int = typer.Option(
        JudgeSettings.max_new_tokens,
        "--judge-max-new-tokens",
        help="Longest judge reply (raise it for reasoning models).",
    ),
    judge_cache: Path | None = typer.Option(
        None, "--judge-cache", help="Verdict cache file (default OUT/judge_cache.jsonl)."
    ),
    progress: ProgressOpt = True,
) -> None:
    """Generate answers (or read --predictions) and score them with the standard VQA metrics."""
    with user_errors():
        from radvqa_data.core.errors import ConfigError
        from radvqa_train.evaluate import evaluate

        if judge is None and (judge_base_url or judge_model):
            raise ConfigError("--judge-base-url/--judge-model need --judge openai")
        settings = (
            None
            if judge is None
            else JudgeSettings(
                judge_base_url or "",
                judge_model or "",
                backend=judge,
                api_key_env=judge_api_key_env,
                timeout=judge_timeout,
                concurrency=judge_concurrency,
                max_new_tokens=judge_max_new_tokens,
            )
        )
        evaluate(
            data,
            model=model,
            predictions=predictions,
            catalog=catalog,
            shards=shards,
            decisions=decisions,
            limit=limit,
            out=out,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            progress=progress,
            judge=settings,
            judge_cache=judge_cache,
            image_ablation=image_ablation,
            grounding=grounding,
        )


if __name__ == "__main__":  # pragma: no cover
    app()
