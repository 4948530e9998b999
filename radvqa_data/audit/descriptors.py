"""Per-image descriptors of the same-picture checks, computed once per image in a streaming pass.

One decode per image gives everything the candidate search needs, so no later stage opens the
file again until the pixel verification of a short list:

- ``thumb``: the grayscale thumbnail at `PixelConfig.size` (96 px, uint8), median-filtered
  (3x3: overlay strokes removed): the windows of the crop-tolerant descriptor are cut from it
  when the image queries the index;
- ``gate``: the coarse crop search's view (that thumbnail shrunk to 32 px);
- ``query``: the descriptor's 6 query parts (central 80% and 60%, 3 aspects each, 12x12): the
  vectors of the nearest-neighbour index.

Every part (query or window) is cut from the median-filtered thumbnail (burnt-in text and ruler
strokes gone, as in the crop search's view), resized to 12x12, high-passed on that grid (minus a
Gaussian blur of sigma 2.5 cells: the broad shading that every axial CT or chest film shares is
taken out, the picture's own structure stays), and made a unit vector. Query parts come in
three aspect ratios (1, 1.3 and 1/1.3 of the frame's), since a crop rarely keeps its
original's. On the scale bench's 200 planted pairs among 20,000 images (exact search), the true
partner is among an image's first 16 for 190 and its first 32 for 194; with the first version's
descriptor (no filter, no high-pass, one aspect) 157 and 169 (docs/audit.md).

`describe_batch` is the batch function the executor runs (locally or on Ray workers); its rows
are what the catalog caches by sha256 (`descriptor_cache`), so a rerun or a new source pays only
for new images. Resizing is a pair of small matrix products per part (the same triangle filter
as Pillow's antialiased bilinear), ~20x faster than a Pillow resize per part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: bump when a descriptor, thumbnail size or filter changes: cached rows of another version are
#: recomputed
DESC_VERSION = 2
THUMB_SIZE = 96  # = PixelConfig.size (the coarse thumbnail)
GATE_SIZE = 32  # = CandidateConfig.gate_size

#: query parts: the central 80% and 60% of an image, each in the three aspect ratios of
#: `DESC_ASPECTS`
DESC_QUERY = (0.8, 0.6)
DESC_GRID = 12
#: high-pass of every part on its grid: minus a Gaussian blur of this sigma (grid cells)
DESC_HIGHPASS = 2.5
#: aspect ratios (width / height, relative to the frame's) of the query parts: a crop rarely
#: keeps its original's aspect (the planted ones skew it by up to 1.43x); a query part
#: stretched the other way is a square window's shape in the original again
DESC_ASPECTS = (1.0, 1.3, 1 / 1.3)
#: the query parts as (width, height) fractions of the frame, centred
QUERY_PARTS = tuple((k * a**0.5, k / a**0.5) for k in DESC_QUERY for a in DESC_ASPECTS)
#: window parts (size, dx, dy), fractions of the frame: where another image's central part sits
#: in this one, also when that image is an off-centre crop (sizes 80-45%, the smaller ones at
#: more centres, up to +-25% of the frame)
DESC_WINDOWS = tuple(
    (size, dx, dy)
    for size, offsets in (
        (0.8, (-0.1, 0.0, 0.1)),
        (0.65, (-0.15, -0.05, 0.05, 0.15)),
        (0.55, (-0.2, -0.1, 0.0, 0.1, 0.2)),
        (0.45, (-0.25, -0.125, 0.0, 0.125, 0.25)),
    )
    for dx in offsets
    for dy in offsets
)


@dataclass
class Described:
    """One image's descriptor row (plain data: it crosses process boundaries and the cache)."""

    key: str  # sha256 of the file, or its path when the image has no hash (files outside a catalog)
    # uint8 (h, w), median-filtered (`clean_thumb`); None: the file could not be decoded
    thumb: np.ndarray | None
    gate: np.ndarray | None  # float32 (h, w), <= GATE_SIZE
    query: np.ndarray | None  # float32 (len(QUERY_PARTS), DESC_GRID**2)
    error: str | None = None


@lru_cache(maxsize=512)
@lru_cache(maxsize=4096)
def _resample(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an antialiased triangle-filter resize (Pillow's BILINEAR).

    Cached (read-only): the descriptor's 77 parts and the crop search's 8 templates per image
    ask for the same few hundred shapes again and again, and building the matrix was a fifth
    of a coarse search's CPU."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centre = (np.arange(n_out) + 0.5) * scale
    x = np.arange(n_in) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs((x[None, :] - centre[:, None]) / support))
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    w.flags.writeable = False  # shared by every caller through the cache
    return w


def _part(a: np.ndarray, y0: float, y1: float, x0: float, x1: float) -> np.ndarray:
    h, w = a.shape
    r0, c0 = round(h * y0), round(w * x0)
    return a[r0 : max(r0 + 2, round(h * y1)), c0 : max(c0 + 2, round(w * x1))]


@lru_cache(maxsize=8)
def _highpass_operator(grid: int, sigma: float) -> np.ndarray:
    """(grid**2, grid**2): a flattened grid x grid part minus its Gaussian blur (edges
    replicated, as `scipy.ndimage.gaussian_filter(mode="nearest")`), as one matrix."""
    from scipy.ndimage import gaussian_filter1d

    g = gaussian_filter1d(np.eye(grid), sigma, axis=0, mode="nearest")  # g @ x blurs x
    op = (np.eye(grid * grid) - np.kron(g, g)).astype(np.float32)
    op.flags.writeable = False
    return op


def _unit(v: np.ndarray, grid: int) -> np.ndarray:
    """Rows of `v` (flattened grid x grid parts) high-passed, centred and scaled to unit length
    (single precision: the vectors are stored as float16)."""
    v = v.astype(np.float32) @ _highpass_operator(grid, DESC_HIGHPASS).T
    v = v - v.mean(axis=1, keepdims=True)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n > 1e-9, n, 1.0)


def clean_thumb(thumb: np.ndarray) -> np.ndarray:
    """The thumbnail median-filtered (`pixels.despeckle`: the one-pixel strokes of burnt-in
    text and rulers removed), uint8: the median of 9 grey levels is one of them, so nothing is
    lost by storing it so."""
    from radvqa_data.audit.pixels import despeckle

    return despeckle(np.asarray(thumb, dtype=np.float64)).astype(np.uint8)


def query_parts(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """The query parts (`QUERY_PARTS`: central 80% and 60%, three aspect ratios each) of a
    median-filtered thumbnail (`clean_thumb`) as unit vectors, shape (len(QUERY_PARTS),
    grid**2)."""
    a = np.asarray(thumb, dtype=np.float64)
    parts = [
        _part(a, (1 - kh) / 2, (1 + kh) / 2, (1 - kw) / 2, (1 + kw) / 2) for kw, kh in QUERY_PARTS
    ]
    v = np.stack([(_resample(p.shape[0], grid) @ p @ _resample(p.shape[1], grid).T) for p in parts])
    return _unit(v.reshape(len(parts), -1), grid).astype(np.float32)


@lru_cache(maxsize=256)
def _window_operators(h: int, w: int, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a thumbnail of shape (h, w): the distinct row operators stacked (n_rows * grid, h),
    each window's row operator's index (n,), and the column operators (n, w, grid): every
    window of `DESC_WINDOWS` resized with one matrix product for the rows (windows share their
    rows: 17 distinct for 75 windows) and one batched product for the columns."""
    n = len(DESC_WINDOWS)
    spans: dict[tuple[int, int], int] = {}
    which = np.zeros(n, dtype=np.int64)
    cols = np.zeros((n, w, grid))
    for i, (size, dx, dy) in enumerate(DESC_WINDOWS):
        cx, cy = 0.5 + dx, 0.5 + dy
        x0, x1 = max(0.0, cx - size / 2), min(1.0, cx + size / 2)
        y0, y1 = max(0.0, cy - size / 2), min(1.0, cy + size / 2)
        r0, c0 = round(h * y0), round(w * x0)
        r1, c1 = max(r0 + 2, round(h * y1)), max(c0 + 2, round(w * x1))
        which[i] = spans.setdefault((r0, r1), len(spans))
        cols[i, c0:c1, :] = _resample(c1 - c0, grid).T
    rows = np.zeros((len(spans), grid, h))
    for (r0, r1), k in spans.items():
        rows[k, :, r0:r1] = _resample(r1 - r0, grid)
    for x in (rows, which, cols):
        x.flags.writeable = False
    return rows.reshape(-1, h), which, cols


def window_parts(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """The window parts (`DESC_WINDOWS`: where another image's central part may sit in this one),
    unit vectors, shape (len(DESC_WINDOWS), grid**2), cut from the median-filtered thumbnail
    (`clean_thumb`, the store's `thumb`) as the query parts are."""
    a = np.asarray(thumb, dtype=np.float64)
    rows, which, cols = _window_operators(a.shape[0], a.shape[1], grid)
    ra = (rows @ a).reshape(-1, grid, a.shape[1])  # every distinct row span, resized
    v = np.matmul(ra[which], cols).reshape(len(DESC_WINDOWS), -1)
    return _unit(v, grid).astype(np.float32)


def gate_view(thumb: np.ndarray, size: int = GATE_SIZE) -> np.ndarray:
    """The coarse crop search's thumbnail: the median-filtered thumbnail (`clean_thumb`)
    shrunk."""
    a = np.asarray(thumb, dtype=np.float64)
    h, w = a.shape
    s = size / max(h, w)
    gh, gw = max(8, round(h * s)), max(8, round(w * s))
    return (_resample(h, gh) @ a @ _resample(w, gw).T).astype(np.float32)


def describe(key: str, path: str) -> Described:
    """Decode `path` once and compute its descriptor row; an undecodable file gives a row with
    `error` set (that image is left out of the pixel checks, the run goes on)."""
    from radvqa_data.audit.pixels import decode_thumbnail
    from radvqa_data.executor import item_error

    try:
        t = decode_thumbnail(path, THUMB_SIZE)  # no caching: each file is read once here
        if t is None:
            return Described(key, None, None, None, "cannot decode")
        t8 = clean_thumb(t)
        # float16 precision, as the cache stores them: a fresh and a cached run rank alike
        gate = gate_view(t8).astype(np.float16).astype(np.float32)
        query = query_parts(t8).astype(np.float16).astype(np.float32)
        return Described(key, t8, gate, query)
    except Exception as exc:  # one bad image costs that image only
        return Described(key, None, None, None, item_error(exc))


def describe_batch(items: list[tuple[str, str]]) -> list[Described]:
    """The executor's batch function: `describe` over (key, path) items."""
    return [describe(k, p) for k, p in items]
