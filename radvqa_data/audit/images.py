"""Image records from the catalog and same-picture candidate generation (sub-quadratic).

Candidates come from three cheap paths; `pixels` then verifies each one:

- ``sha256``: byte-identical files (exact join).
- ``phash-band``: the 64-bit perceptual hash split into 8 bands of 8 bits; two images that
  share a band value and differ in at most `max_hamming` bits are candidates. By pigeonhole,
  every pair within 7 bits shares a band; DuckDB does the band self-join.
- ``knn``: crops and added borders move the perceptual hash far away, so each query image also
  gets its `knn` nearest neighbours by a small crop-tolerant descriptor (12x12 thumbnails of its
  central part, compared with 27 sub-windows of the other image: three sizes at 3x3 centres),
  in blocks with matrix products. Linear in (query set x reference set): cheap for a protected
  benchmark against a catalog; for all-pairs within a very large set it is the slow part.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from radvqa_data.reader.catalog import audit_images


@dataclass(frozen=True)
class CandidateConfig:
    """Candidate-generation knobs."""

    max_hamming: int = 12  # phash bits two candidates may differ by; higher: more candidates
    # descriptor neighbours per image given to the coarse crop search; higher: more recall, slower
    # (planted crops, exhaustive descriptor: the true partner is among the first 12 for 198 of
    # 200; through the approximate index 16 gave recall 0.945, 32 and 48 0.970)
    shortlist: int = 32
    shortlist_min: float = 0.3  # descriptor cosine below which a neighbour is not shortlisted
    gate_size: int = 32  # thumbnail size of the coarse crop search; higher: slower, no better here
    gate_min: float = 0.65  # coarse crop-search NCC a pair needs before pixel verification
    # per image, its best shortlisted pairs by coarse score that get verified; higher: more recall,
    # more verification (the expensive step; planted crops: 2 keeps 195 of 198 true pairs with
    # 1.6 verifications per image, 3 keeps 196 with 2.5)
    knn: int = 2
    # descriptor cosine from which an image's nearest neighbour is verified whatever its coarse rank
    knn_min: float = 0.8


def load_images(
    con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list | None = None
) -> pl.DataFrame:
    """Catalog images (status ok, with a file) matching `where` (read by `reader.catalog`)."""
    return audit_images(con, where, params)


def phash_candidates(
    left: pl.DataFrame, right: pl.DataFrame, cfg: CandidateConfig, same_table: bool
) -> pl.DataFrame:
    """Pairs (li, ri) of row indices with close perceptual hashes, plus sha256-identical pairs.

    `same_table`: left and right are one table; only pairs li < ri are returned.
    """
    with duckdb.connect() as con:
        con.register("l", left.select(pl.int_range(pl.len()).alias("li"), "phash", "sha256"))
        con.register("r", right.select(pl.int_range(pl.len()).alias("ri"), "phash", "sha256"))
        # An OR of band equalities would be a nested-loop join; unnesting (band, value) keys turns
        # it into one hash equi-join.
        q = f"""
        WITH lb AS (SELECT li, phash, b, (phash >> (8*b)) & 255 AS v FROM l, range(8) t(b)
                    WHERE phash IS NOT NULL),
             rb AS (SELECT ri, phash, b, (phash >> (8*b)) & 255 AS v FROM r, range(8) t(b)
                    WHERE phash IS NOT NULL),
             ph AS (
               SELECT DISTINCT lb.li, rb.ri, bit_count(xor(lb.phash, rb.phash)) AS ham
               FROM lb JOIN rb USING (b, v)
               WHERE bit_count(xor(lb.phash, rb.phash)) <= {int(cfg.max_hamming)}
             ),
             sh AS (SELECT l.li, r.ri, 0 AS ham FROM l JOIN r ON l.sha256 = r.sha256
                    WHERE l.sha256 IS NOT NULL)
        SELECT li, ri, min(ham) AS ham FROM (SELECT * FROM ph UNION ALL SELECT * FROM sh)
        {"WHERE li < ri" if same_table else ""}
        GROUP BY li, ri
        """
        out = query_pl(con, q)
    return out


#: query parts: the central 80% and 60% of an image
DESC_QUERY = (0.8, 0.6)
#: window parts: sub-windows of four sizes, the smaller ones at more centres (up to +-25% of the
#: frame): where a crop's central part sits in the original, also when the crop is off-centre
#: (planted off-centre crops of >= 50% area: the true partner among the first 10 for 97%,
#: against 94% with the first version's 27 windows at +-10%)
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
DESC_GRID = 12
DESC_PARTS = len(DESC_QUERY) + len(DESC_WINDOWS)


def _window(a: np.ndarray, size: float, dx: float, dy: float) -> np.ndarray:
    h, w = a.shape
    cx, cy = 0.5 + dx, 0.5 + dy
    x0, x1 = max(0.0, cx - size / 2), min(1.0, cx + size / 2)
    y0, y1 = max(0.0, cy - size / 2), min(1.0, cy + size / 2)
    return a[
        round(h * y0) : max(round(h * y0) + 2, round(h * y1)),
        round(w * x0) : max(round(w * x0) + 2, round(w * x1)),
    ]


def descriptor(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """Crop-tolerant descriptor, shape (DESC_PARTS, grid * grid): the query parts then the window
    parts, each resized to grid x grid and z-normalized."""
    from radvqa_data.audit.pixels import _central, _resize

    parts = [_central(thumb, k) for k in DESC_QUERY] + [_window(thumb, *wd) for wd in DESC_WINDOWS]
    out = np.zeros((len(parts), grid * grid), dtype=np.float32)
    for i, p in enumerate(parts):
        v = _resize(p, grid, grid).ravel()
        v = v - v.mean()
        n = np.linalg.norm(v)
        out[i] = v / n if n > 1e-9 else v
    return out


def _similarity(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(len(q), len(r)): best cosine of a query part of one image with a window part of the other,
    in both directions (a crop of the other, or the other a crop of it)."""
    nq = len(DESC_QUERY)

    def one_way(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        qa = x[:, :nq].reshape(-1, x.shape[2])
        wb = y[:, nq:].reshape(-1, y.shape[2])
        return (qa @ wb.T).reshape(x.shape[0], nq, y.shape[0], -1).max(axis=(1, 3))

    return np.maximum(one_way(q, r), one_way(r, q).T)


def knn_candidates(
    q_desc: np.ndarray, r_desc: np.ndarray, cfg: CandidateConfig, same_table: bool
) -> pl.DataFrame:
    """For each query image, its `knn` best reference images above `knn_min` (blocks of queries
    against all references: linear in the reference set per query)."""
    rows_q, rows_r, sims = [], [], []
    k = min(cfg.knn + (1 if same_table else 0), r_desc.shape[0])
    if k == 0 or q_desc.shape[0] == 0:
        return pl.DataFrame(schema={"li": pl.Int64, "ri": pl.Int64, "sim": pl.Float64})
    step = 128  # query block: bounds memory at step * len(reference) * parts^2 floats
    for s in range(0, q_desc.shape[0], step):
        S = _similarity(q_desc[s : s + step], r_desc)
        if same_table:
            idx = np.arange(s, min(s + step, q_desc.shape[0]))
            S[idx - s, idx] = -1.0
        top = np.argpartition(-S, k - 1, axis=1)[:, :k]
        for qi in range(top.shape[0]):
            for ri in top[qi]:
                if S[qi, ri] >= cfg.knn_min:
                    a, b = s + qi, int(ri)
                    if same_table and a > b:
                        a, b = b, a
                    rows_q.append(a)
                    rows_r.append(b)
                    sims.append(float(S[qi, ri]))
    df = pl.DataFrame(
        {"li": rows_q, "ri": rows_r, "sim": sims},
        schema={"li": pl.Int64, "ri": pl.Int64, "sim": pl.Float64},
    )
    return df.group_by("li", "ri").agg(pl.col("sim").max())


def query_pl(con: duckdb.DuckDBPyConnection, q: str, params: list | None = None) -> pl.DataFrame:
    """Run a query and return a Polars frame (DuckDB 2 dropped `.pl()` on execute results)."""
    if params:
        return con.sql(q, params=params).pl()
    return con.sql(q).pl()
