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


def read_exclude_list(path: Path) -> list[str]:
    """The entries of an --exclude file (one per line; blank lines and '#' comments skipped),
    sorted and unique (the saved config compares them)."""
    from radvqa_data.core.errors import InputError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot read the --exclude list ({exc.__class__.__name__}); "
            "expected a UTF-8 text file, one picture per line"
        ) from None
    entries = {line.split("#", 1)[0].strip() for line in text.splitlines()}
    return sorted(e for e in entries if e)


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
        help="Flag a label only below this probability of it, in every field (default: "
        "modality 0.3, plane 0.12; higher: more flags, more found).",
    ),
    train_split: Optional[list[str]] = typer.Option(  # noqa: UP045
        None,
        "--train-split",
        help="Train only on pictures of this split (repeatable: train, validation, test; a "
        "source without splits counts as train). The others are still predicted and checked.",
    ),
    exclude: Optional[Path] = typer.Option(  # noqa: UP045
        None,
        "--exclude",
        help="File of pictures never to train on, one per line: image id, source/image_id or "
        "sha256 ('#' starts a comment). They are still predicted and checked.",
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
        if epochs is not None or folds is not None or train_split or exclude is not None:
            config = LabelModelConfig()
            config.epochs = epochs or config.epochs
            config.folds = folds or config.folds
            config.train_splits = sorted(set(train_split or []))
            config.exclude = read_exclude_list(exclude) if exclude is not None else []
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
