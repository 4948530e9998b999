"""Sub-pixel alignment and the overlay-robust score of the final same-picture decision.

The FFT search (`pixels.refine`) places a resized template at whole pixels and at the scales of
its sweep; the band-pass comparison that separates a copy from a neighbouring slice is so fine
(sigma 1-2 px) that a 0.5 px or 1% scale error costs it ~0.05: on planted crops with no other
change the integer placement scored a median 0.948 (min 0.902), the same pairs polished here
0.996 (min 0.984). So the placement (scale s, offset tx, ty) is polished by a small pattern search
with cubic resampling, and the comparison happens in the frame of the lower-resolution image
(the other one is resampled into it, antialiased), so neither side is judged on detail it never had.

The score is the better of the whole-template NCC and a low quantile (35%) of the NCCs over a
grid of tiles: text or a ruler burnt into one side spoils the tiles it covers, not the quantile.
On 349 planted crops with overlays plus 349 neighbouring-slice decoys (docs/audit.md) the whole
NCC alone left 6 copies below 0.925 and the decoys at most 0.892; with the tiles' median 1 copy,
decoys up to 0.918; with the 35% quantile 1 copy (0.900), decoys up to 0.897. A quantile below
the median keeps adjacent slices, whose tiles correlate unevenly, further from the threshold.

Both scores leave out the overlay masks of either side (`Pair(masks=...)`), and the caller
checks the overlap's weaker pixels (`rest_ncc`) and its texture (`textured_share`): a template
that matches by one edge or by shared burnt-in text fails those (docs/audit.md, "Fifth round").
"""

from __future__ import annotations

import numpy as np


def _zn(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    n = np.linalg.norm(a)
    return a / n if n > 1e-9 else a


def _cubic_taps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first of the 4 coefficients a cubic B-spline reads for each coordinate in `x`, and
    their weights (len(x) x 4): `scipy.ndimage.map_coordinates`' order-3 kernel."""
    i = np.floor(x)
    t = x - i
    t2, u = t * t, 1.0 - t
    t3 = t2 * t
    w = np.stack(
        [
            u * u * u / 6.0,
            (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
            (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0,
            t3 / 6.0,
        ],
        axis=1,
    )
    return i.astype(np.intp) - 1, w


def spline_grid(coef: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The cubic spline with coefficients `coef` (`scipy.ndimage.spline_filter`, order 3) at
    every (ys[i], xs[j]), ascending coordinates whose 4 taps lie inside `coef`: what
    `map_coordinates(coef, meshgrid(ys, xs), order=3, prefilter=False)` gives (to ~1e-15), in
    two 1-D passes. An axis-aligned placement makes a grid, and the kernel is separable: 3-4x
    faster than `map_coordinates`' per-point 4x4 taps, which were a third of a same-picture
    decision's CPU (docs/audit.md, "Ninth round")."""
    iy, wy = _cubic_taps(ys)
    ix, wx = _cubic_taps(xs)
    c0, c1 = int(ix[0]), int(ix[-1]) + 4
    sub = coef[:, c0:c1]
    rows = sum(wy[:, k : k + 1] * sub[iy + k] for k in range(4))
    j = ix - c0
    return sum(rows[:, j + k] * wx[:, k] for k in range(4))


def rest_ncc(
    a: np.ndarray, b: np.ndarray, q: float = 0.15, grow: int = 1, keep: np.ndarray | None = None
) -> float:
    """NCC of two aligned band-passed arrays over the pixels that are *not* among either side's
    strongest `q` (band-pass energy), the excluded set grown by `grow` px (the filter's ringing).

    The strongest pixels are where a few structures sit: burnt-in text, a ruler, one edge
    between two flat patches. A copy still matches over the rest (texture, noise grain); two
    pictures that agree only there (an edge-only template, the same text on two slices) do not.
    `keep`: the pixels to consider at all (overlay masks left out). -1 when less than a quarter
    of the considered pixels remain."""
    from scipy.ndimage import binary_dilation

    keep = np.ones(a.shape, dtype=bool) if keep is None else keep
    if keep.sum() < 16:
        return -1.0
    ea, eb = a * a, b * b
    strong = (ea > np.quantile(ea[keep], 1 - q)) | (eb > np.quantile(eb[keep], 1 - q))
    if grow:
        strong = binary_dilation(strong, iterations=grow)
    rest = keep & ~strong
    if rest.sum() < max(16, keep.sum() // 4):
        return -1.0
    return float((_zn(a[rest]) * _zn(b[rest])).sum())


def textured_share(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> float:
    """Share of the overlap (`keep`'s pixels) where both band-passed sides carry texture: a
    local RMS (5x5) of at least `TEXTURE_RMS` grey levels. Air, black borders and flat
    patches carry none; a template that is mostly those matches by its one edge."""
    from scipy.ndimage import uniform_filter

    ra = np.sqrt(np.maximum(uniform_filter(a * a, 5, mode="nearest"), 0.0))
    rb = np.sqrt(np.maximum(uniform_filter(b * b, 5, mode="nearest"), 0.0))
    tex = (ra >= TEXTURE_RMS) & (rb >= TEXTURE_RMS)
    if keep is not None:
        return float(tex[keep].mean()) if keep.any() else 0.0
    return float(tex.mean())


#: the band-pass RMS (grey levels of the 0-255 thumbnail) that counts as texture
TEXTURE_RMS = 1.0


def masked_ncc(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> float:
    """NCC of two aligned arrays over the pixels in `keep` (-1 when fewer than 16)."""
    if keep.sum() < 16:
        return -1.0
    return float((_zn(a[keep]) * _zn(b[keep])).sum())


def tile_quantile(
    a: np.ndarray, b: np.ndarray, n: int, q: float = 0.35, keep: np.ndarray | None = None
) -> float:
    """Quantile `q` of the NCCs of the n x n tiles of two aligned arrays, over tiles with texture
    on both sides (flat tiles, e.g. air around the body, say nothing); -1 when fewer than a third
    qualify."""
    H, W = a.shape
    ys = np.linspace(0, H, n + 1).round().astype(int)
    xs = np.linspace(0, W, n + 1).round().astype(int)
    vals, energy = [], []
    for i in range(n):
        for j in range(n):
            ta = a[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]
            tb = b[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]
            if keep is not None:  # a tile mostly under an overlay says nothing
                k = keep[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]
                if k.sum() < 0.5 * k.size:
                    continue
                ta, tb = ta[k], tb[k]
            if ta.size < 16:
                continue
            ta, tb = ta - ta.mean(), tb - tb.mean()
            na, nb = np.linalg.norm(ta), np.linalg.norm(tb)
            energy.append(min(na, nb))
            vals.append(float((ta * tb).sum() / (na * nb + 1e-12)))
    if not vals:
        return -1.0
    e, v = np.asarray(energy), np.asarray(vals)
    keep = e > 0.25 * np.median(e)
    if keep.sum() < max(3, len(v) // 3):
        return -1.0
    return float(np.quantile(v[keep], q))


#: `Pair.far`: the weaker pixels at least this far from either side's strongest ones, out of
#: reach of their band-pass tails (the filter's sigma 2 px): what a curved bright band (a skull
#: arc) matched onto another one leaves to compare
FAR_PX = 5

#: the slide (`Pair.slide`) in pixels of the compared frame: band-passed picture detail (sigma
#: 1-2 px) has decorrelated by then (bench copies keep <= 0.87 of their NCC), a straight edge not
SLIDE_PX = 3

#: the least share of an overlap that must be free of overlay masks for a decision: where text
#: covers more, the pixels left cannot tell a copy from a look-alike
MIN_KEPT = 0.3


class Pair:
    """A template image and a search image at decision resolution, ready for repeated scoring
    at sub-pixel placements: template pixel (u, v) sits at (tx + s*u, ty + s*v) in the search.

    Both sides are band-passed once, in the frame of the coarser one (`s0`: the placement's
    scale, known to ~2% before polishing): the finer side's filter is widened by the scale
    ratio, so resampling it into the coarser frame afterwards gives the same band (and no
    aliasing) without filtering again at every placement.
    """

    def __init__(
        self,
        tmpl: np.ndarray,
        search: np.ndarray,
        s0: float,
        tiles: int = 4,
        masks: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        from scipy.ndimage import gaussian_filter, spline_filter

        def band(a: np.ndarray, k: float) -> np.ndarray:
            a = np.asarray(a, dtype=np.float64)
            return gaussian_filter(a, 1.0 * k, mode="nearest") - gaussian_filter(
                a, 2.0 * k, mode="nearest"
            )

        self.tiles = tiles
        self.masks = masks  # overlay masks (template, search) in their own frames, or None
        self.t_shape, self.s_shape = np.shape(tmpl), np.shape(search)
        self.finer_template = s0 <= 1.0
        if self.finer_template:  # compare on the search grid
            self.fixed = band(search, 1.0)
            self.moving = spline_filter(band(tmpl, 1.0 / s0), order=3)
        else:  # compare on the template grid
            self.fixed = band(tmpl, 1.0)
            self.moving = spline_filter(band(search, s0), order=3)

    def views(self, s: float, tx: float, ty: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The band-passed overlap of both images in the coarser frame (None: too small)."""
        th, tw = self.t_shape
        H, W = self.s_shape
        # keep off the last pixels: the spline extrapolates there (and every tap stays inside)
        m = 2
        if self.finer_template:
            x0, y0 = max(m, int(np.ceil(tx)) + m), max(m, int(np.ceil(ty)) + m)
            x1 = min(W - 1 - m, int(np.floor(tx + s * (tw - 1))) - m)
            y1 = min(H - 1 - m, int(np.floor(ty + s * (th - 1))) - m)
            if x1 - x0 < 12 or y1 - y0 < 12:
                return None
            ys = (np.arange(y0, y1 + 1, dtype=np.float64) - ty) / s
            xs = (np.arange(x0, x1 + 1, dtype=np.float64) - tx) / s
            self._where = ("t", (ys, xs), (slice(y0, y1 + 1), slice(x0, x1 + 1)))
            return spline_grid(self.moving, ys, xs), self.fixed[y0 : y1 + 1, x0 : x1 + 1]
        rows = ty + s * np.arange(th)
        cols = tx + s * np.arange(tw)
        r = np.flatnonzero((rows >= m) & (rows <= H - 1 - m))
        c = np.flatnonzero((cols >= m) & (cols <= W - 1 - m))
        r, c = r[(r >= m) & (r < th - m)], c[(c >= m) & (c < tw - m)]
        if len(r) < 12 or len(c) < 12:
            return None
        self._where = ("s", (rows[r], cols[c]), np.ix_(r, c))
        return self.fixed[np.ix_(r, c)], spline_grid(self.moving, rows[r], cols[c])

    def keep(self) -> np.ndarray | None:
        """Pixels of the last `views` overlap under no overlay mask on either side (None: no
        masks). The moving side's mask is resampled bilinearly, any overlap counts."""
        from scipy.ndimage import map_coordinates

        if self.masks is None:
            return None
        mt, ms = self.masks
        side, (ys, xs), fixed_idx = self._where
        moving_mask, fixed_mask = (mt, ms) if side == "t" else (ms, mt)
        coords = np.meshgrid(ys, xs, indexing="ij")
        moved = map_coordinates(moving_mask.astype(np.float64), coords, order=1, mode="nearest")
        return ~((moved > 0.01) | fixed_mask[fixed_idx])

    def ncc(self, s: float, tx: float, ty: float) -> float:
        """NCC of the band-passed overlap at this placement (-1 when there is none)."""
        v = self.views(s, tx, ty)
        return -1.0 if v is None else float((_zn(v[0]) * _zn(v[1])).sum())

    def far(self, s: float, tx: float, ty: float, d: int = FAR_PX) -> float:
        """`rest_ncc` of the overlap at (s, tx, ty) over the pixels at least `d` from either
        side's strongest: -1 when too few are left (a small or busy overlap), which says
        nothing. A copy agrees there too; a match carried by one bright curved band (a skull's
        arc on another skull) leaves only unrelated tissue there (docs/audit.md, "Seventh
        round")."""
        v = self.views(s, tx, ty)
        return -1.0 if v is None else rest_ncc(v[0], v[1], grow=d, keep=self.keep())

    def slide(self, s: float, tx: float, ty: float, d: int = SLIDE_PX) -> float:
        """How well the match survives a slide: the best NCC of the 8 placements `d` pixels
        (of the compared frame) away, over the NCC at (s, tx, ty). A picture's band-passed
        detail decorrelates within a few pixels in every direction; a match made by one
        straight edge or a set of parallel lines does not decorrelate along them, and keeps
        ~1 (docs/audit.md, "Seventh round"). 0 when the placement's NCC is not positive."""
        base = self.ncc(s, tx, ty)
        if base <= 0:
            return 0.0
        step = d if self.finer_template else d * s  # one compared-frame pixel in search pixels
        dirs = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))
        return max(self.ncc(s, tx + dx * step, ty + dy * step) for dx, dy in dirs) / base

    def polish(
        self, s: float, tx: float, ty: float, rounds: int = 2
    ) -> tuple[float, float, tuple[float, float, float]]:
        """Pattern search on (s, tx, ty) maximizing the NCC: per parameter, a parabola through
        three placements, steps halved each round. Returns (NCC, tile score, placement); the
        final overlap's `rest_ncc` is left in `self.rest`."""
        p = np.array([s, tx, ty], dtype=np.float64)
        best = self.ncc(*p)
        step = np.array([0.006 * s, 0.5, 0.5])
        for _ in range(rounds):
            for k in range(3):
                lo, hi = p.copy(), p.copy()
                lo[k] -= step[k]
                hi[k] += step[k]
                f_lo, f_hi = self.ncc(*lo), self.ncc(*hi)
                cand = [(best, p), (f_lo, lo), (f_hi, hi)]
                d = f_lo - 2 * best + f_hi
                if d < 0:  # a maximum between the three: the parabola's vertex
                    q = p.copy()
                    q[k] += float(np.clip(0.5 * (f_lo - f_hi) / d, -1.0, 1.0)) * step[k]
                    cand.append((self.ncc(*q), q))
                best, p = max(cand, key=lambda c: c[0])
            step /= 2
        v = self.views(*p)
        self.rest, self.overlap, self.kept, self.textured = -1.0, 0, 0.0, 0.0
        if v is None:
            return best, -1.0, (float(p[0]), float(p[1]), float(p[2]))
        keep = self.keep()
        self.overlap = int(v[0].size)
        if keep is not None:  # the score leaves burnt-in text and rulers out (either side)
            self.kept = float(keep.mean())
            best = masked_ncc(v[0], v[1], keep) if self.kept >= MIN_KEPT else -1.0
        tiles = tile_quantile(v[0], v[1], self.tiles, keep=keep)
        self.rest = rest_ncc(v[0], v[1], keep=keep)
        self.textured = textured_share(v[0], v[1], keep)
        return best, tiles, (float(p[0]), float(p[1]), float(p[2]))
