"""Pixel-level verification that two image files show the same picture.

The perceptual hash only proposes candidates; this module decides. Both images are reduced to
grayscale thumbnails (longest side `size`), then:

1. ``ncc-aligned``: whole frames resized to one grid and compared by normalized
   cross-correlation (NCC). Catches resized / re-encoded copies (JPEG vs PNG, other resolution).
2. ``ncc-crop-search``: the central part of one image is used as a template and searched, over a
   range of scales and every offset, inside the other (FFT correlation, normalized per window),
   in both directions. Catches crops, added borders and letterboxing.

NCC is invariant to brightness/contrast changes (window/level), so a re-windowed copy still
scores near 1, while two different axial brain MRIs (similar layout, different anatomy) score
well below the thresholds; docs/audit.md explains how the thresholds were calibrated on real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PixelConfig:
    """Verification knobs (calibrated on VQA-RAD vs MedPix 2.0, see docs/audit.md)."""

    size: int = 96  # coarse thumbnail longest side (locating crops); higher: slower
    hi_size: int = 256  # decision thumbnail longest side; higher: stricter, slower
    same_threshold: float = 0.90  # high-pass NCC that means "same picture" (calibrated)
    coarse_min: float = 0.75  # coarse NCC below which a crop location is not refined
    crop_fraction: float = 0.8  # template = central part of the image (drops borders, labels)
    min_scale: float = 0.45  # smallest relative scale searched (a 45% crop of the other image)
    n_scales: int = 14  # scales between 1.04 and min_scale (geometric)


@dataclass(frozen=True)
class Verdict:
    """Outcome of comparing two images."""

    same: bool
    method: str
    score: float
    detail: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1024)
def thumbnail(path: str, size: int) -> np.ndarray | None:
    """Grayscale float thumbnail (longest side `size`), or None when the file cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.draft("L", (size * 2, size * 2))  # JPEG: decode at reduced scale, much faster
            g = im.convert("L")
            w, h = g.size
            s = size / max(w, h)
            g = g.resize((max(8, round(w * s)), max(8, round(h * s))), Image.BILINEAR)
            return np.asarray(g, dtype=np.float32)
    except Exception:  # a corrupt or unreadable file is "not verifiable", never a crash
        return None


def _zn(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    n = np.linalg.norm(a)
    return a / n if n > 1e-9 else a


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR), dtype=np.float64)


def _ncc_map(search: np.ndarray, t: np.ndarray) -> np.ndarray:
    """NCC of zero-mean template `t` at every valid offset of `search` (FFT correlation,
    normalized per window with integral images). Flat windows get -1."""
    H, W = search.shape
    th, tw = t.shape
    tn = np.linalg.norm(t)
    S1 = np.zeros((H + 1, W + 1))
    S2 = np.zeros((H + 1, W + 1))
    S1[1:, 1:] = search.cumsum(0).cumsum(1)
    S2[1:, 1:] = (search**2).cumsum(0).cumsum(1)
    T = np.zeros((H, W))
    T[:th, :tw] = t
    corr = np.fft.irfft2(np.fft.rfft2(search) * np.conj(np.fft.rfft2(T)), s=(H, W))[: H - th + 1, : W - tw + 1]
    n = th * tw
    s1 = S1[th:, tw:] - S1[:-th, tw:] - S1[th:, :-tw] + S1[:-th, :-tw]
    s2 = S2[th:, tw:] - S2[:-th, tw:] - S2[th:, :-tw] + S2[:-th, :-tw]
    var = s2 - s1 * s1 / n
    floor = n * 1e-4 * max(float(search.var()), 1e-9)  # windows with (almost) no texture cannot match
    return np.where(var > floor, corr / (tn * np.sqrt(np.maximum(var, 1e-12)) + 1e-12), -1.0)


def _central(a: np.ndarray, fraction: float) -> np.ndarray:
    h, w = a.shape
    m = (1 - fraction) / 2
    return a[round(h * m) : round(h * (1 - m)), round(w * m) : round(w * (1 - m))]


def best_crop_match(tmpl_src: np.ndarray, search: np.ndarray, cfg: PixelConfig) -> tuple[float, dict[str, Any]]:
    """Coarse step: best NCC of `tmpl_src`'s central part anywhere in `search`, over scales.

    Only a locator: at thumbnail resolution different scans of similar anatomy also score high,
    so the location found here is re-checked by `refine` at higher resolution.
    """
    H, W = search.shape
    crop = _central(tmpl_src, cfg.crop_fraction)
    ch, cw = crop.shape
    best, info = -1.0, {}
    for sc in np.geomspace(1.04, cfg.min_scale, cfg.n_scales):
        th, tw = max(6, round(ch * sc)), max(6, round(cw * sc))
        if th > H or tw > W:
            continue
        t = _resize(crop, tw, th)
        t = t - t.mean()
        if np.linalg.norm(t) < 1e-6:
            continue
        ncc = _ncc_map(search, t)
        k = int(ncc.argmax())
        if ncc.flat[k] > best:
            best = float(ncc.flat[k])
            y, x = divmod(k, ncc.shape[1])
            info = {"scale": round(float(sc), 3), "x": x / W, "y": y / H, "w": tw / W, "h": th / H}
    return best, info


def highpass(a: np.ndarray, k: int = 5) -> np.ndarray:
    """Image minus its k x k box blur: keeps the fine structure that differs between two slices."""
    from scipy.ndimage import uniform_filter

    return a - uniform_filter(a, k, mode="nearest")


def aligned_hp(a: np.ndarray, b: np.ndarray, grid: int = 128) -> float:
    """High-pass NCC of the two whole frames on one grid x grid raster."""
    return float((_zn(highpass(_resize(a, grid, grid))) * _zn(highpass(_resize(b, grid, grid)))).sum())


def refine(tmpl_src: np.ndarray, search: np.ndarray, info: dict[str, Any], cfg: PixelConfig) -> float:
    """Fine step at high resolution around a coarse location: high-pass NCC of the template's
    inner part over small shifts (+-3% of the frame) and scales (+-5% in 1% steps).

    The inner part (central 75% of the coarse template) keeps scale errors from misaligning the
    template's edges, which a high-pass comparison would punish. Same picture: > 0.95; a
    neighbouring slice or another patient: well below (calibration in docs/audit.md).
    """
    H, W = search.shape
    inner = 0.75
    crop = _central(_central(tmpl_src, cfg.crop_fraction), inner)
    # the inner part's box in the search image, from the coarse box of the whole template
    bx, by = info["x"] + info["w"] * (1 - inner) / 2, info["y"] + info["h"] * (1 - inner) / 2
    bw, bh = info["w"] * inner, info["h"] * inner
    hs = highpass(search)
    best = -1.0
    r = max(3, round(0.03 * max(H, W)))
    for f in np.linspace(0.95, 1.05, 11):
        th, tw = round(bh * H * f), round(bw * W * f)
        if th < 8 or tw < 8 or th > H or tw > W:
            continue
        t = highpass(_resize(crop, tw, th))
        t = t - t.mean()
        if np.linalg.norm(t) < 1e-6:
            continue
        cy, cx = round((by + bh * (1 - f) / 2) * H), round((bx + bw * (1 - f) / 2) * W)
        y0, x0 = max(0, cy - r), max(0, cx - r)
        y1, x1 = min(H, cy + th + r), min(W, cx + tw + r)
        region = hs[y0:y1, x0:x1]
        if region.shape[0] < th or region.shape[1] < tw:
            continue
        best = max(best, float(_ncc_map(region, t).max()))
    return best


def compare(a: np.ndarray, b: np.ndarray, cfg: PixelConfig | None = None,
            a_hi: np.ndarray | None = None, b_hi: np.ndarray | None = None) -> Verdict:
    """Decide whether two images are the same picture; method and score are reported.

    `a`, `b`: thumbnails at `cfg.size` (coarse search); `a_hi`, `b_hi`: at `cfg.hi_size`
    (the decision). Without the high-resolution ones the coarse ones are used for both.
    """
    cfg = cfg or PixelConfig()
    a_hi = a if a_hi is None else a_hi
    b_hi = b if b_hi is None else b_hi
    al = aligned_hp(a_hi, b_hi)
    if al >= cfg.same_threshold:
        return Verdict(True, "ncc-aligned", al)
    best, det = al, {"method": "ncc-aligned"}
    for tsrc, srch, tsrc_hi, srch_hi, name in ((a, b, a_hi, b_hi, "a"), (b, a, b_hi, a_hi, "b")):
        coarse, info = best_crop_match(tsrc, srch, cfg)
        if coarse < cfg.coarse_min or not info:
            continue
        fine = refine(tsrc_hi, srch_hi, info, cfg)
        if fine > best:
            best = fine
            det = {"method": "ncc-crop-search", "template": name, "coarse": round(coarse, 3), "scale": info["scale"],
                   "x": round(info["x"], 3), "y": round(info["y"], 3)}
    method = det.pop("method")
    det["aligned"] = round(al, 4)
    return Verdict(best >= cfg.same_threshold, method, best, det)


def compare_files(path_a: str, path_b: str, cfg: PixelConfig | None = None) -> Verdict:
    """`compare` on two image files; an unreadable file gives a negative verdict, method 'unreadable'."""
    cfg = cfg or PixelConfig()
    a, b = thumbnail(path_a, cfg.size), thumbnail(path_b, cfg.size)
    if a is None or b is None:
        return Verdict(False, "unreadable", 0.0)
    return compare(a, b, cfg, thumbnail(path_a, cfg.hi_size), thumbnail(path_b, cfg.hi_size))
