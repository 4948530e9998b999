"""Training the label model: one readable loop, K-fold cross-fitting, out-of-fold probabilities.

Cross-fitting: the training pictures are cut into `folds` groups by case (a case's pictures
are near-duplicates: they share a fold, or the held-out score would flatter the model); the
model of fold k trains on the other folds and predicts fold k. Every training picture thus gets
a probability from a model that never saw it, which is what confident learning needs. The fold
models are kept: their average predicts pictures none of them trained on (benchmark pictures,
and pictures added to the catalog later). One more model, trained on every picture, is saved as
the reusable encoder.

Parallelism: the jobs (folds + the full model) run in `workers` forked processes of one torch
thread each: a small CNN's kernels are too short to split well over threads, and the project's
measurements on this machine found two one-thread processes ahead of one two-thread process
(ENVIRONMENT.md). For this model the two are close: `bench/labels.py --threads` (two jobs, 800
pictures, 4 epochs, same run, idle machine) took 6.4 s in two one-thread processes and 6.7 s in
one two-thread process. The parent runs no torch op before the fork (a used OpenMP pool does not
survive it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from radvqa_data.labels.model import LabelModelConfig, build_model

#: Set in the parent before forking; the workers read it (no pickling of the pixel array).
_SHARED: dict[str, Any] = {}


@dataclass(frozen=True)
class Job:
    """Train on `train_idx` and predict `eval_idx` (None: the full model, nothing held out)."""

    name: str  # fold-0 .. fold-K-1, full
    train_idx: np.ndarray
    eval_idx: np.ndarray | None
    seed: int


def assign_folds(groups: list[str], k: int, seed: int) -> np.ndarray:
    """Fold per picture: whole groups (cases), shuffled, each to the fold with fewest pictures."""
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    order = list(sizes)
    rng.shuffle(order)
    order.sort(key=lambda g: -sizes[g])  # big cases first: balanced folds (stable sort)
    load = [0] * k
    fold_of: dict[str, int] = {}
    for g in order:
        f = min(range(k), key=lambda i: (load[i], i))
        fold_of[g] = f
        load[f] += sizes[g]
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def augment(x: Any, gen: Any) -> Any:
    """Random affine (rotation +-10 deg, scale +-12 %, shift +-8 %, left-right flip) and
    contrast/brightness jitter of a batch [B, 1, S, S] in [0, 1]. No up-down flip: it would
    turn a sagittal head upside down, a picture no source holds."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=gen)

    ang = u(-math.pi / 18, math.pi / 18)
    scale = u(0.88, 1.12)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, u(-0.08, 0.08)], 1),
            torch.stack([sin * flip, cos, u(-0.08, 0.08)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
    c, br = u(0.75, 1.25).view(b, 1, 1, 1), u(-0.1, 0.1).view(b, 1, 1, 1)
    return (x * c + br).clamp(0, 1)


#: Test-time zooms (besides the picture itself), each also mirrored: averaging six views made
#: the out-of-fold probabilities steadier (CV modality 0.918 -> 0.923 on MedPix 2.0, and fewer
#: unstable flags) for the cost of prediction only (docs/label-issues.md).
TTA_ZOOMS: tuple[float, ...] = (0.9, 1.1)


def _views(xb: Any) -> list[Any]:
    """The picture, zoomed out and in (`TTA_ZOOMS`), each with its mirror image."""
    import torch
    import torch.nn.functional as F

    out = []
    for zoom in (1.0, *TTA_ZOOMS):
        v = xb
        if zoom != 1.0:
            theta = torch.tensor([[1 / zoom, 0, 0], [0, 1 / zoom, 0]], dtype=torch.float32)
            grid = F.affine_grid(theta.expand(len(xb), 2, 3), list(xb.shape), align_corners=False)
            v = F.grid_sample(xb, grid, padding_mode="zeros", align_corners=False)
        out += [v, torch.flip(v, dims=[3])]
    return out


def predict(model: Any, x: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """task -> softmax probabilities [N, C], averaged over six views of each picture
    (`_views`)."""
    import torch

    model.eval()
    outs: dict[str, list[np.ndarray]] = {t: [] for t in model.heads}
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch]).float().unsqueeze(1) / 255
            views = [model(v) for v in _views(xb)]
            for t in outs:
                p = torch.stack([o[t].softmax(-1) for o in views]).mean(0)
                outs[t].append(p.numpy())
    return {t: np.concatenate(v) if v else np.zeros((0, 0)) for t, v in outs.items()}


def fit(job: Job, config: LabelModelConfig, x: np.ndarray, y: dict[str, np.ndarray], tick) -> Any:
    """Train one model on `job.train_idx` (one-cycle AdamW, summed per-task cross-entropy)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(job.seed)
    gen = torch.Generator().manual_seed(job.seed)
    rng = np.random.default_rng(job.seed)
    model = build_model(config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(job.train_idx) / config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=max(1, config.epochs * per_epoch)
    )
    xt = torch.from_numpy(x)
    yt = {t: torch.from_numpy(v) for t, v in y.items()}
    for _ in range(config.epochs):
        model.train()
        order = rng.permutation(job.train_idx)
        for i in range(0, len(order), config.batch_size):
            idx = torch.from_numpy(order[i : i + config.batch_size])
            if len(idx) < 2:  # batch norm needs two pictures
                continue
            out = model(augment(xt[idx].float().unsqueeze(1) / 255, gen))
            losses = [
                F.cross_entropy(out[t], yt[t][idx], ignore_index=-1)
                for t in out
                if bool((yt[t][idx] >= 0).any())  # all -1: cross_entropy would be NaN
            ]
            if losses:
                opt.zero_grad()
                sum(losses).backward()
                opt.step()
            sched.step()
        tick()
    return model.eval()


def _run_job(job: Job) -> tuple[str, dict, dict[str, np.ndarray] | None]:
    """Worker side: fit, predict the held-out fold, return (name, state dict, probabilities)."""
    import torch

    torch.set_num_threads(_SHARED["threads"])
    queue = _SHARED.get("queue")
    model = fit(
        job,
        _SHARED["config"],
        _SHARED["x"],
        _SHARED["y"],
        (lambda: queue.put(1)) if queue is not None else _SHARED.get("tick", lambda: None),
    )
    probs = predict(model, _SHARED["x"][job.eval_idx]) if job.eval_idx is not None else None
    # numpy, not tensors: torch's pickler would pass tensors through shared-memory files
    return job.name, {k: v.numpy().copy() for k, v in model.state_dict().items()}, probs


def _drain(q: Any, tick: Callable[[], None], timeout: float) -> None:
    """Pass every tick the workers queued on to the progress bar."""
    import queue as queue_mod

    try:
        while True:
            q.get(timeout=timeout) if timeout else q.get_nowait()
            tick()
    except queue_mod.Empty:
        pass


def run_jobs(
    jobs: list[Job],
    config: LabelModelConfig,
    x: np.ndarray,
    y: dict[str, np.ndarray],
    *,
    workers: int,
    tick: Callable[[], None],
) -> dict[str, tuple[dict, dict[str, np.ndarray] | None]]:
    """Run the jobs (in `workers` one-thread processes, or in this process with 2 threads)."""
    _SHARED.update(config=config, x=x, y=y)
    try:
        if workers <= 1:
            _SHARED.update(threads=2, tick=tick, queue=None)
            return {name: (sd, p) for name, sd, p in map(_run_job, jobs)}
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        q = ctx.Queue()  # the workers' epoch ticks, for the progress bar
        _SHARED.update(threads=1, queue=q)
        results: dict[str, tuple[dict, dict[str, np.ndarray] | None]] = {}
        with ctx.Pool(workers) as pool:
            it = pool.imap_unordered(_run_job, jobs)
            while len(results) < len(jobs):
                _drain(q, tick, timeout=0.2)
                try:
                    name, sd, p = it.next(timeout=0.05)
                except mp.TimeoutError:
                    continue
                results[name] = (sd, p)
        _drain(q, tick, timeout=0.0)
        return results
    finally:
        _SHARED.clear()
