"""Crop-path candidates without comparing all pairs: an approximate nearest-neighbour index of
the descriptors' query parts, queried by every image's window parts, then the batched coarse crop
search (`coarse`) on each image's short list.

Pair (x, y) is similar when y's central part looks like one of x's windows (y is a crop of x) or
the other way round. The index holds the query parts (6 vectors per image); an image queries it
with its 75 windows, so "y inside x" is found when x queries and "x inside y" when y does, and
the pair keeps the better of the two. Index memory: 6 x 144 float16 per image plus the graph;
each query costs ~log(N): the candidate search grows linearly with the image count, where the
all-pairs matrix product it replaces grew with its square.

Library: FAISS `IndexHNSWSQ` with float16 storage (inner product on unit vectors = cosine;
lossless here, see `ann_shortlist`). Measured against hnswlib 0.8 on the same vectors, see
docs/audit.md (Scale).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import polars as pl

from radvqa_data.audit.descriptor_store import DescriptorStore
from radvqa_data.audit.descriptors import window_parts
from radvqa_data.audit.images import CandidateConfig

QUERY_BATCH = 256  # images whose windows query the index at once: bounds the query memory
HNSW_M = 16  # graph degree; higher: better recall, more memory and build time
EF_CONSTRUCTION = 80
EF_SEARCH = 32  # candidates explored per query; higher: better recall, slower queries
K_PER_WINDOW = 8  # neighbours per window vector
SEARCH_THREADS = min(2, os.cpu_count() or 1)  # OpenMP threads of the index queries


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - a declared dependency
        from radvqa_data.core.errors import ConfigError

        raise ConfigError("the image checks need faiss: pip install faiss-cpu") from exc
    faiss.omp_set_num_threads(1)  # OpenMP threads spin under a busy machine; queries are batched
    return faiss


def ann_shortlist(
    store: DescriptorStore,
    keys: list[str],
    allowed: Callable[[np.ndarray, np.ndarray], np.ndarray],
    cfg: CandidateConfig,
    tick: Callable[[int], None] | None = None,
    group: np.ndarray | None = None,
) -> pl.DataFrame:
    """Each image's `cfg.shortlist` most similar partners of each group (columns li < ri, sim).

    `keys[i]`: image i's store key; `allowed(i, j)`: mask of the index pairs worth comparing
    (e.g. not two protected images); `group[i]`: image i's group (audited 0, protected 1): an
    image keeps its best partners *per partner group*, so the slices of its own series never
    crowd a benchmark copy out of its short list.
    """
    group = np.zeros(len(keys), dtype=np.int64) if group is None else np.asarray(group)
    faiss = _faiss()
    rows = [store.get(k) for k in keys]
    ok = np.array([r is not None and r.thumb is not None for r in rows])
    idx = np.flatnonzero(ok)
    empty = pl.DataFrame(schema={"li": pl.Int64, "ri": pl.Int64, "sim": pl.Float64})
    if len(idx) < 2:
        return empty
    nq = rows[idx[0]].query.shape[0]
    vecs = np.concatenate([rows[i].query for i in idx]).astype(np.float32)
    owner = np.repeat(idx, nq)
    # float16 storage: the query parts are float16 values already (`descriptors.describe`), so
    # the graph and every answer are those of float32 storage, in half the memory (and a few %
    # faster at 20,000 images, where the vectors no longer fit the CPU's cache)
    index = faiss.IndexHNSWSQ(
        vecs.shape[1], faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT
    )
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(vecs)
    index.hnsw.efSearch = EF_SEARCH
    del vecs
    # the queries (~60% of this stage) on every core: each query is answered on its own, so the
    # result does not depend on the thread count (one thread again for anything after)
    faiss.omp_set_num_threads(SEARCH_THREADS)
    parts = []
    for s in range(0, len(idx), QUERY_BATCH):
        qi = idx[s : s + QUERY_BATCH]
        win = [window_parts(rows[i].thumb) for i in qi]
        nw = win[0].shape[0]
        sims, hits = index.search(np.concatenate(win), K_PER_WINDOW)
        q = np.repeat(qi, nw * K_PER_WINDOW)
        p = owner[np.maximum(hits.ravel(), 0)]
        sim = sims.ravel()
        keep = (hits.ravel() >= 0) & (p != q) & (sim >= cfg.shortlist_min)
        q, p, sim = q[keep], p[keep], sim[keep]
        keep = allowed(q, p)
        q, p, sim = q[keep], p[keep], sim[keep]
        df = pl.DataFrame({"q": q, "p": p, "g": group[p], "sim": sim.astype(np.float64)})
        # an image's best partners from its own queries (y's central part inside it)
        df = (
            df.group_by("q", "p", "g")
            .agg(pl.col("sim").max())
            .sort("sim", descending=True)
            .group_by("q", "g", maintain_order=True)
            .head(cfg.shortlist)
        )
        parts.append(
            df.select(
                pl.min_horizontal("q", "p").cast(pl.Int64).alias("li"),
                pl.max_horizontal("q", "p").cast(pl.Int64).alias("ri"),
                "sim",
            )
        )
        if tick:
            tick(len(qi))
    faiss.omp_set_num_threads(1)
    if not parts:
        return empty
    pairs = pl.concat(parts).group_by("li", "ri").agg(pl.col("sim").max())
    gs = pl.Series(group)
    pairs = pairs.with_columns(
        gs.gather(pairs["li"]).alias("gl"), gs.gather(pairs["ri"]).alias("gr")
    )
    # every image keeps its best partners (per partner group) seen from either side
    by = [
        pairs.sort("sim", descending=True)
        .group_by(side, other, maintain_order=True)
        .head(cfg.shortlist)
        for side, other in (("li", "gr"), ("ri", "gl"))
    ]
    return (
        pl.concat([b.select("li", "ri", "sim") for b in by]).unique(["li", "ri"]).sort("li", "ri")
    )


def coarse_rank(
    store: DescriptorStore,
    keys: list[str],
    short: pl.DataFrame,
    cfg: CandidateConfig,
    tick: Callable[[int], None] | None = None,
    group: np.ndarray | None = None,
    workers: int = 1,
    extra: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pairs worth a pixel verification (li, ri, coarse, hint): the coarse crop search on the
    short list, one search per template source against all its partners (`workers` forked
    processes share the searches out). `extra`: more pairs (li, ri) searched in the same pass
    and returned second, each with its coarse score and hint whatever they are (the perceptual
    hash's candidates: the hint spares their verification the full search)."""
    from radvqa_data.audit.coarse import pad_views, score_arrays_padded

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
    extra = (
        empty.select("li", "ri")
        if extra is None
        else extra.select(pl.col("li", "ri").cast(pl.Int64))
    )
    if short.height == 0 and extra.height == 0:
        return empty, empty
    # every image's view padded and prepared once (~30 KB per image at 32 px); one search per
    # template source
    views = [store.get(k) for k in keys]
    img, shape = pad_views([None if r is None else r.gate for r in views], cfg.gate_size)
    # an extra pair with an image not described (unreadable) gets no hint: its verification
    # says so
    seen = pl.Series([r is not None and r.gate is not None for r in views])
    extra = extra.filter(seen.gather(extra["li"]) & seen.gather(extra["ri"]))
    del views
    li = np.concatenate([short["li"].to_numpy(), extra["li"].to_numpy()]).astype(np.int64)
    ri = np.concatenate([short["ri"].to_numpy(), extra["ri"].to_numpy()]).astype(np.int64)
    scores, side, where = score_arrays_padded(img, shape, li, ri, tick, workers)
    del img

    def hinted(df: pl.DataFrame, at: np.ndarray) -> pl.DataFrame:
        # the hints as columns: no Python object per pair
        return df.with_columns(
            pl.Series("coarse", scores[at]),
            pl.struct(
                pl.Series("side", np.where(side[at] == 0, "a", "b")),
                *(pl.Series(k, where[at, j]) for j, k in enumerate(("scale", "x", "y", "w", "h"))),
            ).alias("hint"),
        )

    extra = hinted(extra, np.arange(short.height, len(li)))
    if short.height == 0:
        return empty, extra
    # the gate first (the short list's pairs come first in the arrays), then the hints
    ok = scores[: short.height] >= cfg.gate_min
    ranked_df = hinted(short.filter(pl.Series(ok)), np.flatnonzero(ok))
    gs = pl.Series(np.zeros(len(keys), dtype=np.int64) if group is None else np.asarray(group))
    ranked_df = ranked_df.with_columns(
        gs.gather(ranked_df["li"]).alias("gl"), gs.gather(ranked_df["ri"]).alias("gr")
    )
    sides = (("li", "gr"), ("ri", "gl"))
    # every image's best few partners (per partner group), seen from either side
    by_coarse = [
        ranked_df.sort("coarse", descending=True).group_by(*sd, maintain_order=True).head(cfg.knn)
        for sd in sides
    ]
    # and its nearest descriptor neighbour: heavy overlays can sink a true pair's 32-px score
    # below look-alikes' while the descriptor still puts it first
    by_desc = [
        ranked_df.filter(pl.col("sim") >= cfg.knn_min)
        .sort("sim", descending=True)
        .group_by(*sd, maintain_order=True)
        .head(1)
        for sd in sides
    ]
    cols = ["li", "ri", "sim", "coarse", "hint"]
    keep = pl.concat([k.select(cols) for k in by_coarse + by_desc]).unique(["li", "ri"])
    return (keep.select("li", "ri", "coarse", "hint") if keep.height else empty), extra
