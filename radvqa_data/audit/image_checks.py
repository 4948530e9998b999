"""Checks 3 and 4 (images): same picture across ids/splits, and benchmark image contamination.

Candidates come from `images` (sha256, phash bands) and from a cascade for crops: the
crop-tolerant descriptor shortlists neighbours, the batched coarse crop search (`coarse`) keeps
each image's best few of those; each candidate is verified at the pixel level by
`pixels.compare`, and only verified pairs become findings, with the method and score of the
verification.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.images import CandidateConfig, descriptor, knn_candidates, phash_candidates
from radvqa_data.audit.pixels import PixelConfig, Verdict, compare_files, despeckle, thumbnail

#: `task(description, total)` -> a function that advances that progress bar by n
TaskFactory = Callable[[str, int], Callable[[int], None]]


def no_progress(name: str, total: int) -> Callable[[int], None]:
    """A TaskFactory that shows nothing."""
    return lambda n=1: None


def _thumbnails(
    df: pl.DataFrame, cfg: PixelConfig, tick: Callable[[int], None]
) -> list[np.ndarray | None]:
    """Each image's coarse thumbnail (decoded once for the descriptor and the crop search)."""
    out = []
    for p in df["path"].to_list():
        t = thumbnail(p, cfg.size)
        out.append(None if t is None else t.astype(np.float64))
        tick(1)
    return out


def _descriptors(thumbs: list[np.ndarray | None]) -> np.ndarray:
    from radvqa_data.audit.images import DESC_GRID, DESC_PARTS

    out = np.zeros((len(thumbs), DESC_PARTS, DESC_GRID * DESC_GRID), dtype=np.float32)
    for i, t in enumerate(thumbs):
        if t is not None:
            out[i] = descriptor(t)
    return out


def _gate_thumbnail(t: np.ndarray | None, size: int) -> np.ndarray | None:
    """The coarse search's view: overlay strokes removed at thumbnail size, then shrunk."""
    from radvqa_data.audit.pixels import _resize

    if t is None:
        return None
    h, w = t.shape
    s = size / max(h, w)
    return _resize(despeckle(t), max(8, round(w * s)), max(8, round(h * s)))


def crop_candidates(
    tl: list[np.ndarray | None],
    tr: list[np.ndarray | None] | None,
    ccfg: CandidateConfig,
    task: TaskFactory,
) -> pl.DataFrame:
    """Pairs (li, ri) for the crop path: descriptor shortlist, ranked by the coarse crop search.

    Each image keeps its best `ccfg.knn` shortlisted partners whose coarse score reaches
    `ccfg.gate_min`; `tr=None` means pairs within `tl` (li < ri).
    """
    from dataclasses import replace

    from radvqa_data.audit.coarse import CropSearch, score_pairs

    same = tr is None
    dl = _descriptors(tl)
    dr = dl if same else _descriptors(tr)  # type: ignore[arg-type]
    wide = replace(ccfg, knn=ccfg.shortlist, knn_min=ccfg.shortlist_min)
    short = knn_candidates(dl, dr, wide, same)
    if not same:  # the shortlist of each reference image too
        back = knn_candidates(dr, dl, wide, False)
        short = pl.concat(
            [short, back.select(pl.col("ri").alias("li"), pl.col("li").alias("ri"), "sim")]
        )
    short = short.group_by("li", "ri").agg(pl.col("sim").max())
    hint_type = pl.Struct(
        {
            "side": pl.String,
            "scale": pl.Float64,
            "x": pl.Float64,
            "y": pl.Float64,
            "w": pl.Float64,
            "h": pl.Float64,
        }
    )
    empty = pl.DataFrame(
        schema={"li": pl.Int64, "ri": pl.Int64, "coarse": pl.Float64, "hint": hint_type}
    )
    if short.height == 0:
        return empty
    both = tl if same else tl + tr  # type: ignore[operator]
    thumbs = [_gate_thumbnail(t, ccfg.gate_size) for t in both]
    cs = CropSearch(thumbs, ccfg.gate_size)
    li = short["li"].to_numpy()
    ri = short["ri"].to_numpy() + (0 if same else len(tl))
    scores, hits = score_pairs(cs, li, ri, task("coarse crop search", 2 * short.height))
    # where the better direction's template sat: handed to the pixel verification as its start
    hint = [
        {
            "side": "a" if side == 0 else "b",
            "scale": h.scale,
            "x": h.x,
            "y": h.y,
            "w": h.w,
            "h": h.h,
        }
        for side, h in hits
    ]
    ranked = short.with_columns(pl.Series("coarse", scores), pl.Series("hint", hint)).filter(
        pl.col("coarse") >= ccfg.gate_min
    )
    # every image's best few partners, seen from either side
    by_coarse = [
        ranked.sort("coarse", descending=True).group_by(side, maintain_order=True).head(ccfg.knn)
        for side in ("li", "ri")
    ]
    # and its nearest descriptor neighbour: heavy overlays can sink a true pair's 32-px score
    # below look-alikes' while the descriptor still puts it first
    by_desc = [
        ranked.filter(pl.col("sim") >= ccfg.knn_min)
        .sort("sim", descending=True)
        .group_by(side, maintain_order=True)
        .head(1)
        for side in ("li", "ri")
    ]
    keep = pl.concat([k.select(ranked.columns) for k in by_coarse + by_desc]).unique(["li", "ri"])
    return keep.select("li", "ri", "coarse", "hint") if keep.height else empty


def candidates(
    left: pl.DataFrame,
    right: pl.DataFrame | None,
    ccfg: CandidateConfig,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
) -> pl.DataFrame:
    """Candidate pairs (li, ri, via); `right=None` means pairs within `left` (li < ri)."""
    same = right is None
    r = left if right is None else right
    ph = phash_candidates(left, r, ccfg, same).select("li", "ri", pl.lit("phash").alias("via"))
    tick = task("thumbnails", left.height + (0 if same else r.height))
    tl = _thumbnails(left, pcfg, tick)
    tr = None if same else _thumbnails(r, pcfg, tick)
    kn = crop_candidates(tl, tr, ccfg, task)
    allc = pl.concat([ph, kn.select("li", "ri", pl.lit("knn").alias("via"))])
    allc = allc.group_by("li", "ri").agg(pl.col("via").unique().sort().str.join("+"))
    return allc.join(kn.select("li", "ri", "coarse", "hint"), on=["li", "ri"], how="left").sort(
        "li", "ri"
    )


def verify(
    left: pl.DataFrame,
    right: pl.DataFrame,
    pairs: pl.DataFrame,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
) -> list[tuple[int, int, Verdict, str]]:
    """Pixel verification of candidate pairs; returns the verified ones (li, ri, verdict, via)."""
    tick = task("verify candidates", pairs.height)
    lp, rp = left["path"].to_list(), right["path"].to_list()
    ls, rs = left["sha256"].to_list(), right["sha256"].to_list()
    out = []
    has_hint = "hint" in pairs.columns
    for r in pairs.iter_rows(named=True):
        li, ri, via = r["li"], r["ri"], r["via"]
        if ls[li] and ls[li] == rs[ri]:
            out.append((li, ri, Verdict(True, "sha256", 1.0), via))
        else:
            h = r["hint"] if has_hint else None
            hint = (
                None
                if h is None
                else (h["side"], r["coarse"], {k: h[k] for k in ("scale", "x", "y", "w", "h")})
            )
            v = compare_files(lp[li], rp[ri], pcfg, hint)
            if not v.same and hint is not None and hint[1] >= pcfg.hint_recheck:
                # the 32-px location can be off by a scale step or point the wrong way; a pair
                # that close at 32 px gets the full search at the coarse size before it is dropped
                v = compare_files(lp[li], rp[ri], pcfg)
            if v.same:
                out.append((li, ri, v, via))
        tick(1)
    return out


def _side(r: dict) -> Side:
    return Side(r["source"], r["split"], r["image_id"], None, None)


def same_picture(
    imgs: pl.DataFrame, ccfg: CandidateConfig, pcfg: PixelConfig, task: TaskFactory = no_progress
) -> list[Finding]:
    """image_same_picture among `imgs` (pairs with different ids, any splits)."""
    if imgs.height < 2:
        return []
    pairs = candidates(imgs, None, ccfg, pcfg, task)
    recs = imgs.to_dicts()
    return _verified("image_same_picture", imgs, imgs, recs, recs, pairs, pcfg, task)


def _verified(
    kind: str,
    left: pl.DataFrame,
    right: pl.DataFrame,
    lrecs: list[dict],
    rrecs: list[dict],
    pairs: pl.DataFrame,
    pcfg: PixelConfig,
    task: TaskFactory,
) -> list[Finding]:
    """Findings of `kind` for the candidate pairs the pixel check confirms (an image never pairs
    with itself).

    `lrecs`/`rrecs` are `left`/`right` as row dicts (the callers have them already).
    """
    out = []
    for li, ri, v, via in verify(left, right, pairs, pcfg, task):
        a, b = lrecs[li], rrecs[ri]
        if (a["source"], a["image_id"]) == (b["source"], b["image_id"]):
            continue
        out.append(
            Finding(
                kind,
                _side(a),
                _side(b),
                v.method,
                v.score,
                {"candidate": via, **v.detail, "path_a": a["path"], "path_b": b["path"]},
            )
        )
    return out


def benchmark_images(
    imgs: pl.DataFrame,
    protected: pl.DataFrame,
    ccfg: CandidateConfig,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
) -> list[Finding]:
    """benchmark_image: audited images that are the same picture as a protected image.

    An audited image that *is* a protected image (same source and id) is reported with method
    'same-id' without pixel work.
    """
    if imgs.height == 0 or protected.height == 0:
        return []
    out = []
    prec = protected.to_dicts()
    key_p = {(r["source"], r["image_id"]): r for r in prec}
    recs = imgs.to_dicts()
    for r in recs:
        p = key_p.get((r["source"], r["image_id"]))
        if p is not None:
            out.append(
                Finding(
                    "benchmark_image",
                    _side(r),
                    _side(p),
                    "same-id",
                    1.0,
                    {"path_a": r["path"], "path_b": p["path"]},
                )
            )
    pairs = candidates(imgs, protected, ccfg, pcfg, task)
    return out + _verified("benchmark_image", imgs, protected, recs, prec, pairs, pcfg, task)
