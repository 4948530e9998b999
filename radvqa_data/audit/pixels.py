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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from radvqa_data.audit.align import MIN_KEPT


@dataclass(frozen=True)
class PixelConfig:
    """Verification knobs (calibrated on VQA-RAD vs MedPix 2.0, see docs/audit.md)."""

    size: int = 96  # coarse thumbnail longest side (locating crops); higher: slower
    hi_size: int = 256  # decision thumbnail longest side; higher: stricter, slower
    same_threshold: float = 0.925  # band-pass NCC that means "same picture" (calibrated)
    coarse_min: float = 0.6  # coarse NCC below which a crop location is not refined
    crop_fraction: float = 0.8  # template = central part of the image (drops borders, labels)
    min_scale: float = 0.45  # smallest relative scale searched (a 45% crop of the other image)
    n_scales: int = 12  # scales between 1.04 and min_scale (geometric)
    refine_spacing: float = 0.02  # scale spacing of the whole-pixel search before the polish
    tiles: int = 4  # the decision also takes a low quantile of NCCs over tiles x tiles (overlays)
    # half-resolution band-pass NCC below which a pair is rejected at once (bench, 11,709 pairs:
    # the 65 same pictures score >= 0.67 there; 0.5 -> 0.6 stops 1,644 more pairs before the
    # full-resolution sweep; see docs/audit.md)
    quick_min: float = 0.6
    # ... and the least `align.rest_ncc` there (the sweep's band-passed template and window at
    # its placement), over the pixels >= 3 px (6 at full size) from either side's strongest,
    # where enough remain: a look-alike that passes `quick_min` by its edges (a skull arc, a
    # body outline, a shared patch's border) stops here instead of after the full-resolution
    # sweep and the polish. Scale bench, 20,000 images: the 365 pairs found the same score
    # >= 0.440 (12 have too few such pixels); 401 of 472 sampled pairs that pass `quick_min`
    # score under 0.3 (docs/audit.md, "Seventh round" and "Eighth round"); None: no check
    quick_far_min: float | None = 0.3
    hint_recheck: float = 0.95  # coarse score from which a failed hinted pair gets the full search
    # ... and the hinted pass's own score from which it does: the full search costs ~3 hinted
    # passes and changed 1 decision in 1,930 rechecks of a 2,500-image bench run (first pass
    # 0.861) and none in 164 on the real MedPix 2.0 + VQA-RAD audit (docs/audit.md)
    recheck_min: float = 0.8
    # whole-pixel band-pass NCC at full resolution below which the sub-pixel polish is skipped
    # (the pair is another picture): the polish and the tiles lift a pair by far less than the
    # gap (bench, 11,709 pairs: the 65 same pictures score >= 0.717 before the polish, and the
    # polish lifts a pair by at most 0.34; docs/audit.md); None polishes every pair past `quick_min`
    polish_min: float | None = 0.6
    # ... and the least `align.rest_ncc` on the whole-pixel sweep's own arrays at its placement
    # (3 px from either side's strongest; -1, too few such pixels, passes): `quick_far_min`'s
    # test again at full resolution, before the polish. The closer look-alikes a larger
    # collection offers pass the half-resolution stops and cost a polish (~20 ms) each. Scale
    # bench: the pairs found the same score >= 0.496 there (370 at 20,000, >= 0.651 for 25 at
    # 2,500); of the sampled pairs that reached the polish and were not the same, 89 of 105 at
    # 20,000 and 45 of 46 at 2,500 score under 0.3 (docs/audit.md, "Ninth round"); None: no check
    pixel_far_min: float | None = 0.3
    # overlay masks: burnt-in text and rulers (`overlay_mask`) are left out of the decision's
    # comparison on both sides, so shared text cannot make a match nor one-sided text a miss
    masks: bool = True
    # the least NCC over the overlap's weaker pixels (`align.rest_ncc`: without either side's
    # strongest 15%) for a same-picture decision: a template that matches only by one edge or
    # by shared text scores near 0 there (bench: the 45 wrong matches of a 2,500-image run
    # <= 0.13), copies >= 0.58 and the real same pictures >= 0.69 (docs/audit.md)
    rest_min: float = 0.5
    # the least share of a crop match's overlap with texture on both sides (`align.
    # textured_share`): a mostly black or flat template matches by its one edge even over its
    # weaker pixels (the edge's band-pass tails). Scale bench, 20,000 images: 3 wrong matches
    # of one mostly black picture at 0.066-0.074; planted copies >= 0.144, the real same
    # pictures >= 0.551 (docs/audit.md)
    textured_min: float = 0.12
    # the most of its NCC a crop match may keep when slid 3 px (`align.Pair.slide`): a match
    # made by one straight edge or parallel lines keeps ~1 along them, a picture's detail does
    # not. Scale bench, 20,000 images: the 367 planted copies and right matches keep <= 0.868,
    # the real same pictures by crop search <= 0.372, the wrong matches of a vessel strip beside
    # black 0.96-1.00 (docs/audit.md, "Seventh round"); None: no check
    slide_max: float | None = 0.93
    # the least `align.Pair.far` (the weaker pixels >= 5 px from either side's strongest) of a
    # crop match, where enough such pixels remain: a bright curved band matched onto another
    # (a skull's arc) agrees only near it. Scale bench, 20,000 images: the planted copies and
    # right matches >= 0.57 (81 of 362 have too few such pixels), the real same pictures
    # >= 0.916, the skull-arc wrong matches <= 0.23 (docs/audit.md, "Seventh round"); None: no
    # check
    far_min: float | None = 0.38
    # how far a whole-frame match may fall when the overlays are left out (see `compare`)
    mask_drop: float = 0.04
    # a pair whose smaller image is under `native_below` px (longest side) is compared at that
    # image's own size (not under `native_floor`), not blown up to `hi_size`: the band-pass at
    # 256 px of a 3x enlarged copy sees interpolation and overlay edges, not the picture. On
    # the scale bench's 200 planted pairs (verifier alone): 167 -> 186 copies found, 0 decoys;
    # capping larger pairs too lost 3 copies of 150-250 px (docs/audit.md)
    native_cap: bool = True
    native_floor: int = 64
    native_below: int = 150


@dataclass(frozen=True)
class Verdict:
    """Outcome of comparing two images."""

    same: bool
    method: str
    score: float
    detail: dict[str, Any] = field(default_factory=dict)


#: decoded thumbnails kept per process, as the 8-bit grey values they are (<= 64 KB each at
#: 256 px: <= 256 MB): at 20,000 images an image's verification pairs lie further apart in the
#: candidate order than at 2,500, and 1,024 kept images missed 0.94 decodes per pair there
#: (0.56 at 2,500); 4,096 miss 0.67 (0.45). docs/audit.md, "Eighth round"
THUMB_CACHE = 4096


def decode_thumbnail(path: str, size: int) -> np.ndarray | None:
    """The grayscale 8-bit thumbnail (longest side `size`) of an image file, decoded now (no
    cache), read-only; None when the file cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.draft("L", (size * 2, size * 2))  # JPEG: decode at reduced scale, much faster
            g = im.convert("L")
            w, h = g.size
            s = size / max(w, h)
            g = g.resize((max(8, round(w * s)), max(8, round(h * s))), Image.BILINEAR)
            a = np.asarray(g, dtype=np.uint8)
            a.flags.writeable = False  # may be shared by every caller through a cache
            return a
    except Exception:  # a corrupt or unreadable file is "not verifiable", never a crash
        return None


_decoded = lru_cache(maxsize=THUMB_CACHE)(decode_thumbnail)


def thumbnail(path: str, size: int) -> np.ndarray | None:
    """Grayscale float thumbnail (longest side `size`), or None when the file cannot be decoded.
    Decoded once per process while it stays among the last `THUMB_CACHE` used; each call gets
    its own float32 array."""
    g = _decoded(path, size)
    return None if g is None else g.astype(np.float32)


@lru_cache(maxsize=8 * THUMB_CACHE)  # ints: a few MB
def native_side(path: str) -> int:
    """The longest side of an image file in pixels (its header only; 0 when unreadable)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return max(im.size)
    except Exception:
        return 0


def _zn(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    n = np.linalg.norm(a)
    return a / n if n > 1e-9 else a


def _resize(a: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(
        Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR),
        dtype=np.float64,
    )


class _Search:
    """A search image prepared once for many templates: its FFT (at a fast size) and integral
    images for per-window normalization."""

    def __init__(self, search: np.ndarray) -> None:
        from scipy import fft

        self.img = np.asarray(search, dtype=np.float64)
        H, W = self.img.shape
        self.shape = (fft.next_fast_len(H, real=True), fft.next_fast_len(W, real=True))
        self.F = fft.rfft2(self.img, s=self.shape)
        self.S1 = np.zeros((H + 1, W + 1))
        self.S2 = np.zeros((H + 1, W + 1))
        self.S1[1:, 1:] = self.img.cumsum(0).cumsum(1)
        self.S2[1:, 1:] = (self.img**2).cumsum(0).cumsum(1)
        self.floor = 1e-4 * max(float(self.img.var()), 1e-9)


def _ncc_map(search: np.ndarray | _Search, t: np.ndarray) -> np.ndarray:
    """NCC of zero-mean template `t` at every valid offset of `search` (FFT correlation,
    normalized per window with integral images). Windows with (almost) no texture get -1."""
    from scipy import fft

    sp = search if isinstance(search, _Search) else _Search(search)
    H, W = sp.img.shape
    th, tw = t.shape
    tn = np.linalg.norm(t)
    corr = fft.irfft2(sp.F * np.conj(fft.rfft2(t, s=sp.shape)), s=sp.shape)[
        : H - th + 1, : W - tw + 1
    ]
    n = th * tw
    S1, S2 = sp.S1, sp.S2
    s1 = S1[th:, tw:] - S1[:-th, tw:] - S1[th:, :-tw] + S1[:-th, :-tw]
    s2 = S2[th:, tw:] - S2[:-th, tw:] - S2[th:, :-tw] + S2[:-th, :-tw]
    var = s2 - s1 * s1 / n
    return np.where(var > n * sp.floor, corr / (tn * np.sqrt(np.maximum(var, 1e-12)) + 1e-12), -1.0)


def _central(a: np.ndarray, fraction: float) -> np.ndarray:
    h, w = a.shape
    m = (1 - fraction) / 2
    return a[round(h * m) : round(h * (1 - m)), round(w * m) : round(w * (1 - m))]


def best_crop_match(
    tmpl_src: np.ndarray, search: np.ndarray, cfg: PixelConfig
) -> tuple[float, dict[str, Any]]:
    """Coarse step: best NCC of `tmpl_src`'s central part anywhere in `search`, over scales.

    Only a locator: at thumbnail resolution different scans of similar anatomy also score high,
    so the location found here is re-checked by `refine` at higher resolution.
    """
    H, W = search.shape
    crop = _central(tmpl_src, cfg.crop_fraction)
    ch, cw = crop.shape
    best, info = -1.0, {}
    prepared = _Search(search)
    for sc in np.geomspace(1.04, cfg.min_scale, cfg.n_scales):
        th, tw = max(6, round(ch * sc)), max(6, round(cw * sc))
        if th > H or tw > W:
            continue
        t = _resize(crop, tw, th)
        t = t - t.mean()
        if np.linalg.norm(t) < 1e-6:
            continue
        ncc = _ncc_map(prepared, t)
        k = int(ncc.argmax())
        if ncc.flat[k] > best:
            best = float(ncc.flat[k])
            y, x = divmod(k, ncc.shape[1])
            info = {"scale": round(float(sc), 3), "x": x / W, "y": y / H, "w": tw / W, "h": th / H}
    return best, info


@lru_cache(maxsize=8)
def _gauss_weights(sigma: float) -> np.ndarray:
    """`scipy.ndimage.gaussian_filter`'s kernel at `sigma` (truncate 4), made once: the filter
    recomputes it in Python on every call, which was a fifth of a band-pass of these small
    images (verification calls it ~40 times per pair)."""
    r = int(4.0 * sigma + 0.5)
    x = np.arange(-r, r + 1)
    w = np.exp(-0.5 / (sigma * sigma) * x**2)
    return (w / w.sum())[::-1]


def _gauss(a: np.ndarray, sigma: float) -> np.ndarray:
    """`gaussian_filter(a, sigma, mode="nearest")` on a 2-D float64 array, bit for bit (the same
    two `correlate1d` passes, the second in place as scipy does), without its per-call setup."""
    from scipy.ndimage import correlate1d

    w = _gauss_weights(sigma)
    out = np.empty_like(a)
    correlate1d(a, w, 0, out, "nearest", 0.0, 0)
    correlate1d(out, w, 1, out, "nearest", 0.0, 0)
    return out


def highpass(a: np.ndarray, k: int = 5) -> np.ndarray:
    """Band-pass (difference of Gaussians, sigma 1 and 2 px): keeps the fine structure that
    differs between two slices, drops the near-pixel noise that resampling and JPEG change."""
    a = np.asarray(a, dtype=np.float64)
    return _gauss(a, 1.0) - _gauss(a, 2.0)


#: how far the band-pass reaches: `gaussian_filter`'s radius at sigma 2 (truncate 4)
HP_REACH = 8


def highpass_region(a: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """`highpass(a)[y0:y1, x0:x1]` computed on the region and `HP_REACH` pixels around it only:
    the same values (each output pixel reads the same inputs; at the image's own edges the
    region's cut is the image's), at the cost of the region where a sweep used to band-pass
    the whole search image."""
    y0, y1, x0, x1 = region
    H, W = a.shape
    py0, px0 = max(0, y0 - HP_REACH), max(0, x0 - HP_REACH)
    py1, px1 = min(H, y1 + HP_REACH), min(W, x1 + HP_REACH)
    hp = highpass(a[py0:py1, px0:px1])
    return hp[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0]


def aligned_hp(a: np.ndarray, b: np.ndarray, grid: int = 128) -> float:
    """High-pass NCC of the two whole frames on one grid x grid raster."""
    return float(
        (_zn(highpass(_resize(a, grid, grid))) * _zn(highpass(_resize(b, grid, grid)))).sum()
    )


def overlay_mask(a: np.ndarray) -> np.ndarray:
    """Pixels of a grayscale thumbnail (0-255) under burnt-in text, rulers or other thin bright
    strokes: a white top-hat (the image minus its 7-px grey opening) over 40 on a pixel
    brighter than 120, grown by 2 px for the band-pass's reach. Thin bright anatomy (bone
    cortex, contrast-filled vessels) is caught too; it is left out of both sides alike."""
    from scipy.ndimage import binary_dilation, grey_opening

    a = np.asarray(a, dtype=np.float32)
    m = ((a - grey_opening(a, size=(7, 7))) > 40) & (a > 120)
    return binary_dilation(m, iterations=2)


def _grid_mask(m: np.ndarray, grid: int) -> np.ndarray:
    return _resize(m.astype(np.float32), grid, grid) > 0.01


def aligned_masked(
    a: np.ndarray, b: np.ndarray, ma: np.ndarray, mb: np.ndarray, grid: int = 128
) -> tuple[float, float, float]:
    """The whole frames on one grid x grid raster, band-passed, compared without the overlay
    masks of either side: (NCC, `align.rest_ncc`, share of the raster kept)."""
    from radvqa_data.audit.align import masked_ncc, rest_ncc

    ha, hb = highpass(_resize(a, grid, grid)), highpass(_resize(b, grid, grid))
    keep = ~(_grid_mask(ma, grid) | _grid_mask(mb, grid))
    kept = float(keep.mean())
    if kept < MIN_KEPT:
        return -1.0, -1.0, kept
    return masked_ncc(ha, hb, keep), rest_ncc(ha, hb, keep=keep), kept


def _half(a: np.ndarray) -> np.ndarray:
    """2x2 block means: half the resolution; pixel i here is the centre of pixels 2i, 2i+1."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    return a[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


class _Swept(NamedTuple):
    """A sweep's best whole-pixel placement: its band-pass NCC, the placement (s, tx, ty) or
    None, and the compared arrays there (the band-passed resized template, and the band-passed
    search window under it)."""

    best: float
    place: tuple[float, float, float] | None
    tmpl: np.ndarray | None = None
    window: np.ndarray | None = None


def _sweep(
    crop: np.ndarray, search: np.ndarray, region: tuple[int, int, int, int], scales: np.ndarray
) -> _Swept:
    """Best whole-pixel band-pass NCC of `crop`, resized by each scale, inside `region`
    (y0, y1, x0, x1) of `search`; the placement as (s, tx, ty): crop pixel u at tx + s * u."""
    y0, y1, x0, x1 = region
    prepared = _Search(highpass_region(search, region))
    out = _Swept(-1.0, None)
    for sc in scales:
        # the template keeps its own aspect ratio exactly
        th, tw = round(crop.shape[0] * sc), round(crop.shape[1] * sc)
        if th < 8 or tw < 8 or th > y1 - y0 or tw > x1 - x0:
            continue
        t = highpass(_resize(crop, tw, th))
        t = t - t.mean()
        if np.linalg.norm(t) < 1e-6:
            continue
        m = _ncc_map(prepared, t)
        k = int(m.argmax())
        if m.flat[k] > out.best:
            yy, xx = divmod(k, m.shape[1])
            # crop pixel u sits at resized pixel (u + 0.5) * scale - 0.5 (pixel centres)
            sx, sy = tw / crop.shape[1], th / crop.shape[0]
            place = ((sx + sy) / 2, x0 + xx + 0.5 * sx - 0.5, y0 + yy + 0.5 * sy - 0.5)
            window = prepared.img[yy : yy + th, xx : xx + tw]
            out = _Swept(float(m.flat[k]), place, t, window)
    return out


def refine(
    tmpl_src: np.ndarray,
    search: np.ndarray,
    info: dict[str, Any],
    cfg: PixelConfig,
    masks: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
) -> tuple[float, dict[str, Any]]:
    """Fine step at high resolution around a coarse location; returns (score, details).

    1. At half resolution, the band-pass NCC of the template's inner part over small shifts
       (+-4% of the frame) and scales (+- one coarse scale step), whole pixels. Below
       `cfg.quick_min` the pair is another picture and the work stops here (most candidates);
       so it does when the placement agrees only near the strongest structures
       (`cfg.quick_far_min`: a look-alike by its edges).
    2. At full resolution, +-2% scale and a few pixels around that placement; the same two
       stops there (`cfg.polish_min`, `cfg.pixel_far_min`).
    3. The best placement is polished to sub-pixel precision (`align.Pair.polish`) and scored
       overlay-robustly: the better of the whole overlap's NCC and the tiles' 35% quantile.
    The inner part (central 75% of the coarse template) keeps scale errors from misaligning the
    template's edges. `masks`: gives the overlay masks of `tmpl_src` and `search`
    (`overlay_mask`), called only when a pair reaches the polish; they are left out of the final
    score; details "rest" (`align.rest_ncc`) and "kept" (the share of the overlap free of
    masks) go to the verdict. Same picture: >= 0.95; a neighbouring slice or another patient:
    well below (calibration in docs/audit.md).
    """
    from radvqa_data.audit.align import Pair, rest_ncc

    inner = 0.75
    crop = _central(_central(tmpl_src, cfg.crop_fraction), inner)
    crop_h, search_h = _half(crop), _half(search)
    H, W = search_h.shape
    # the inner part's box in the search image, from the coarse box of the whole template
    bx, by = info["x"] + info["w"] * (1 - inner) / 2, info["y"] + info["h"] * (1 - inner) / 2
    bw, bh = info["w"] * inner, info["h"] * inner
    step = (1.04 / cfg.min_scale) ** (1 / max(1, cfg.n_scales - 1)) - 1
    # one search region for every scale: the coarse box, grown by the largest scale change and
    # +-4% of the frame for the location error of the coarse step
    r = max(3, round(0.04 * max(H, W)))
    gy, gx = round(bh * H * step / 2) + r, round(bw * W * step / 2) + r
    region = (
        max(0, round(by * H) - gy),
        min(H, round((by + bh) * H) + gy),
        max(0, round(bx * W) - gx),
        min(W, round((bx + bw) * W) + gx),
    )
    # both thumbnails share one longest side, so the coarse scale carries over between sizes
    n = max(5, int(2 * step / (2 * cfg.refine_spacing)) + 1)
    swept = _sweep(crop_h, search_h, region, info["scale"] * np.linspace(1 - step, 1 + step, n))
    half, place = swept.best, swept.place
    if place is None:
        return half, {}
    if half < cfg.quick_min:  # no polish can lift this to a match: another picture
        return half, {"half": round(half, 4)}
    if cfg.quick_far_min is not None:
        # on the sweep's own arrays at the placement (no resampling: a quarter of the cost of
        # `Pair.far`, and it judges small overlaps too, where `Pair`'s margins leave too few
        # pixels); 3 half-resolution pixels: 6 at full size, past the band-pass tails there too
        far = rest_ncc(swept.tmpl, swept.window, grow=3)
        if not _far_ok(far, cfg.quick_far_min):  # alike by its edges only: another picture
            return half, {"half": round(half, 4), "half_far": round(far, 4)}
    # to full resolution: half-res centre c is full-res 2c + 0.5
    s, tx, ty = place[0], 2 * place[1] + 0.5 - 0.5 * place[0], 2 * place[2] + 0.5 - 0.5 * place[0]
    Hf, Wf = search.shape
    pad = 4 + round(0.02 * s * max(crop.shape))
    region = (
        max(0, int(ty) - pad),
        min(Hf, int(ty + s * crop.shape[0]) + pad),
        max(0, int(tx) - pad),
        min(Wf, int(tx + s * crop.shape[1]) + pad),
    )
    swept = _sweep(crop, search, region, s * np.array([0.98, 0.99, 1.0, 1.01, 1.02]))
    best, place = swept.best, swept.place
    if place is None:
        return max(half, best), {"half": round(half, 4)}
    if cfg.polish_min is not None and best < cfg.polish_min:
        # too far from a match for the polish (the costly step) to lift it over the threshold
        return max(half, best), {"half": round(half, 4), "pixel": round(best, 4)}
    if cfg.pixel_far_min is not None:
        far = rest_ncc(swept.tmpl, swept.window, grow=3)
        if not _far_ok(far, cfg.pixel_far_min):  # alike by its edges only, seen closer
            det = {"half": round(half, 4), "pixel": round(best, 4), "pixel_far": round(far, 4)}
            return max(half, best), det
    m = None if masks is None else masks()
    pm = None if m is None else (_central(_central(m[0], cfg.crop_fraction), inner), m[1])
    pair = Pair(crop, search, place[0], cfg.tiles, pm)
    whole, tiles, (s, tx, ty) = pair.polish(*place)
    extra = {}
    if max(whole, tiles) >= cfg.same_threshold:  # only for a pair that may be a match
        if cfg.slide_max is not None:
            extra["slide"] = round(pair.slide(s, tx, ty), 4)
        if cfg.far_min is not None:
            extra["far"] = round(pair.far(s, tx, ty), 4)
    det = {
        "rest": round(pair.rest, 4),
        "kept": round(pair.kept, 3),
        "textured": round(pair.textured, 3),
        "half": round(half, 4),
        "pixel": round(best, 4),
        "whole": round(whole, 4),
        "tiles": round(tiles, 4),
        "fine_scale": round(s, 4),
    }
    return max(whole, tiles), {**det, **extra}


def despeckle(a: np.ndarray) -> np.ndarray:
    """3x3 median filter: removes the one-pixel strokes of burnt-in text and rulers at thumbnail
    size, which otherwise pull the coarse location search towards the overlays."""
    from scipy.ndimage import median_filter

    return median_filter(np.asarray(a, dtype=np.float64), 3, mode="nearest")


#: where a coarse search already found one image's central part inside the other: the template
#: side ("a" or "b"), its coarse NCC and the location (`best_crop_match`'s info dict)
Hint = tuple[str, float, dict[str, Any]]


def compare(
    a: np.ndarray | None,
    b: np.ndarray | None,
    cfg: PixelConfig | None = None,
    a_hi: np.ndarray | None = None,
    b_hi: np.ndarray | None = None,
    hint: Hint | None = None,
    aligned: bool = True,
) -> Verdict:
    """Decide whether two images are the same picture; method and score are reported.

    `a`, `b`: thumbnails at `cfg.size` (coarse search); `a_hi`, `b_hi`: at `cfg.hi_size`
    (the decision). Without the high-resolution ones the coarse ones are used for both.
    `hint`: a location from the batched crop search (`coarse`), which replaces the coarse
    search here (`a`, `b` may then be None). `aligned=False` skips the whole-frame comparison
    (a third of the cost) for a pair the crop search placed as a crop: a whole frame cannot match.
    """
    cfg = cfg or PixelConfig()
    a_hi = a if a_hi is None else a_hi
    b_hi = b if b_hi is None else b_hi
    got: list = []

    def masks() -> tuple[np.ndarray, np.ndarray] | None:
        # made only for a pair that reaches a decision (~4 ms per pair): most stop before
        if cfg.masks and not got:
            got.append((overlay_mask(a_hi), overlay_mask(b_hi)))
        return got[0] if got else None

    al = aligned_hp(a_hi, b_hi) if aligned else -1.0
    adet: dict[str, Any] = {}
    if al >= cfg.same_threshold:
        # the whole frames' score decides (as calibrated on the real data), and must hold
        # without the overlays: two small pictures with the same burnt-in text at the same
        # places (the scale bench's decoys) score 0.93-0.96 unmasked, 0.78-0.87 masked; the
        # real same pictures drop by at most 0.05 (docs/audit.md)
        m = masks()
        ok = m is None
        if m is not None:
            alm, rest, kept = aligned_masked(a_hi, b_hi, *m)
            adet = {"masked": round(alm, 4), "rest": round(rest, 4), "kept": round(kept, 3)}
            ok = alm >= cfg.same_threshold - cfg.mask_drop and rest >= cfg.rest_min
        if ok:
            return Verdict(True, "ncc-aligned", al, adet)
    best, det, ok = al, {"method": "ncc-aligned", **adet}, False
    if hint is not None:
        name, coarse, info = hint
        tsrc_hi, srch_hi = (a_hi, b_hi) if name == "a" else (b_hi, a_hi)
    else:
        # locate in both directions (a inside b: b is a zoomed-out / bordered copy; b inside a:
        # b is a crop), refine only the better location: refinement is the expensive step
        am, bm = despeckle(a), despeckle(b)
        (c1, i1), (c2, i2) = best_crop_match(am, bm, cfg), best_crop_match(bm, am, cfg)
        coarse, info, tsrc_hi, srch_hi, name = (
            (c1, i1, a_hi, b_hi, "a") if c1 >= c2 else (c2, i2, b_hi, a_hi, "b")
        )
    if coarse >= cfg.coarse_min and info:

        def side_masks() -> tuple[np.ndarray, np.ndarray] | None:
            m = masks()
            return None if m is None else (m if name == "a" else (m[1], m[0]))

        fine, fdet = refine(
            np.asarray(tsrc_hi, dtype=np.float64),
            np.asarray(srch_hi, dtype=np.float64),
            info,
            cfg,
            side_masks,
        )
        if fine > best:
            best = fine
            ok = (
                fdet.get("rest", -1.0) >= cfg.rest_min
                and fdet.get("textured", 0.0) >= cfg.textured_min
                and (cfg.slide_max is None or fdet.get("slide", 1.0) <= cfg.slide_max)
                and (cfg.far_min is None or _far_ok(fdet.get("far", -1.0), cfg.far_min))
            )
            det = {
                "method": "ncc-crop-search",
                "template": name,
                "coarse": round(coarse, 3),
                "scale": info["scale"],
                "x": round(info["x"], 3),
                "y": round(info["y"], 3),
                **fdet,
            }
    method = det.pop("method")
    if aligned:
        det["aligned"] = round(al, 4)
    # the guards: a score over the threshold whose weaker pixels do not agree (`rest_min`, and
    # away from the strong ones `far_min`), or that holds when the template slides along it
    # (`slide_max`), is an edge-only or text-only match, not the same picture
    return Verdict(best >= cfg.same_threshold and ok, method, best, det)


def _far_ok(far: float, far_min: float) -> bool:
    """`far` (-1: too few far pixels, which says nothing) passes `far_min`."""
    return far == -1.0 or far >= far_min


def compare_files(
    path_a: str,
    path_b: str,
    cfg: PixelConfig | None = None,
    hint: Hint | None = None,
    aligned: bool = True,
) -> Verdict:
    """`compare` on two image files; an unreadable file gives a negative verdict, method
    'unreadable'."""
    cfg = cfg or PixelConfig()
    hi = cfg.hi_size
    if cfg.native_cap:
        na, nb = native_side(path_a), native_side(path_b)
        if na and nb and min(na, nb) < cfg.native_below:
            hi = min(hi, max(cfg.native_floor, min(na, nb)))
    a_hi, b_hi = thumbnail(path_a, hi), thumbnail(path_b, hi)
    if a_hi is None or b_hi is None:
        return Verdict(False, "unreadable", 0.0)
    if hint is not None:
        return compare(None, None, cfg, a_hi, b_hi, hint, aligned)
    return compare(thumbnail(path_a, cfg.size), thumbnail(path_b, cfg.size), cfg, a_hi, b_hi)
