"""Batched low-resolution crop search: which candidate pairs are worth a pixel verification.

The crop-tolerant descriptor (`descriptors`) ranks a copy among the first few neighbours of
its original only when the crop is near the centre and the overlays are light; on planted
off-centre crops with scanner text the true partner ranks anywhere in the first 60. So the
descriptor only shortlists (`CandidateConfig.shortlist` neighbours per image) and this module
ranks the shortlist by the thing that matters: the best normalized cross-correlation (NCC) of one
image's central part anywhere inside the other, over scales, in both directions, on small
thumbnails (32 px, overlay strokes removed by a median filter first).

All images sit zero-padded in one `size x size` frame, so one image's template is correlated
with all its partners in a single batched FFT per scale; per-window normalization uses integral
images. Valid offsets keep the template inside the partner (no wrap-around: the FFT size equals
the frame). A pair costs ~0.1 ms per direction, against ~100 ms for the full verification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hit:
    """Best coarse match of `src`'s template inside `dst` (coordinates are fractions of dst)."""

    score: float
    scale: float  # template size relative to src's central part, in dst's frame
    x: float
    y: float
    w: float
    h: float


PREPARE_BLOCK = 1024  # views prepared at once


class CropSearch:
    """Small thumbnails of a set of images, prepared for batched crop searches between them."""

    def __init__(
        self,
        thumbs: list[np.ndarray | None],
        size: int,
        crop_fraction: float = 0.8,
        scales: np.ndarray | None = None,
    ) -> None:
        img, shape = pad_views(thumbs, size)
        self._prepare(img, shape, crop_fraction, scales)

    @classmethod
    def from_padded(
        cls,
        img: np.ndarray,
        shape: np.ndarray,
        crop_fraction: float = 0.8,
        scales: np.ndarray | None = None,
    ) -> CropSearch:
        """From views already padded into one (n, size, size) array (`pad_views`): no per-image
        Python work, a large set is prepared in a few vectorized steps."""
        cs = cls.__new__(cls)
        cs._prepare(img, shape, crop_fraction, scales)
        return cs

    def _prepare(
        self,
        img: np.ndarray,
        shape: np.ndarray,
        crop_fraction: float,
        scales: np.ndarray | None,
    ) -> None:
        from scipy import fft

        n, size = img.shape[0], img.shape[1]
        self.size = size
        self.crop_fraction = crop_fraction
        self.scales = np.geomspace(1.04, 0.45, 8) if scales is None else np.asarray(scales)
        self.shape = np.asarray(shape, dtype=np.int64)  # (h, w) of each image in the frame
        self.ok = self.shape.min(axis=1) >= 8
        self.img = np.asarray(img, dtype=np.float32)  # the views (float32, as cached)
        # prepared once per image (~26 KB at 32 px), in blocks that bound the temporaries: a
        # preparation per search chunk repeated each partner's for every chunk it appears in
        # the spectra in single precision: the batched inverse FFT of a search (its largest
        # step) runs at float32 speed; scores move by ~1e-6 (docs/audit.md, fourth round)
        self.F = np.zeros((n, size, size // 2 + 1), dtype=np.complex64)
        self.S1 = np.zeros((n, size + 1, size + 1))
        self.S2 = np.zeros((n, size + 1, size + 1))
        for s in range(0, n, PREPARE_BLOCK):
            a = self.img[s : s + PREPARE_BLOCK].astype(np.float64)
            self.F[s : s + len(a)] = fft.rfft2(a, axes=(1, 2))
            self.S1[s : s + len(a), 1:, 1:] = a.cumsum(1).cumsum(2)
            self.S2[s : s + len(a), 1:, 1:] = (a**2).cumsum(1).cumsum(2)
        # windows with (almost) no texture score -1 (as in pixels._ncc_map); the image's own
        # variance from its integral images (the padding is zeros, outside the (h, w) corner)
        h, w = self.shape[:, 0], self.shape[:, 1]
        cnt = np.maximum(h * w, 1)
        mean = self.S1[np.arange(n), h, w] / cnt
        var = np.where(self.ok, self.S2[np.arange(n), h, w] / cnt - mean**2, 0.0)
        self.floor = 1e-4 * np.maximum(var, 1e-9)

    def _template(self, i: int, scale: float) -> np.ndarray | None:
        from radvqa_data.audit.descriptors import _resample
        from radvqa_data.audit.pixels import _central

        h, w = self.shape[i]
        part = _central(self.img[i, :h, :w].astype(np.float64), self.crop_fraction)
        th, tw = max(6, round(part.shape[0] * scale)), max(6, round(part.shape[1] * scale))
        if th > self.size or tw > self.size:
            return None
        # the same triangle filter as Pillow's antialiased bilinear resize, as two small matrix
        # products (a Pillow round trip per template was a quarter of the search's time)
        t = _resample(part.shape[0], th) @ part @ _resample(part.shape[1], tw).T
        t = t - t.mean()
        return t if np.linalg.norm(t) > 1e-6 else None

    def search(self, src: int, dsts: np.ndarray) -> list[Hit]:
        """Best match of image `src`'s central part inside each of `dsts` (one Hit per dst):
        its templates at every scale in one FFT, their correlations with all dsts in one more."""
        from scipy import fft

        dsts = np.asarray(dsts, dtype=np.int64)
        best = np.full(len(dsts), -1.0)
        where = np.zeros((len(dsts), 5))  # scale, x, y, w, h
        if not self.ok[src] or len(dsts) == 0:
            return [Hit(-1.0, 0.0, 0.0, 0.0, 0.0, 0.0) for _ in dsts]
        ts = [
            (float(sc), t)
            for sc in self.scales
            if (t := self._template(src, float(sc))) is not None
        ]
        if not ts:
            return [Hit(-1.0, 0.0, 0.0, 0.0, 0.0, 0.0) for _ in dsts]
        size = self.size
        T = np.zeros((len(ts), size, size))
        for j, (_, t) in enumerate(ts):
            T[j, : t.shape[0], : t.shape[1]] = t
        FT = np.conj(fft.rfft2(T, axes=(1, 2))).astype(np.complex64)
        corr_all = fft.irfft2(self.F[dsts][:, None] * FT[None], s=(size, size), axes=(2, 3))
        S1, S2 = self.S1[dsts], self.S2[dsts]
        H, W = self.shape[dsts, 0], self.shape[dsts, 1]
        floor = self.floor[dsts]
        rows = np.arange(size)
        for j, (sc, t) in enumerate(ts):
            th, tw = t.shape
            corr = corr_all[:, j, : size - th + 1, : size - tw + 1]
            n = th * tw
            s1 = S1[:, th:, tw:] - S1[:, :-th, tw:] - S1[:, th:, :-tw] + S1[:, :-th, :-tw]
            s2 = S2[:, th:, tw:] - S2[:, :-th, tw:] - S2[:, th:, :-tw] + S2[:, :-th, :-tw]
            var = s2 - s1 * s1 / n
            ncc = np.where(
                var > n * floor[:, None, None],
                corr / (np.linalg.norm(t) * np.sqrt(np.maximum(var, 1e-12)) + 1e-12),
                -1.0,
            )
            # offsets that put the template outside the partner's own pixels are not valid
            valid = (rows[None, : ncc.shape[1], None] <= (H - th)[:, None, None]) & (
                rows[None, None, : ncc.shape[2]] <= (W - tw)[:, None, None]
            )
            ncc = np.where(valid, ncc, -1.0)
            flat = ncc.reshape(len(dsts), -1)
            k = flat.argmax(axis=1)
            v = flat[np.arange(len(dsts)), k]
            better = v > best
            if better.any():
                y, x = np.divmod(k, ncc.shape[2])
                best[better] = v[better]
                where[better] = np.stack(
                    [np.full(len(dsts), sc), x / W, y / H, tw / W, th / H], axis=1
                )[better]
        return [Hit(float(best[j]), *map(float, where[j])) for j in range(len(dsts))]


def pad_views(thumbs: list[np.ndarray | None], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Views zero-padded into one (n, size, size) float32 array, and their (h, w) (0, 0 for a
    missing or too small view)."""
    n = len(thumbs)
    img = np.zeros((n, size, size), dtype=np.float32)
    shape = np.zeros((n, 2), dtype=np.int64)
    for i, t in enumerate(thumbs):
        if t is None or min(t.shape) < 8:
            continue
        h, w = min(size, t.shape[0]), min(size, t.shape[1])
        img[i, :h, :w] = t[:h, :w]
        shape[i] = (h, w)
    return img, shape


def score_pairs(
    cs: CropSearch, left: np.ndarray, right: np.ndarray, tick=None
) -> tuple[np.ndarray, list[tuple]]:
    """Coarse score of each pair (left[k], right[k]) of image indices in `cs`, both directions.

    Returns the scores and, per pair, the better direction's (template side, Hit): side 0 means
    left's central part was found in right (right is the larger / zoomed-out one).
    """
    return _score(cs, left, right, tick)


def score_pairs_padded(
    img: np.ndarray,
    shape: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    tick=None,
    workers: int = 1,
) -> tuple[np.ndarray, list[tuple]]:
    """`score_pairs` over views padded once for the whole set (`pad_views`): every view prepared
    once, every image's templates built once (one search per template source). `workers` > 1:
    the searches are shared out to that many forked processes (the prepared views are
    inherited, not copied: only the pairs' indices and the hits cross)."""
    return _score(CropSearch.from_padded(img, shape), left, right, tick, workers)


def score_arrays_padded(
    img: np.ndarray, shape: np.ndarray, left, right, tick=None, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`score_arrays` over views padded once for the whole set (as `score_pairs_padded`)."""
    return score_arrays(CropSearch.from_padded(img, shape), left, right, tick, workers)


SEARCH_SHARD = 64  # template sources per forked task: small enough to balance two workers
#: the CropSearch the forked workers inherit (set just before the pool forks)
_SHARED: CropSearch | None = None


def _search_shard(jobs: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
    """A forked worker's share: `search` of each (source, partners) with the inherited
    `_SHARED`; hits as rows (score, scale, x, y, w, h), cheap to send back."""
    assert _SHARED is not None
    return [
        np.array([(h.score, h.scale, h.x, h.y, h.w, h.h) for h in _SHARED.search(s, d)])
        for s, d in jobs
    ]


def _score(cs: CropSearch, left, right, tick, workers: int = 1) -> tuple[np.ndarray, list[tuple]]:
    """`score_arrays` as (scores, [(side, Hit)]) per pair."""
    best, side, where = score_arrays(cs, left, right, tick, workers)
    return best, [
        (int(side[k]), Hit(float(best[k]), *map(float, where[k]))) for k in range(len(best))
    ]


def score_arrays(
    cs: CropSearch, left, right, tick=None, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of every pair, grouped by template source: one `search` per image (its
    templates at every scale against all its partners, as the left or the right of a pair),
    where a search per (image, direction, chunk of left images) made ~10 per image.

    Returns per pair the better direction's score, its side (0: left's central part found in
    right) and its location (scale, x, y, w, h): arrays, no object per pair (at 20,000 images
    the short list has ~600,000 pairs)."""
    global _SHARED
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    m = len(left)
    src, dst = np.concatenate([left, right]), np.concatenate([right, left])
    rows = np.zeros((2 * m, 6))  # score, scale, x, y, w, h of each direction
    rows[:, 0] = -1.0
    order = np.argsort(src, kind="stable")
    ss = src[order]
    bounds = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1], True]) if m else np.array([0])
    groups = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if workers > 1 and len(groups) > SEARCH_SHARD:
        from radvqa_data.executor.local import LocalExecutor

        shards = [groups[s : s + SEARCH_SHARD] for s in range(0, len(groups), SEARCH_SHARD)]
        jobs = [[(int(src[g[0]]), dst[g]) for g in sh] for sh in shards]
        _SHARED = cs  # inherited by the workers forked below
        try:
            got = LocalExecutor("fork", workers).map(_search_shard, jobs, ordered=True)
            for sh, res in zip(shards, got, strict=True):
                for g, r in zip(sh, res, strict=True):
                    rows[g] = r
                    if tick:
                        tick(len(g))
        finally:
            _SHARED = None
    else:
        for idx in groups:
            hs = cs.search(int(src[idx[0]]), dst[idx])
            rows[idx] = [(h.score, h.scale, h.x, h.y, h.w, h.h) for h in hs]
            if tick:
                tick(len(idx))
    fwd, bwd = rows[:m], rows[m:]
    back = bwd[:, 0] > fwd[:, 0]  # ties go to the left's template, as before
    pick = np.where(back[:, None], bwd, fwd)
    return pick[:, 0].copy(), back.astype(np.int64), pick[:, 1:].copy()
