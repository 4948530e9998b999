"""Checks 3 and 4 (images): same picture across ids/splits, and benchmark image contamination.

One pass serves both checks, in stages that each touch every image once or a short list:

1. descriptors (`descriptor_store`): one decode per image, cached in the catalog by sha256, run
   by the executor (locally or on Ray workers);
2. candidates: sha256 and phash bands (`images.phash_candidates`), and for crops the
   nearest-neighbour index of the descriptors (`shortlist.ann_shortlist`) whose short list the
   batched coarse crop search ranks (`shortlist.coarse_rank`);
3. pixel verification (`pixels.compare_files`) of each candidate, in batches on the executor;
   only verified pairs become findings, with the method and score of the verification.

Pairs of two protected images are never compared; audited-audited pairs only for
`image_same_picture`, audited-protected pairs only for `benchmark_image`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from radvqa_data.audit.descriptor_store import DescriptorStore
from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.images import CandidateConfig, phash_candidates
from radvqa_data.audit.pixels import PixelConfig, Verdict, compare_files

#: `task(description, total)` -> a function that advances that progress bar by n
TaskFactory = Callable[[str, int], Callable[[int], None]]
VERIFY_BATCH = 32  # candidate pairs per executor batch
#: crop-search scale from which a pair may be a whole-frame copy (gets the aligned comparison)
WHOLE_FRAME_SCALE = 0.9


def no_progress(name: str, total: int) -> Callable[[int], None]:
    """A TaskFactory that shows nothing."""
    return lambda n=1: None


def _pairs(
    frame: pl.DataFrame,
    n_audited: int,
    want_same: bool,
    want_bench: bool,
    ccfg: CandidateConfig,
    store: DescriptorStore,
    task: TaskFactory,
    secs: dict[str, float] | None = None,
    workers: int = 1,
) -> pl.DataFrame:
    """Candidate pairs (li < ri, via, coarse, hint) over `frame` = audited rows then protected;
    `secs` gets each stage's seconds; `workers`: forked processes for the coarse crop search."""
    import time

    secs = {} if secs is None else secs
    t = time.perf_counter()
    role = np.arange(frame.height) >= n_audited  # True: protected

    def allowed(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        a, b = role[i], role[j]
        return np.where(a == b, ~a & want_same, want_bench)

    ph = phash_candidates(frame, frame, ccfg, True)
    ph = ph.filter(pl.Series(allowed(ph["li"].to_numpy(), ph["ri"].to_numpy())))
    ph = ph.select("li", "ri", pl.lit("phash").alias("via"))
    from radvqa_data.audit.shortlist import ann_shortlist, coarse_rank

    keys = store.keys(frame)
    secs["phash"] = time.perf_counter() - t
    t = time.perf_counter()
    grp = role.astype(np.int64)
    short = ann_shortlist(store, keys, allowed, ccfg, task("nearest neighbours", frame.height), grp)
    secs["shortlist"] = time.perf_counter() - t
    t = time.perf_counter()
    # the hash's candidates go through the same coarse search (not its gate): the hint it
    # gives replaces the full search at 96 px in both directions (~13 ms a pair, ~2 with the
    # hint). Those only the hash proposes grow with the square of the image count (near
    # hashes among look-alikes): 24 at 2,500 bench images, 1,670 at 20,000; no match found
    # there or on the real MedPix 2.0 + VQA-RAD audit came from the hash alone (docs/audit.md,
    # "Ninth round")
    kn, ph_hints = coarse_rank(
        store,
        keys,
        short,
        ccfg,
        task("coarse crop search", 2 * (short.height + ph.height)),
        group=grp,
        workers=workers,
        extra=ph,
    )
    secs["coarse"] = time.perf_counter() - t
    secs["pairs_short"], secs["pairs_verified"] = short.height, kn.height
    allc = pl.concat([ph, kn.select("li", "ri", pl.lit("knn").alias("via"))])
    allc = allc.group_by("li", "ri").agg(pl.col("via").unique().sort().str.join("+"))
    hints = pl.concat([kn, ph_hints.join(kn, on=["li", "ri"], how="anti")])
    return allc.join(hints, on=["li", "ri"], how="left").sort("li", "ri")


def candidates(
    left: pl.DataFrame,
    right: pl.DataFrame | None,
    ccfg: CandidateConfig,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
    store: DescriptorStore | None = None,
) -> pl.DataFrame:
    """Candidate pairs (li, ri, via, coarse, hint); `right=None` means pairs within `left`
    (li < ri), else li indexes `left` and ri `right`."""
    store = store or DescriptorStore()
    frame = left if right is None else pl.concat([_cols(left), _cols(right)])
    store.ensure(frame, tick=task("descriptors", frame.height))
    if right is None:
        return _pairs(frame, frame.height, True, False, ccfg, store, task)
    p = _pairs(frame, left.height, False, True, ccfg, store, task)
    return p.with_columns(pl.col("ri") - left.height)


def _cols(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        "image_path", pl.col("sha256").cast(pl.String), pl.col("phash").cast(pl.UInt64)
    )


def verify_batch(job: tuple[PixelConfig, list[tuple]]) -> list[tuple[int, int, Verdict]]:
    """The executor's batch function: the pixel verification of candidate pairs (li, ri, path a,
    path b, sha a, sha b, hint, coarse, via); returns the verified ones. An unreadable file gives a
    negative verdict (`compare_files`), so one bad image costs its pairs only."""
    pcfg, items = job
    out = []
    for li, ri, pa, pb, sa, sb, h, coarse, via in items:
        if sa and sa == sb:
            out.append((li, ri, Verdict(True, "sha256", 1.0)))
            continue
        hint = (
            None
            if h is None
            else (h["side"], coarse, {k: h[k] for k in ("scale", "x", "y", "w", "h")})
        )
        # a pair only the crop search proposed, placed as a crop (template under 90% of the
        # other's frame): no whole-frame comparison (a crop never matches one)
        whole = via != "knn" or hint is None or hint[2]["scale"] >= WHOLE_FRAME_SCALE
        v = compare_files(pa, pb, pcfg, hint, whole)
        if (
            not v.same
            and hint is not None
            and hint[1] >= pcfg.hint_recheck
            and v.score < pcfg.same_threshold
            and (
                hint[2]["scale"] >= WHOLE_FRAME_SCALE
                or (
                    v.score >= pcfg.recheck_min
                    and v.detail.get("rest", -1.0) >= pcfg.rest_min
                    and "whole" in v.detail
                )
            )
        ):
            # the 32-px location can be off by a scale step or point the wrong way; a pair
            # that close at 32 px, and polished close from the hinted start with its weaker
            # pixels agreeing there (`rest_min`), gets the full search at the coarse size before
            # it is dropped. Not rechecked: a pair that scored over the threshold and failed a
            # guard (its place was found; the guards judge what is there), nor one stopped
            # before the polish (at half resolution, by its far pixels or at whole pixels), nor
            # one whose weaker pixels disagree at the polished place: a look-alike by its strong
            # structures. At 20,000 bench images the 6 pairs a recheck turned into matches were
            # all polished with rest >= 0.587; of 37 rechecks in 6,000 sampled items none
            # turned, and 26 of them stopped before the polish or had rest < 0.5 (docs/audit.md,
            # "Eighth round").
            # A near-whole-frame hint is rechecked whatever its pass scored: when two frames
            # nearly coincide, 32 px cannot tell which is inside which, and from the wrong side
            # the hinted pass scores nothing (the scale bench: 237 such pairs of 90,332 at
            # 20,000 images, one of them a planted copy)
            v = compare_files(pa, pb, pcfg)
        if v.same:
            out.append((li, ri, v))
    return out


def verify(
    left: pl.DataFrame,
    right: pl.DataFrame,
    pairs: pl.DataFrame,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
    executor=None,
) -> list[tuple[int, int, Verdict, str]]:
    """Pixel verification of candidate pairs; returns the verified ones (li, ri, verdict, via)."""
    from radvqa_data.executor import make_executor

    tick = task("verify candidates", pairs.height)
    lp, rp = left["image_path"].to_list(), right["image_path"].to_list()
    ls, rs = left["sha256"].to_list(), right["sha256"].to_list()
    has_hint = "hint" in pairs.columns
    items, via = [], {}
    for r in pairs.iter_rows(named=True):
        li, ri = r["li"], r["ri"]
        via[(li, ri)] = r["via"]
        h = r["hint"] if has_hint else None
        items.append((li, ri, lp[li], rp[ri], ls[li], rs[ri], h, r.get("coarse"), r["via"]))
    order = locality_order(pairs["li"].to_numpy(), pairs["ri"].to_numpy(), left is right)
    items = [items[k] for k in order]
    ex = executor or make_executor("local")
    batches = [(pcfg, items[s : s + VERIFY_BATCH]) for s in range(0, len(items), VERIFY_BATCH)]
    out = []
    for got, b in zip(ex.map(verify_batch, batches, ordered=True), batches, strict=True):
        out += [(li, ri, v, via[(li, ri)]) for li, ri, v in got]
        tick(len(b[1]))
    return sorted(out, key=lambda t: (t[0], t[1]))  # the candidates' order, however verified


def locality_order(li: np.ndarray, ri: np.ndarray, one_frame: bool = True) -> np.ndarray:
    """An order of the pairs (li[k], ri[k]) in which pairs that share an image come close
    together: a worker's decode cache (`pixels.THUMB_CACHE`) then finds an image it decoded
    for an earlier pair. The images are numbered by reverse Cuthill-McKee on the pair graph (a
    numbering that keeps linked images close), and the pairs sorted by their images' numbers.
    At 20,000 bench images the decodes per pair went from 0.67 to 0.47 (at 2,500: 0.45 to
    0.40); docs/audit.md, "Eighth round". `one_frame=False`: `li` and `ri` index two frames."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    if len(li) < 2:
        return np.arange(len(li))
    a, b = li.astype(np.int64), ri.astype(np.int64)
    if not one_frame:  # one node per image of either frame
        b = b + int(a.max()) + 1
    n = int(max(a.max(), b.max())) + 1
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    perm = reverse_cuthill_mckee((g + g.T).tocsr(), symmetric_mode=True)
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.arange(n)
    ra, rb = rank[a], rank[b]
    return np.lexsort((np.maximum(ra, rb), np.minimum(ra, rb)))


def _side(r: dict) -> Side:
    splits = r.get("splits")  # protected images only: the splits their questions are in
    many = tuple(splits) if r["split"] is None and splits else None
    return Side(r["source"], r["split"], r["image_id"], None, None, many)


def _finding(kind: str, a: dict, b: dict, v: Verdict, via: str) -> Finding:
    extra = {"candidate": via, **v.detail, "path_a": a["image_path"], "path_b": b["image_path"]}
    return Finding(kind, _side(a), _side(b), v.method, v.score, extra)


def image_findings(
    imgs: pl.DataFrame,
    protected: pl.DataFrame,
    want_same: bool,
    want_bench: bool,
    ccfg: CandidateConfig,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
    store: DescriptorStore | None = None,
    executor=None,
    secs: dict[str, float] | None = None,
    coarse_workers: int = 1,
) -> tuple[list[Finding], list[Finding]]:
    """(image_same_picture among `imgs`, benchmark_image of `imgs` against `protected`).

    `coarse_workers`: forked processes for the coarse crop search (local runs; 1 in-process).

    An audited image that *is* a protected image (same source and id) is a benchmark_image with
    method 'same-id', without pixel work; an image never pairs with itself.
    """
    store = store or DescriptorStore()
    want_bench = want_bench and protected.height > 0 and imgs.height > 0
    want_same = want_same and imgs.height > 1
    same: list[Finding] = []
    bench: list[Finding] = []
    if not (want_same or want_bench):
        return same, bench
    recs = imgs.to_dicts()
    prec = protected.to_dicts() if want_bench else []
    if want_bench:
        key_p = {(r["source"], r["image_id"]): r for r in prec}
        for r in recs:
            p = key_p.get((r["source"], r["image_id"]))
            if p is not None:
                bench.append(
                    Finding(
                        "benchmark_image",
                        _side(r),
                        _side(p),
                        "same-id",
                        1.0,
                        {"path_a": r["image_path"], "path_b": p["image_path"]},
                    )
                )
    frame = pl.concat([_cols(imgs)] + ([_cols(protected)] if want_bench else []))
    store.ensure(frame, tick=task("descriptors", frame.height))  # a no-op when run.py did it
    secs = {} if secs is None else secs
    pairs = _pairs(
        frame, imgs.height, want_same, want_bench, ccfg, store, task, secs, coarse_workers
    )
    allr = recs + prec
    import time

    t = time.perf_counter()
    verified = verify(frame, frame, pairs, pcfg, task, executor)
    secs["verify"] = time.perf_counter() - t
    for li, ri, v, via in verified:
        a, b = allr[li], allr[ri]
        if (a["source"], a["image_id"]) == (b["source"], b["image_id"]):
            continue
        if ri < imgs.height:
            same.append(_finding("image_same_picture", a, b, v, via))
        else:
            bench.append(_finding("benchmark_image", a, b, v, via))
    return same, bench


def same_picture(
    imgs: pl.DataFrame, ccfg: CandidateConfig, pcfg: PixelConfig, task: TaskFactory = no_progress
) -> list[Finding]:
    """image_same_picture among `imgs` (pairs with different ids, any splits)."""
    return image_findings(imgs, pl.DataFrame(), True, False, ccfg, pcfg, task)[0]


def benchmark_images(
    imgs: pl.DataFrame,
    protected: pl.DataFrame,
    ccfg: CandidateConfig,
    pcfg: PixelConfig,
    task: TaskFactory = no_progress,
) -> list[Finding]:
    """benchmark_image: audited images that are the same picture as a protected image."""
    return image_findings(imgs, protected, False, True, ccfg, pcfg, task)[1]
