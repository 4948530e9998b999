"""Report figures (matplotlib, Agg): accuracy per group with Wilson intervals, flag counts,
gallery images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from radvqa_data.core.atomic import atomic_path
from radvqa_diag import maps as mapsmod
from radvqa_diag.saliency import METHODS

#: gallery images are at most this many pixels on the long side (keeps the folder small)
THUMB = 192


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def accuracy_chart(
    groups: pl.DataFrame, dimension: str, path: Path, max_bars: int = 15
) -> Path | None:
    """Horizontal bars of accuracy per value of `dimension`, with 95 % Wilson intervals and
    counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = groups.filter(pl.col("dimension") == dimension).sort("accuracy").head(max_bars)
    if g.height == 0:
        return None
    acc = g["accuracy"].to_numpy()
    lo, hi = g["ci_low"].to_numpy(), g["ci_high"].to_numpy()
    fig, ax = plt.subplots(figsize=(6, 0.35 * g.height + 1.0))
    y = np.arange(g.height)
    ax.barh(
        y,
        acc,
        color="#4c72b0",
        xerr=[np.clip(acc - lo, 0, None), np.clip(hi - acc, 0, None)],
        capsize=3,
        ecolor="#333",
    )
    ax.set_yticks(y, [f"{v} (n={n})" for v, n in zip(g["value"], g["n"], strict=True)], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy (95% Wilson interval)")
    ax.set_title(f"accuracy by {dimension.replace('_', ' ')}", fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)
    return path


def flags_chart(counts: dict[str, int], path: Path) -> Path:
    """Bar chart of how many examples carry each flag."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.4))
    names = list(counts)
    ax.barh(np.arange(len(names)), [counts[n] for n in names], color="#c44e52")
    ax.set_yticks(np.arange(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
    ax.set_xlabel("examples flagged")
    fig.tight_layout()
    _savefig(fig, path)
    return path


def gallery_images(image, npz_path: Path, out_dir: Path, primary: str) -> dict[str, str]:
    """Write image / map / overlays for one example; returns {kind: file name relative to
    out_dir}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scale = THUMB / max(image.size)
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    thumb = image.resize(size)
    data = np.load(npz_path)
    files = {"image": "image.png", "map": "map.png"}
    mapsmod.save_png(thumb, out_dir / "image.png")
    primary_map = mapsmod.upsample(data[f"map_{primary}"].astype(np.float32), size)
    mapsmod.save_png(mapsmod.colorize(mapsmod.normalize(primary_map)), out_dir / "map.png")
    for m in METHODS:
        m01 = mapsmod.normalize(mapsmod.upsample(data[f"map_{m}"].astype(np.float32), size))
        mapsmod.save_png(mapsmod.overlay(thumb, m01), out_dir / f"overlay_{m}.png")
        files[f"overlay_{m}"] = f"overlay_{m}.png"
    return files
