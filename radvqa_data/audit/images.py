"""Image records from the catalog and same-picture candidate generation (sub-quadratic).

Candidates come from three cheap paths; `pixels` then verifies each one:

- ``sha256``: byte-identical files (exact join).
- ``phash-band``: the 64-bit perceptual hash split into 8 bands of 8 bits; two images that
  share a band value and differ in at most `max_hamming` bits are candidates. By pigeonhole,
  every pair within 7 bits shares a band; DuckDB does the band self-join.
- ``thumb-knn``: crops and added borders move the perceptual hash far away, so each query image
  also gets its `knn` nearest neighbours by a small crop-tolerant descriptor (a 12x12 thumbnail
  of the central region, z-normalized), compared in blocks with a matrix product. This path is
  linear in the protected/query set times the reference set, cheap at catalog scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

IMAGE_COLUMNS = "source, image_id, split, group_id, path, status, sha256, phash, modality, width, height, format"


@dataclass(frozen=True)
class CandidateConfig:
    """Candidate-generation knobs."""

    max_hamming: int = 12  # phash bits two candidates may differ by; higher: more candidates
    knn: int = 3  # descriptor neighbours per query image; higher: more crop recall, more verification
    knn_min: float = 0.85  # descriptor cosine below which a neighbour is not worth verifying


def load_images(con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list | None = None) -> pl.DataFrame:
    """Catalog images (status ok, with a file) matching `where`."""
    q = f"SELECT {IMAGE_COLUMNS} FROM images WHERE status = 'ok' AND path IS NOT NULL AND ({where})"
    return query_pl(con, q, params or [])


def phash_candidates(left: pl.DataFrame, right: pl.DataFrame, cfg: CandidateConfig, same_table: bool) -> pl.DataFrame:
    """Pairs (li, ri) of row indices with close perceptual hashes, plus sha256-identical pairs.

    `same_table`: left and right are one table; only pairs li < ri are returned.
    """
    con = duckdb.connect()
    con.register("l", left.select(pl.int_range(pl.len()).alias("li"), "phash", "sha256"))
    con.register("r", right.select(pl.int_range(pl.len()).alias("ri"), "phash", "sha256"))
    # An OR of band equalities would be a nested-loop join; unnesting (band, value) keys turns
    # it into one hash equi-join.
    q = f"""
    WITH lb AS (SELECT li, phash, b, (phash >> (8*b)) & 255 AS v FROM l, range(8) t(b) WHERE phash IS NOT NULL),
         rb AS (SELECT ri, phash, b, (phash >> (8*b)) & 255 AS v FROM r, range(8) t(b) WHERE phash IS NOT NULL),
         ph AS (
           SELECT DISTINCT lb.li, rb.ri, bit_count(xor(lb.phash, rb.phash)) AS ham
           FROM lb JOIN rb USING (b, v)
           WHERE bit_count(xor(lb.phash, rb.phash)) <= {int(cfg.max_hamming)}
         ),
         sh AS (SELECT l.li, r.ri, 0 AS ham FROM l JOIN r ON l.sha256 = r.sha256 WHERE l.sha256 IS NOT NULL)
    SELECT li, ri, min(ham) AS ham FROM (SELECT * FROM ph UNION ALL SELECT * FROM sh)
    {"WHERE li < ri" if same_table else ""}
    GROUP BY li, ri
    """
    out = query_pl(con, q)
    con.close()
    return out


#: central fractions the descriptor is taken at; comparing 0.8 against 0.6 matches a copy
#: cropped (or bordered) by ~25%, 0.8 against 0.8 a resized or lightly cropped copy
DESC_KEEPS = (0.8, 0.6)
DESC_GRID = 12


def descriptor(thumb: np.ndarray, grid: int = DESC_GRID) -> np.ndarray:
    """Crop-tolerant descriptors: the central parts (DESC_KEEPS) on a grid x grid, z-normalized,
    concatenated (shape len(DESC_KEEPS) * grid * grid)."""
    from radvqa_data.audit.pixels import _central, _resize

    parts = []
    for keep in DESC_KEEPS:
        v = _resize(_central(thumb, keep), grid, grid).ravel()
        v = v - v.mean()
        n = np.linalg.norm(v)
        parts.append(v / n if n > 1e-9 else v)
    return np.concatenate(parts)


def _similarity(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Best cosine over the scale pairings (same scale, query zoomed in, query zoomed out)."""
    g = DESC_GRID * DESC_GRID
    q0, q1, r0, r1 = q[:, :g], q[:, g:], r[:, :g], r[:, g:]
    return np.maximum(np.maximum(q0 @ r0.T, q1 @ r0.T), q0 @ r1.T)


def knn_candidates(q_desc: np.ndarray, r_desc: np.ndarray, cfg: CandidateConfig, same_table: bool) -> pl.DataFrame:
    """For each query descriptor, its `knn` best reference descriptors above `knn_min`."""
    rows_q, rows_r, sims = [], [], []
    k = min(cfg.knn + (1 if same_table else 0), r_desc.shape[0])
    if k == 0 or q_desc.shape[0] == 0:
        return pl.DataFrame(schema={"li": pl.Int64, "ri": pl.Int64, "sim": pl.Float64})
    step = 1024  # query block: bounds memory at step * len(reference) floats
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
    df = pl.DataFrame({"li": rows_q, "ri": rows_r, "sim": sims}, schema={"li": pl.Int64, "ri": pl.Int64, "sim": pl.Float64})
    return df.group_by("li", "ri").agg(pl.col("sim").max())


def query_pl(con: duckdb.DuckDBPyConnection, q: str, params: list | None = None) -> pl.DataFrame:
    """Run a query and return a Polars frame (DuckDB 2 dropped `.pl()` on execute results)."""
    if params:
        return con.sql(q, params=params).pl()
    return con.sql(q).pl()
