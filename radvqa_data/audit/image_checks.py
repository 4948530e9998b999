"""Checks 3 and 4 (images): same picture across ids/splits, and benchmark image contamination.

Candidates come from `images` (sha256, phash bands, crop-tolerant descriptor neighbours); each
candidate is verified at the pixel level by `pixels.compare`, and only verified pairs become
findings, with the method and score of the verification.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.images import CandidateConfig, descriptor, knn_candidates, phash_candidates
from radvqa_data.audit.pixels import PixelConfig, Verdict, compare_files, thumbnail


def _descriptors(df: pl.DataFrame, cfg: PixelConfig, tick: Callable[[int], None]) -> np.ndarray:
    from radvqa_data.audit.images import DESC_GRID, DESC_PARTS

    out = np.zeros((df.height, DESC_PARTS, DESC_GRID * DESC_GRID), dtype=np.float32)
    for i, p in enumerate(df["path"].to_list()):
        t = thumbnail(p, cfg.size)
        if t is not None:
            out[i] = descriptor(t.astype(np.float64))
        tick(1)
    return out


#: `task(description, total)` -> a function that advances that progress bar by n
TaskFactory = Callable[[str, int], Callable[[int], None]]


def no_progress(name: str, total: int) -> Callable[[int], None]:
    """A TaskFactory that shows nothing."""
    return lambda n=1: None


def candidates(left: pl.DataFrame, right: pl.DataFrame | None, ccfg: CandidateConfig, pcfg: PixelConfig,
               task: TaskFactory = no_progress) -> pl.DataFrame:
    """Candidate pairs (li, ri, via); `right=None` means pairs within `left` (li < ri)."""
    same = right is None
    r = left if right is None else right
    ph = phash_candidates(left, r, ccfg, same).select("li", "ri", pl.lit("phash").alias("via"))
    tick = task("thumbnails", left.height + (0 if same else r.height))
    dl = _descriptors(left, pcfg, tick)
    dr = dl if same else _descriptors(r, pcfg, tick)
    kn = knn_candidates(dl, dr, ccfg, same).select("li", "ri", pl.lit("knn").alias("via"))
    if not same:  # the k nearest of each reference image too
        kn2 = knn_candidates(dr, dl, ccfg, False).select(pl.col("ri").alias("li"), pl.col("li").alias("ri"), pl.lit("knn").alias("via"))
        kn = pl.concat([kn, kn2])
    allc = pl.concat([ph, kn]).group_by("li", "ri").agg(pl.col("via").unique().sort().str.join("+"))
    return allc.sort("li", "ri")


def verify(left: pl.DataFrame, right: pl.DataFrame, pairs: pl.DataFrame, pcfg: PixelConfig,
           task: TaskFactory = no_progress) -> list[tuple[int, int, Verdict, str]]:
    """Pixel verification of candidate pairs; returns the verified ones (li, ri, verdict, via)."""
    tick = task("verify candidates", pairs.height)
    lp, rp = left["path"].to_list(), right["path"].to_list()
    ls, rs = left["sha256"].to_list(), right["sha256"].to_list()
    out = []
    for li, ri, via in pairs.iter_rows():
        if ls[li] and ls[li] == rs[ri]:
            out.append((li, ri, Verdict(True, "sha256", 1.0), via))
        else:
            v = compare_files(lp[li], rp[ri], pcfg)
            if v.same:
                out.append((li, ri, v, via))
        tick(1)
    return out


def _side(r: dict) -> Side:
    return Side(r["source"], r["split"], r["image_id"], None, None)


def same_picture(imgs: pl.DataFrame, ccfg: CandidateConfig, pcfg: PixelConfig, task: TaskFactory = no_progress) -> list[Finding]:
    """image_same_picture among `imgs` (pairs with different ids, any splits)."""
    if imgs.height < 2:
        return []
    pairs = candidates(imgs, None, ccfg, pcfg, task)
    recs = imgs.to_dicts()
    return _verified("image_same_picture", imgs, imgs, recs, recs, pairs, pcfg, task)


def _verified(kind: str, left: pl.DataFrame, right: pl.DataFrame, lrecs: list[dict], rrecs: list[dict],
              pairs: pl.DataFrame, pcfg: PixelConfig, task: TaskFactory) -> list[Finding]:
    """Findings of `kind` for the candidate pairs the pixel check confirms (an image never pairs with itself).

    `lrecs`/`rrecs` are `left`/`right` as row dicts (the callers have them already).
    """
    out = []
    for li, ri, v, via in verify(left, right, pairs, pcfg, task):
        a, b = lrecs[li], rrecs[ri]
        if (a["source"], a["image_id"]) == (b["source"], b["image_id"]):
            continue
        out.append(Finding(kind, _side(a), _side(b), v.method, v.score,
                           {"candidate": via, **v.detail, "path_a": a["path"], "path_b": b["path"]}))
    return out


def benchmark_images(imgs: pl.DataFrame, protected: pl.DataFrame, ccfg: CandidateConfig, pcfg: PixelConfig,
                     task: TaskFactory = no_progress) -> list[Finding]:
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
            out.append(Finding("benchmark_image", _side(r), _side(p), "same-id", 1.0, {"path_a": r["path"], "path_b": p["path"]}))
    pairs = candidates(imgs, protected, ccfg, pcfg, task)
    return out + _verified("benchmark_image", imgs, protected, recs, prec, pairs, pcfg, task)
