"""Cross-fitting over the catalog's pictures: fold models, out-of-fold probabilities, saved
weights, cross-validated accuracy; and the fold ensemble for pictures no fold trained on.

The model folder (`<catalog>.assets/label-model/` by default) holds `fold-0..K-1.safetensors`
(the ensemble), `full.safetensors` (trained on every training picture: the encoder to reuse)
and `config.json` (the `LabelModelConfig`, classes included). docs/label-issues.md describes
the format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radvqa_data.labels.model import LabelModelConfig, build_model, load_config, save_model
from radvqa_data.labels.train import Job, assign_folds, predict, run_jobs

#: The saved model everyone else reuses (issue 22's encoder).
FULL = "full"


@dataclass
class CrossFit:
    """Out-of-fold probabilities of the training pictures, and what the fit measured."""

    probs: dict[str, np.ndarray]  # task -> [N, C] (rows of non-training pictures: NaN)
    folds: np.ndarray  # fold per picture (-1: not a training picture)
    accuracy: dict[str, float] = field(default_factory=dict)  # task -> out-of-fold accuracy
    labelled: dict[str, int] = field(default_factory=dict)  # task -> pictures with a label


def fold_names(k: int) -> list[str]:
    """The fold models' names."""
    return [f"fold-{i}" for i in range(k)]


def cross_fit(
    x: np.ndarray,
    y: dict[str, np.ndarray],
    train_mask: np.ndarray,
    groups: list[str],
    config: LabelModelConfig,
    model_dir: Path | None,
    *,
    workers: int = 2,
    full_model: bool = True,
    tick: Callable[[], None] = lambda: None,
) -> CrossFit:
    """Train K fold models (+ the full one), saved under `model_dir` when given."""
    import torch

    n = len(x)
    train_idx = np.flatnonzero(train_mask)
    folds = np.full(n, -1, dtype=np.int64)
    folds[train_idx] = assign_folds([groups[i] for i in train_idx], config.folds, config.seed)
    jobs = [
        Job(name, train_idx[folds[train_idx] != k], np.flatnonzero(folds == k), config.seed + k)
        for k, name in enumerate(fold_names(config.folds))
    ]
    if full_model:
        jobs.insert(0, Job(FULL, train_idx, None, config.seed + 1000))  # the longest job first
    results = run_jobs(jobs, config, x, y, workers=workers, tick=tick)
    probs = {t: np.full((n, len(c)), np.nan) for t, c in config.classes.items()}
    for job in jobs:
        state, held_out = results[job.name]
        if model_dir is not None:
            model = build_model(config)
            model.load_state_dict({key: torch.from_numpy(v) for key, v in state.items()})
            save_model(model, config, model_dir, job.name)
        if job.eval_idx is not None and held_out is not None:
            for t in probs:
                probs[t][job.eval_idx] = held_out[t]
    fit = CrossFit(probs, folds)
    for t, p in probs.items():
        labelled = (y[t] >= 0) & train_mask
        fit.labelled[t] = int(labelled.sum())
        if labelled.any():
            fit.accuracy[t] = float((p[labelled].argmax(1) == y[t][labelled]).mean())
    return fit


def ensemble_predict(model_dir: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """task -> mean probability of the saved fold models (pictures none of them trained on)."""
    from radvqa_data.labels.model import load_model

    config = load_config(model_dir)
    total: dict[str, np.ndarray] | None = None
    names = fold_names(config.folds)
    for name in names:
        p = predict(load_model(model_dir, name), x)
        total = p if total is None else {t: total[t] + p[t] for t in p}
    assert total is not None
    return {t: v / len(names) for t, v in total.items()}


def saved_model_ok(model_dir: Path) -> bool:
    """True when `model_dir` holds a config and every fold model it names."""
    if not (model_dir / "config.json").is_file():
        return False
    try:
        k = load_config(model_dir).folds
    except (ValueError, TypeError):  # a config.json of another version: retrain
        return False
    return all((model_dir / f"{n}.safetensors").is_file() for n in fold_names(k))
