"""`radvqa-data label-issues`: find the sources' own metadata errors with their pictures.

Only typer and light modules are imported here; torch, cleanlab and duckdb are imported inside
the command so that `radvqa-data --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radvqa_data.core.cli import CatalogOpt, ProgressOpt, WorkersOpt, user_errors
from radvqa_data.core.paths import DEFAULT_CATALOG

app = typer.Typer()


@app.command("label-issues")
def label_issues_cmd(
    catalog: CatalogOpt = DEFAULT_CATALOG,
    report: Optional[Path] = typer.Option(  # noqa: UP045 (Typer reads it at run time)
        None, "--report", help="Folder for label-issues.html (pictures, worst first)."
    ),
    model_dir: Optional[Path] = typer.Option(  # noqa: UP045
        None,
        "--model-dir",
        help="Label model folder (default: CATALOG.assets/label-model/).",
    ),
    retrain: bool = typer.Option(
        False, "--retrain", help="Train the model again on every picture (else: reuse it)."
    ),
    epochs: int = typer.Option(
        None, "--epochs", min=1, help="Training epochs per fold (more: better fit, slower)."
    ),
    folds: int = typer.Option(None, "--folds", min=2, help="Cross-fitting folds."),
    max_score: float = typer.Option(
        None,
        "--max-score",
        min=0.0,
        max=1.0,
        help="Flag a cleanlab suspect only below this probability of its given label "
        "(default 0.05; higher: more flags, more found).",
    ),
    workers: WorkersOpt = 2,
    progress: ProgressOpt = True,
) -> None:
    """Train a small CNN on the catalog's pictures (cross-fitted) and flag the metadata labels
    (modality, plane, region) that cleanlab and the captions find wrong (incremental).

    --workers: training processes of one thread each."""
    with user_errors():
        from radvqa_data.core.db import connect
        from radvqa_data.labels.model import LabelModelConfig
        from radvqa_data.labels.run import print_label_summary, run_label_issues

        with connect(catalog, read_only=True):  # a clear error when the catalog is absent
            pass
        config = None  # the saved model's, or the defaults
        if epochs is not None or folds is not None:
            config = LabelModelConfig()
            config.epochs = epochs or config.epochs
            config.folds = folds or config.folds
        summary = run_label_issues(
            catalog,
            report=report,
            model_dir=model_dir,
            retrain=retrain,
            config=config,
            workers=workers or 2,
            progress=progress,
            max_score=max_score,
        )
        print_label_summary(summary)
