"""Per-image descriptors of the same-picture checks, computed once per image in a streaming pass.

One decode per image gives everything the candidate search needs, so no later stage opens the
file again until the pixel verification of a short list:

- ``thumb``: the grayscale thumbnail at `PixelConfig.size` (96 px, uint8): the windows of the
  crop-tolerant descriptor are cut from it when the image queries the index;
- ``gate``: the coarse crop search's view (overlay strokes removed by a 3x3 median, 32 px);
- ``query``: the descriptor's query parts (central 80% and 60%, 12x12, z-normalized): the
  vectors of the nearest-neighbour index.

`describe_batch` is the batch function the executor runs (locally or on Ray workers); its rows
are what the catalog caches by sha256 (`descriptor_cache`), so a rerun or a new source pays only
for new images. Resizing is a pair of small matrix products per part (the same triangle filter
as Pillow's antialiased bilinear), ~20x faster than a Pillow resize per part.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from radvqa_data.audit.images import DESC_GRID, DESC_QUERY, DESC_WINDOWS

#: bump when a descriptor, thumbnail size or filter changes: cached rows of another version are
#: recomputed
DESC_VERSION = 1
THUMB_SIZE = 96  # = PixelConfig.size (the coarse thumbnail)
GATE_SIZE = 32  # = CandidateConfig.gate_size


@dataclass
class Described:
    """One image's descriptor row (plain data: it crosses process boundaries and the cache)."""

    key: str  # sha256 of the file, or its path when the image has no hash (files outside a catalog)
    thumb: np.ndarray | None  # uint8 (h, w); None: the file could not be decoded
    gate: np.ndarray | None  # float32 (h, w), <= GATE_SIZE
    query: np.ndarray | None  # float32 (len(DESC_QUERY), DESC_GRID**2)
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


def _vector(p: np.ndarray, grid: int) -> np.ndarray:
    v = (_resample(p.shape[0], grid) @ p @ _resample(p.shape[1], grid).T).ravel()
    v = v - v.mean()
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def query_parts(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """The query parts (central 80% and 60%) as unit vectors, shape (len(DESC_QUERY), grid**2)."""
    a = np.asarray(thumb, dtype=np.float64)
    out = [
        _vector(_part(a, (1 - k) / 2, (1 + k) / 2, (1 - k) / 2, (1 + k) / 2), grid)
        for k in DESC_QUERY
    ]
    return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=256)
def _window_operators(h: int, w: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """For a thumbnail of shape (h, w): row operators (n, grid, h) and column operators
    (n, w, grid) that resize every window of `DESC_WINDOWS` in one batched product (zero outside
    the window): 2 matrix products per image instead of 2 per window."""
    n = len(DESC_WINDOWS)
    rows = np.zeros((n, grid, h))
    cols = np.zeros((n, w, grid))
    for i, (size, dx, dy) in enumerate(DESC_WINDOWS):
        cx, cy = 0.5 + dx, 0.5 + dy
        x0, x1 = max(0.0, cx - size / 2), min(1.0, cx + size / 2)
        y0, y1 = max(0.0, cy - size / 2), min(1.0, cy + size / 2)
        r0, c0 = round(h * y0), round(w * x0)
        r1, c1 = max(r0 + 2, round(h * y1)), max(c0 + 2, round(w * x1))
        rows[i, :, r0:r1] = _resample(r1 - r0, grid)
        cols[i, c0:c1, :] = _resample(c1 - c0, grid).T
    return rows, cols


def window_parts(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """The window parts (`DESC_WINDOWS`: where another image's central part may sit in this one),
    unit vectors, shape (len(DESC_WINDOWS), grid**2)."""
    a = np.asarray(thumb, dtype=np.float64)
    rows, cols = _window_operators(a.shape[0], a.shape[1], grid)
    v = np.matmul(np.matmul(rows, a), cols).reshape(len(DESC_WINDOWS), -1)
    v = v - v.mean(axis=1, keepdims=True)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(n > 1e-9, n, 1.0)).astype(np.float32)


def gate_view(thumb: np.ndarray, size: int = GATE_SIZE) -> np.ndarray:
    """The coarse crop search's thumbnail: median-filtered at thumbnail size, then shrunk."""
    from radvqa_data.audit.pixels import despeckle

    a = despeckle(np.asarray(thumb, dtype=np.float64))
    h, w = a.shape
    s = size / max(h, w)
    gh, gw = max(8, round(h * s)), max(8, round(w * s))
    return (_resample(h, gh) @ a @ _resample(w, gw).T).astype(np.float32)


def describe(key: str, path: str) -> Described:
    """Decode `path` once and compute its descriptor row; an undecodable file gives a row with
    `error` set (that image is left out of the pixel checks, the run goes on)."""
    from radvqa_data.audit.pixels import thumbnail
    from radvqa_data.executor import item_error

    try:
        t = thumbnail.__wrapped__(path, THUMB_SIZE)  # no caching: each file is read once here
        if t is None:
            return Described(key, None, None, None, "cannot decode")
        t8 = np.asarray(t, dtype=np.uint8)
        # float16 precision, as the cache stores them: a fresh and a cached run rank alike
        gate = gate_view(t8).astype(np.float16).astype(np.float32)
        return Described(key, t8, gate, query_parts(t8).astype(np.float16).astype(np.float32))
    except Exception as exc:  # one bad image costs that image only
        return Described(key, None, None, None, item_error(exc))


def describe_batch(items: list[tuple[str, str]]) -> list[Described]:
    """The executor's batch function: `describe` over (key, path) items."""
    return [describe(k, p) for k, p in items]
