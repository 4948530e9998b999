"""Map post-processing: normalize, upsample to the image, colour and overlay, save panels.

Maps are normalized by their maximum (after clipping the top 0.5 % so one hot pixel does not
wash out the rest) and upsampled bilinearly to the original image size, since every supported
family squashes the image onto its grid (PaliGemma and untiled Idefics3 resize to a square).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from radvqa_data.core.atomic import atomic_path

#: colormap for overlays (perceptually uniform; survives greyscale printing better than jet)
CMAP = "inferno"


def normalize(m: np.ndarray, clip_quantile: float = 0.995) -> np.ndarray:
    """Non-negative map scaled to [0, 1]; all-zero (or non-finite) maps stay zero."""
    m = np.nan_to_num(np.asarray(m, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    m = np.clip(m, 0.0, None)
    top = np.quantile(m, clip_quantile) if m.size > 16 else m.max()
    if top <= 0:
        top = m.max()
    if top <= 0:
        return np.zeros_like(m, dtype=np.float32)
    return np.clip(m / top, 0.0, 1.0).astype(np.float32)


def upsample(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D map to `size` = (width, height), values kept in the same range."""
    from PIL import Image

    img = Image.fromarray(np.asarray(m, dtype=np.float32), mode="F")
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def on_image(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Normalize then upsample to `size` = (width, height): the map as it lies on the image."""
    return normalize(upsample(normalize(m), size))


def colorize(m01: np.ndarray, cmap: str = CMAP) -> Any:
    """A [0, 1] map as an RGB PIL image."""
    from matplotlib import colormaps
    from PIL import Image

    rgba = colormaps[cmap](np.clip(m01, 0, 1))
    return Image.fromarray((rgba[..., :3] * 255).astype(np.uint8), mode="RGB")


def overlay(image: Any, m01: np.ndarray, alpha: float = 0.5, cmap: str = CMAP) -> Any:
    """Blend the coloured map onto the image; the map's weight grows with its value."""
    from PIL import Image

    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    heat = np.asarray(colorize(m01, cmap), dtype=np.float32)
    w = (alpha * np.clip(m01, 0, 1))[..., None]
    return Image.fromarray((base * (1 - w) + heat * w).astype(np.uint8), mode="RGB")


def save_png(img: Any, path: str | Path) -> Path:
    """Save a PIL image as PNG atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return path


def save_panel(
    image: Any, maps01: dict[str, np.ndarray], path: str | Path, title: str = ""
) -> Path:
    """One figure: the image, then one overlay per method (the `radvqa-diag saliency` output)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(maps01) + 1
    fig, axes = plt.subplots(1, n, figsize=(3 * n, 3.4), squeeze=False)
    axes[0][0].imshow(image.convert("RGB"))
    axes[0][0].set_title("image", fontsize=9)
    for ax, (name, m) in zip(axes[0][1:], maps01.items(), strict=True):
        ax.imshow(overlay(image, m))
        ax.set_title(name, fontsize=9)
    for ax in axes[0]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
