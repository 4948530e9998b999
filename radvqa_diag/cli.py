"""`radvqa-diag` command line: thin wrappers over `radvqa_diag.explain` and `radvqa_diag.report`."""

from __future__ import annotations

from pathlib import Path

import typer

from radvqa_data.core.cli import OptionalCatalogOpt, ProgressOpt, user_errors

app = typer.Typer(
    name="radvqa-diag",
    help="Where a trained model fails: saliency maps, per-example signals, failure patterns, "
    "an HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def saliency(
    model: Path = typer.Option(
        ..., "--model", help="Model folder (trained, merged, or a LoRA adapter folder)."
    ),
    image: Path = typer.Option(..., "--image", help="Image file (PNG, JPEG, ...)."),
    question: str = typer.Option(..., "--question", help="The question about the image."),
    answer: str = typer.Option(
        None, "--answer", help="Answer to explain; default: the model's own (greedy) answer."
    ),
    out: Path = typer.Option(
        ..., "--out", help="PNG to write: the image and one overlay per method."
    ),
    layers: str = typer.Option(
        None,
        "--layers",
        help="LM layers averaged into the attention map, e.g. '10,11,12' (default: all).",
    ),
) -> None:
    """Saliency maps (attention, rollout, Grad-CAM, gradient x input) for one image and question."""
    with user_errors():
        from radvqa_diag.explain import explain_one

        res = explain_one(model, image, question, answer, out, _parse_layers(layers))
        typer.echo(
            f"answer: {res['answer']!r} "
            f"(confidence: geometric mean token probability {res['confidence']:.3f})"
        )
        typer.echo(f"wrote {res['png']} and {res['npz']}")


@app.command()
def report(
    predictions: Path = typer.Option(
        ..., "--predictions", help="The trainer's predictions.parquet."
    ),
    model: Path = typer.Option(..., "--model", help="The model folder that made the predictions."),
    out: Path = typer.Option(
        ..., "--out", help="Report folder to write (index.html, summary.json, examples.parquet)."
    ),
    catalog: OptionalCatalogOpt = None,
    batch_size: int = typer.Option(
        8,
        "--batch-size",
        min=1,
        help="Examples per forward pass (higher: faster on GPU, more memory).",
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Analyze only the first N predictions."),
    gallery_max: int = typer.Option(
        200, "--gallery-max", min=1, help="Examples shown in the gallery (flagged first)."
    ),
    confident: float = typer.Option(
        None,
        "--confident",
        min=0.0,
        max=1.0,
        help=(
            "Confidence (geometric-mean token probability) above which a wrong answer is "
            "'confidently wrong' (default: automatic)."
        ),
    ),
    layers: str = typer.Option(
        None,
        "--layers",
        help="LM layers averaged into the attention map, e.g. '10,11,12' (default: all).",
    ),
    min_pattern_cases: int = typer.Option(
        3,
        "--min-pattern-cases",
        min=1,
        help="Failure patterns with fewer cases are folded away in the page (all are in "
        "summary.json).",
    ),
    progress: ProgressOpt = True,
) -> None:
    """Saliency + failure-mode report for a set of predictions (opens from disk, no server).

    --catalog: links VQA-RAD paraphrases and fills image paths."""
    with user_errors():
        from radvqa_diag.report import ReportOptions, build_report

        opts = ReportOptions(
            batch_size=batch_size,
            limit=limit,
            gallery_max=gallery_max,
            confident=confident,
            layers=_parse_layers(layers),
            progress=progress,
            min_pattern_cases=min_pattern_cases,
        )
        page = build_report(predictions, model, out, catalog, opts)
        _print_summary(out / "summary.json")
        typer.echo(f"report: {page.resolve()}")


def _parse_layers(text: str | None) -> list[int] | None:
    """'10,11,12' -> [10, 11, 12]; a clear error for anything else."""
    if not text:
        return None
    from radvqa_data.core.errors import InputError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(
            f"--layers {text!r}: expected comma-separated layer numbers such as 10,11,12"
        ) from exc


def _print_summary(path: Path) -> None:
    import json

    from rich.table import Table

    from radvqa_data.core.console import results

    s = json.loads(path.read_text("utf-8"))
    t = Table(title="radvqa-diag report")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("predictions", str(s["n_examples"]))
    t.add_row("analyzed / skipped", f"{s['n_analyzed']} / {s['n_failed_items']}")
    acc = s["accuracy"]
    t.add_row(
        "accuracy, all rows (95% CI)",
        f"{acc:.3f} ({s['accuracy_ci95'][0]:.3f}-{s['accuracy_ci95'][1]:.3f})"
        if acc is not None
        else "-",
    )
    if s.get("metrics"):  # eval's names and figures, then what guessing scores
        h = s["headline"]
        t.add_row(f"{h} (as radvqa-train eval)", f"{s['metrics'][h]:.3f}")
        for name, m in s["baselines"].items():
            t.add_row(f"{h}, baseline {name}", f"{m[h]:.3f}" if m[h] is not None else "-")
    for flag, n in s["flag_counts"].items():
        t.add_row(f"flag {flag}", str(n))
    folded = s.get("n_patterns_folded", 0)
    t.add_row(
        "failure patterns",
        f"{len(s['patterns']) - folded} (+{folded} with < {s['min_pattern_cases']} cases)"
        if folded
        else str(len(s["patterns"])),
    )
    spe = s["timing"]["seconds_per_example"]
    if spe is not None:
        t.add_row(f"saliency + signals s/example ({s['timing']['device']})", f"{spe:.3f}")
    results().print(t)
