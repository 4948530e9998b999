"""`radvqa-data label-issues`: pictures -> label model (cross-fitted) -> cleanlab + text ->
`label_issues`, and the HTML report.

See `store` for what "incremental" means here, `crossfit` for the model folder, `issues` for
how the pixel and the text evidence combine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radvqa_data.core import atomic
from radvqa_data.core.db import connect
from radvqa_data.core.paths import assets_dir
from radvqa_data.core.progress import progress_bar
from radvqa_data.labels import store, tasks
from radvqa_data.labels.model import LabelModelConfig, load_config

#: The model folder beside a catalog, unless --model-dir says otherwise.
MODEL_DIR_NAME = "label-model"


@dataclass
class LabelSummary:
    """What one `label-issues` run did and measured."""

    model_dir: str
    trained: bool = False  # this run (re)trained the model
    pictures: int = 0  # readable pictures in the catalog
    training_pictures: int = 0  # pictures the saved model learned from
    kept_out: int = 0  # trainable pictures the training subset left out (predicted, checked)
    exclude_unmatched: list[str] = field(default_factory=list)  # --exclude entries matching none
    predicted: int = 0  # pictures predicted in this run (the rest: kept from earlier runs)
    unreadable: dict[str, str] = field(default_factory=dict)  # "source/image_id" -> why
    accuracy: dict[str, float] = field(default_factory=dict)  # out-of-fold, per field
    unlearned: dict[str, dict] = field(default_factory=dict)  # field -> {rare value: pictures}
    checked_images: int = 0  # training-source pictures with a checkable label
    issues_by_field: dict[str, int] = field(default_factory=dict)
    issues_by_method: dict[str, int] = field(default_factory=dict)
    flagged_images: int = 0
    report: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per phase


def default_model_dir(catalog: Path) -> Path:
    """`<catalog>.assets/label-model/`."""
    return assets_dir(Path(catalog)) / MODEL_DIR_NAME


def run_label_issues(
    catalog: str | Path,
    *,
    report: Path | None = None,
    model_dir: Path | None = None,
    retrain: bool = False,
    config: LabelModelConfig | None = None,
    workers: int = 2,
    progress: bool = True,
    max_score: float | None = None,
) -> LabelSummary:
    """Train (or reuse) the label model, predict what is new, find and store the label issues.

    `max_score`: flag a label only below this probability of it, in every field (default:
    the per-field `issues.PIXEL_SCORE_CUTOFF`). `config.train_splits` / `config.exclude` choose the
    pictures the model trains on (e.g. keep benchmark pictures out of a reusable encoder)."""
    from radvqa_data.labels.crossfit import saved_model_ok
    from radvqa_data.labels.findings import find_issues

    catalog = Path(catalog)
    if config is not None:
        _check_subset(config)
    model_dir = Path(model_dir) if model_dir else default_model_dir(catalog)
    summary = LabelSummary(str(model_dir))
    clock = time.perf_counter()
    with connect(catalog) as con:
        store.ensure_label_tables(con)
        pics = tasks.pictures(con)
        summary.pictures = len(pics)
        if not retrain and config is not None and saved_model_ok(model_dir):
            _check_same(config, load_config(model_dir), model_dir)
        if retrain or not saved_model_ok(model_dir):
            _train(con, pics, model_dir, config or LabelModelConfig(), workers, progress, summary)
        else:
            _predict_new(con, pics, model_dir, workers, progress, summary)
        summary.seconds["model"] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()
        mid = store.model_id(model_dir)
        issues = find_issues(con, pics, mid, summary, max_score)
        store.write_issues(con, issues)
        summary.seconds["issues"] = round(time.perf_counter() - clock, 1)
    metrics = atomic_metrics(model_dir)
    summary.accuracy = metrics.get("accuracy", {})
    summary.unlearned = metrics.get("unlearned", {})
    summary.training_pictures = metrics.get("training_pictures", 0)
    summary.kept_out = metrics.get("kept_out", summary.kept_out)
    if report is not None:
        from radvqa_data.labels.report import write_report

        summary.report = str(write_report(report, issues, summary, pics))
    return summary


def atomic_metrics(model_dir: Path) -> dict:
    """The saved model's `metrics.json` (empty when absent)."""
    import json

    path = model_dir / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _decode(pics: list[tasks.Picture], size: int, workers: int, progress: bool, summary):
    from radvqa_data.labels.pixels import decode_all

    with progress_bar("label-issues: decode", len(pics), "images", progress) as advance:
        x, failed = decode_all([p.image_path for p in pics], size, workers=workers, advance=advance)
    for i, why in failed.items():
        summary.unreadable[f"{pics[i].source}/{pics[i].image_id}"] = why
    return x, failed


def con_path(con) -> str:
    """The catalog file a connection has open (for messages)."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    )
    return str(rows.fetchall()[0][0])


def _train(con, pics, model_dir: Path, config, workers, progress, summary) -> None:
    """Decode every picture, cross-fit, save the model, store every picture's prediction."""
    from radvqa_data.labels.crossfit import FULL, cross_fit, ensemble_predict

    t0 = time.perf_counter()
    x, failed = _decode(pics, config.image_size, workers, progress, summary)
    summary.seconds["decode"] = round(time.perf_counter() - t0, 1)
    config.classes = tasks.task_classes(pics, config.min_class_images)
    y = {t: np.array(v, dtype=np.int64) for t, v in tasks.targets(pics, config.classes).items()}
    subset, summary.exclude_unmatched = tasks.in_training_subset(
        pics, config.train_splits, config.exclude
    )
    mask = np.array([p.train and i not in failed and subset[i] for i, p in enumerate(pics)])
    summary.kept_out = sum(1 for i, p in enumerate(pics) if p.train and not subset[i])
    for t in y:
        y[t][~mask] = -1
    if not config.classes or mask.sum() < 10 * config.folds:
        from radvqa_data.core.errors import InputError

        raise InputError(
            f"{con_path(con)}: {int(mask.sum())} readable training pictures with metadata labels "
            f"(classes {config.classes or 'none'}); label-issues needs at least "
            f"{10 * config.folds}, with two values of one field that 15 pictures each carry"
        )
    for old in model_dir.glob("*.safetensors"):  # a retrain replaces every saved model
        old.unlink()
    t0 = time.perf_counter()
    total = config.epochs * (config.folds + 1)
    with progress_bar("label-issues: train", total, "epochs", progress) as advance:
        fit = cross_fit(
            x, y, mask, [p.group for p in pics], config, model_dir, workers=workers, tick=advance
        )
    summary.seconds["train"] = round(time.perf_counter() - t0, 1)
    summary.trained = True
    store.write_training(model_dir, [p.key for p in pics], fit.folds)
    atomic.write_json(
        model_dir / "metrics.json",
        {
            "accuracy": fit.accuracy,
            "labelled": fit.labelled,
            "training_pictures": int(mask.sum()),
            "kept_out": summary.kept_out,
            "unlearned": tasks.unlearned_values(pics, config.classes),
            "encoder": f"{FULL}.safetensors",
            "seconds": summary.seconds,
        },
    )
    others = np.flatnonzero(~mask)
    probs = fit.probs
    if len(others):  # benchmark pictures, and training-source ones no fold held out
        extra = ensemble_predict(model_dir, x[others])
        for t in probs:
            probs[t][others] = extra[t]
    keep = [i for i in range(len(pics)) if i not in failed]
    rows = [(*pics[i].key, pics[i].sha256, "oof" if mask[i] else "ensemble") for i in keep]
    store.write_predictions(
        con, rows, {t: p[keep] for t, p in probs.items()}, config.classes, store.model_id(model_dir)
    )
    summary.predicted = len(keep)


def _predict_new(con, pics, model_dir: Path, workers, progress, summary) -> None:
    """Predict the pictures the saved model has not predicted (see `store`)."""
    from radvqa_data.labels.crossfit import ensemble_predict
    from radvqa_data.labels.model import load_model
    from radvqa_data.labels.train import predict

    config = load_config(model_dir)
    mid = store.model_id(model_dir)
    done = store.predicted_keys(con, mid)
    todo = [p for p in pics if p.key not in done or done[p.key] != p.sha256]
    if not todo:
        return
    x, failed = _decode(todo, config.image_size, workers, progress, summary)
    ok = [i for i in range(len(todo)) if i not in failed]
    fold_of = store.read_training(model_dir)
    probs = {t: np.zeros((len(todo), len(c))) for t, c in config.classes.items()}
    how = ["ensemble"] * len(todo)
    seen = [i for i in ok if todo[i].key in fold_of]
    for k in sorted({fold_of[todo[i].key] for i in seen}):
        idx = [i for i in seen if fold_of[todo[i].key] == k]
        p = predict(load_model(model_dir, f"fold-{k}"), x[idx])
        for t in probs:
            probs[t][idx] = p[t]
        for i in idx:
            how[i] = "oof"
    rest = [i for i in ok if todo[i].key not in fold_of]
    if rest:
        p = ensemble_predict(model_dir, x[rest])
        for t in probs:
            probs[t][rest] = p[t]
    rows = [(*todo[i].key, todo[i].sha256, how[i]) for i in ok]
    store.write_predictions(con, rows, {t: p[ok] for t, p in probs.items()}, config.classes, mid)
    summary.predicted = len(ok)


def _check_subset(config: LabelModelConfig) -> None:
    """An unknown split name is a user error, not a silently empty training set."""
    from radvqa_data.core.errors import ConfigError

    bad = [s for s in config.train_splits if s not in tasks.SPLITS]
    if bad:
        raise ConfigError(
            f"train split {', '.join(map(repr, bad))}: expected one of {', '.join(tasks.SPLITS)}"
        )


def _check_same(wanted: LabelModelConfig, saved: LabelModelConfig, model_dir: Path) -> None:
    """A config asked for that the saved model was not trained with is an error, not ignored."""
    from radvqa_data.core.errors import ConfigError

    a, b = wanted.to_json(), saved.to_json()
    diff = [k for k in a if k != "classes" and a[k] != b.get(k)]
    if diff:
        shown = ", ".join(f"{k}={b.get(k)}" for k in diff)
        raise ConfigError(
            f"{model_dir}: the saved label model was trained with {shown}; "
            "add --retrain to train it again with the new settings"
        )


def print_label_summary(summary: LabelSummary) -> None:
    """Print what the run did (stdout: the command's result)."""
    import typer

    acc = ", ".join(f"{t} {a:.1%}" for t, a in summary.accuracy.items())
    share = summary.flagged_images / summary.checked_images if summary.checked_images else 0.0
    lines = [
        f"label model: {summary.model_dir} ({'trained now' if summary.trained else 'reused'}; "
        f"{summary.training_pictures} training pictures"
        + (f", {summary.kept_out} kept out of training" if summary.kept_out else "")
        + ")",
        f"cross-validated accuracy: {acc or 'n/a'}",
        f"pictures: {summary.pictures}; predicted in this run: {summary.predicted}; "
        f"unreadable: {len(summary.unreadable)}",
        f"label issues: {sum(summary.issues_by_field.values())} on {summary.flagged_images} "
        f"image(s), {share:.1%} of {summary.checked_images} checked; by field "
        f"{summary.issues_by_field}; by method {summary.issues_by_method}",
    ]
    if summary.exclude_unmatched:
        shown = ", ".join(summary.exclude_unmatched[:5])
        lines.append(
            f"--exclude entries matching no picture: {len(summary.exclude_unmatched)} "
            f"({shown}{', ...' if len(summary.exclude_unmatched) > 5 else ''})"
        )
    if summary.unlearned:
        lines.append(f"too rare to learn (not checked): {summary.unlearned}")
    lines.append(f"seconds: {summary.seconds}")
    if summary.report:
        lines.append(f"report: {summary.report}")
    typer.echo("\n".join(lines))
