"""Where a saliency map falls on the image, and how much the methods agree.

Region masks come from the image alone (no segmentation model):
- ``body``: grey level above half the Otsu threshold, the large connected components, closed
  and holes filled: the patient.
- ``markers``: burned-in text, side markers and rulers: small visible connected components off the
  body and not touching it. Annotations drawn *on* the anatomy (arrows) are not detected: bright
  flat blobs inside the body are as often bone or contrast as they are arrows.
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
    otsu = otsu_threshold(gray)
    # Body: anything clearly above the (dark) background, not only the brightest class: Otsu
    # alone keeps the bright skin/fat ring of a head MR and drops the brain inside it.
    fg = ndimage.binary_opening(gray > max(0.04, 0.5 * otsu), iterations=1)
    labels, n = ndimage.label(fg)
    body = np.zeros_like(fg)
    if n:
        areas = np.bincount(labels.ravel())[1:]
        big = np.flatnonzero(areas >= 0.25 * areas.max()) + 1  # two legs, two hands: keep both
        body = np.isin(labels, big)
        body = ndimage.binary_fill_holes(ndimage.binary_closing(body, iterations=3))
    max_area = MARKER_MAX_AREA * h * w
    markers = np.zeros_like(fg)
    # small visible blobs off the body and not touching it: text, side markers, rulers (any
    # brightness above background). Slivers along the body's edge touch it and are left out.
    off_labels, n_off = ndimage.label(fg & ~body)
    if n_off:
        areas = np.bincount(off_labels.ravel(), minlength=n_off + 1)
        near = ndimage.binary_dilation(body, iterations=2)
        touching = (
            np.bincount(off_labels.ravel(), weights=near.ravel().astype(float), minlength=n_off + 1)
            > 0
        )
        keep = (areas <= max_area) & ~touching
        keep[0] = False  # label 0 is "not foreground"
        markers |= keep[off_labels]
    markers = ndimage.binary_dilation(markers, iterations=1)
    k = max(1, round(BORDER_FRACTION * min(h, w)))
    border = np.zeros_like(fg)
    border[:k, :] = border[-k:, :] = border[:, :k] = border[:, -k:] = True
    return RegionMasks(body=body & ~markers, markers=markers, border=border)


def shares(m01: np.ndarray, masks: RegionMasks) -> dict[str, float]:
    """Fractions of relevance on body, markers, border, and the rest of the background."""
    total = float(m01.sum())
    if total <= 0:
        return {
            "body": float("nan"),
            "markers": float("nan"),
            "border": float("nan"),
            "background": float("nan"),
        }
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


def topk_iou(a: np.ndarray, b: np.ndarray, fraction: float = TOPK_FRACTION) -> float:
    """IoU of the top `fraction` pixels of two maps."""
    a, b = np.ravel(a), np.ravel(b)
    k = max(1, int(round(fraction * a.size)))
    ta = set(np.argpartition(-a, k - 1)[:k].tolist())
    tb = set(np.argpartition(-b, k - 1)[:k].tolist())
    return len(ta & tb) / len(ta | tb)


def agreement(maps01: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean pairwise Spearman and top-k IoU between methods, and each pair's Spearman."""
    from scipy.stats import rankdata

    names = sorted(maps01)
    ranks = {n: rankdata(np.ravel(maps01[n])) for n in names}  # rank each map once, not per pair
    out: dict[str, float] = {}
    rhos, ious = [], []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = ranks[a], ranks[b]
            rho = (
                float(np.corrcoef(ra, rb)[0, 1])
                if np.ptp(ra) > 0 and np.ptp(rb) > 0
                else float("nan")
            )
            out[f"rho_{a}_vs_{b}"] = rho
            rhos.append(rho)
            ious.append(topk_iou(maps01[a], maps01[b]))
    finite = [r for r in rhos if np.isfinite(r)]
    out["agreement_spearman"] = float(np.mean(finite)) if finite else float("nan")
    out["agreement_topk_iou"] = float(np.mean(ious)) if ious else float("nan")
    return out
