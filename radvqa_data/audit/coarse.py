"""Batched low-resolution crop search: which candidate pairs are worth a pixel verification.

The crop-tolerant descriptor (`images.descriptor`) ranks a copy among the first few neighbours of
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


class CropSearch:
    """Small thumbnails of a set of images, prepared for batched crop searches between them."""

    def __init__(
        self,
        thumbs: list[np.ndarray | None],
        size: int,
        crop_fraction: float = 0.8,
        scales: np.ndarray | None = None,
    ) -> None:
        from scipy import fft

        self.size = size
        self.crop_fraction = crop_fraction
        self.scales = np.geomspace(1.04, 0.45, 8) if scales is None else np.asarray(scales)
        n = len(thumbs)
        self.shape = np.zeros((n, 2), dtype=np.int64)  # (h, w) of each image in the frame
        img = np.zeros((n, size, size), dtype=np.float64)
        self.ok = np.zeros(n, dtype=bool)
        for i, t in enumerate(thumbs):
            if t is None or min(t.shape) < 8:
                continue
            h, w = min(size, t.shape[0]), min(size, t.shape[1])
            img[i, :h, :w] = t[:h, :w]
            self.shape[i] = (h, w)
            self.ok[i] = True
        self.img = img
        self.F = fft.rfft2(img, axes=(1, 2))
        self.S1 = np.zeros((n, size + 1, size + 1))
        self.S2 = np.zeros((n, size + 1, size + 1))
        self.S1[:, 1:, 1:] = img.cumsum(1).cumsum(2)
        self.S2[:, 1:, 1:] = (img**2).cumsum(1).cumsum(2)
        # windows with (almost) no texture score -1 (as in pixels._ncc_map)
        var = np.array(
            [
                img[i, : self.shape[i, 0], : self.shape[i, 1]].var() if self.ok[i] else 0.0
                for i in range(n)
            ]
        )
        self.floor = 1e-4 * np.maximum(var, 1e-9)

    def _template(self, i: int, scale: float) -> np.ndarray | None:
        from radvqa_data.audit.pixels import _central, _resize

        h, w = self.shape[i]
        part = _central(self.img[i, :h, :w], self.crop_fraction)
        th, tw = max(6, round(part.shape[0] * scale)), max(6, round(part.shape[1] * scale))
        if th > self.size or tw > self.size:
            return None
        t = _resize(part, tw, th)
        t = t - t.mean()
        return t if np.linalg.norm(t) > 1e-6 else None

    def search(self, src: int, dsts: np.ndarray) -> list[Hit]:
        """Best match of image `src`'s central part inside each of `dsts` (one Hit per dst)."""
        from scipy import fft

        dsts = np.asarray(dsts, dtype=np.int64)
        best = np.full(len(dsts), -1.0)
        where = np.zeros((len(dsts), 5))  # scale, x, y, w, h
        if not self.ok[src] or len(dsts) == 0:
            return [Hit(-1.0, 0.0, 0.0, 0.0, 0.0, 0.0) for _ in dsts]
        F = self.F[dsts]
        S1, S2 = self.S1[dsts], self.S2[dsts]
        H, W = self.shape[dsts, 0], self.shape[dsts, 1]
        floor = self.floor[dsts]
        rows = np.arange(self.size)
        for sc in self.scales:
            t = self._template(src, float(sc))
            if t is None:
                continue
            th, tw = t.shape
            corr = fft.irfft2(
                F * np.conj(fft.rfft2(t, s=(self.size, self.size)))[None],
                s=(self.size, self.size),
                axes=(1, 2),
            )[:, : self.size - th + 1, : self.size - tw + 1]
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


def score_pairs(
    cs: CropSearch, left: np.ndarray, right: np.ndarray, tick=None
) -> tuple[np.ndarray, list[tuple]]:
    """Coarse score of each pair (left[k], right[k]) of image indices in `cs`, both directions.

    Returns the scores and, per pair, the better direction's (template side, Hit): side 0 means
    left's central part was found in right (right is the larger / zoomed-out one).
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    fwd = np.full(len(left), -1.0)
    bwd = np.full(len(left), -1.0)
    hits_f: list = [None] * len(left)
    hits_b: list = [None] * len(left)
    # group by template source so each source's templates are built once per direction
    for src_arr, dst_arr, out, hits in ((left, right, fwd, hits_f), (right, left, bwd, hits_b)):
        order = np.argsort(src_arr, kind="stable")
        bounds = np.flatnonzero(np.r_[True, src_arr[order][1:] != src_arr[order][:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            idx = order[a:b]
            for k, h in zip(idx, cs.search(int(src_arr[idx[0]]), dst_arr[idx]), strict=True):
                out[k] = h.score
                hits[k] = h
            if tick:
                tick(b - a)
    best = []
    for k in range(len(left)):
        best.append((0, hits_f[k]) if fwd[k] >= bwd[k] else (1, hits_b[k]))
    return np.maximum(fwd, bwd), best
