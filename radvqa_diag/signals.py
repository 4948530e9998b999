"""Where a saliency map falls on the image, and how much the methods agree.

Region masks come from the image alone (no segmentation model):
- ``body``: Otsu threshold on grey levels, largest connected component, holes filled: the patient.
- ``markers``: burned-in text, arrows and side markers: small bright connected components that lie
  outside the body, plus small near-saturated components anywhere (annotations drawn on anatomy).
- ``border``: a frame of 5 % of the shorter side.
All shares are fractions of the map's total relevance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: long side of the grid on which signals are computed (maps and masks are resized to it)
WORK_SIZE = 128
#: a bright component smaller than this fraction of the image can be a marker / text
MARKER_MAX_AREA = 0.015
BORDER_FRACTION = 0.05
#: top fraction of pixels compared by the top-k IoU agreement
TOPK_FRACTION = 0.1


@dataclass
class RegionMasks:
    """Boolean masks on the work grid."""

    body: np.ndarray
    markers: np.ndarray
    border: np.ndarray


def work_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the work grid for an image, long side `WORK_SIZE`."""
    scale = WORK_SIZE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def otsu_threshold(gray: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (256 bins)."""
    hist, edges = np.histogram(gray, bins=256, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mu0 = m0 / np.maximum(w0, 1e-12)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1e-12)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(centers[int(np.argmax(between))])


def region_masks(image) -> RegionMasks:
    """Body / marker / border masks of a PIL image on its work grid."""
    from scipy import ndimage

    size = work_size(*image.size)
    gray = np.asarray(image.convert("L").resize(size), dtype=np.float32) / 255.0
    h, w = gray.shape
    fg = gray > otsu_threshold(gray)
    labels, n = ndimage.label(fg)
    body = np.zeros_like(fg)
    if n:
        areas = np.bincount(labels.ravel())[1:]
        body = labels == (1 + int(np.argmax(areas)))
        body = ndimage.binary_fill_holes(ndimage.binary_closing(body, iterations=2))
    max_area = MARKER_MAX_AREA * h * w
    markers = np.zeros_like(fg)
    bright_labels, nb = ndimage.label(gray >= max(otsu_threshold(gray), 0.6))
    if nb:
        areas = np.bincount(bright_labels.ravel())
        inside = np.bincount(bright_labels.ravel(), weights=body.ravel().astype(float))
        peak = ndimage.maximum(gray, bright_labels, index=np.arange(nb + 1))
        for i in range(1, nb + 1):
            small = areas[i] <= max_area
            outside = inside[i] < 0.5 * areas[i]
            if small and (outside or peak[i] >= 0.98):
                markers |= bright_labels == i
        markers = ndimage.binary_dilation(markers, iterations=1)
    k = max(1, round(BORDER_FRACTION * min(h, w)))
    border = np.zeros_like(fg)
    border[:k, :] = border[-k:, :] = border[:, :k] = border[:, -k:] = True
    return RegionMasks(body=body & ~markers, markers=markers, border=border)


def shares(m01: np.ndarray, masks: RegionMasks) -> dict[str, float]:
    """Fractions of relevance on body, markers, border, and the rest of the background."""
    total = float(m01.sum())
    if total <= 0:
        return {"body": float("nan"), "markers": float("nan"), "border": float("nan"), "background": float("nan")}
    body = float(m01[masks.body].sum()) / total
    markers = float(m01[masks.markers].sum()) / total
    return {
        "body": body,
        "markers": markers,
        "border": float(m01[masks.border].sum()) / total,
        "background": max(0.0, 1.0 - body - markers),
    }


def entropy(m01: np.ndarray) -> float:
    """Normalized Shannon entropy of the map as a distribution: 1 = spread evenly, 0 = one pixel."""
    p = np.asarray(m01, dtype=np.float64).ravel()
    total = p.sum()
    if total <= 0 or p.size < 2:
        return float("nan")
    p = p[p > 0] / total
    return float(-(p * np.log(p)).sum() / np.log(m01.size))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps of one shape (NaN when one is constant)."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def topk_iou(a: np.ndarray, b: np.ndarray, fraction: float = TOPK_FRACTION) -> float:
    """IoU of the top `fraction` pixels of two maps."""
    a, b = np.ravel(a), np.ravel(b)
    k = max(1, int(round(fraction * a.size)))
    ta = set(np.argpartition(-a, k - 1)[:k].tolist())
    tb = set(np.argpartition(-b, k - 1)[:k].tolist())
    return len(ta & tb) / len(ta | tb)


def agreement(maps01: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean pairwise Spearman and top-k IoU between methods, and each pair's Spearman."""
    names = sorted(maps01)
    out: dict[str, float] = {}
    rhos, ious = [], []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rho = spearman(maps01[a], maps01[b])
            out[f"rho_{a}_vs_{b}"] = rho
            rhos.append(rho)
            ious.append(topk_iou(maps01[a], maps01[b]))
    finite = [r for r in rhos if np.isfinite(r)]
    out["agreement_spearman"] = float(np.mean(finite)) if finite else float("nan")
    out["agreement_topk_iou"] = float(np.mean(ious)) if ious else float("nan")
    return out
