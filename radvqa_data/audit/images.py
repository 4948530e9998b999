"""Image records from the catalog and same-picture candidate generation (sub-quadratic).

Candidates come from three cheap paths; `pixels` then verifies each one:

- ``sha256``: byte-identical files (exact join).
- ``phash-band``: the 64-bit perceptual hash split into 8 bands of 8 bits; two images that
  share a band value and differ in at most `max_hamming` bits are candidates. By pigeonhole,
  every pair within 7 bits shares a band; DuckDB does the band self-join.
- ``knn``: crops and added borders move the perceptual hash far away; that path is the
  descriptor index (`descriptors`, `shortlist`) and the coarse crop search (`coarse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
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


def query_pl(con: duckdb.DuckDBPyConnection, q: str, params: list | None = None) -> pl.DataFrame:
    """Run a query and return a Polars frame (DuckDB 2 dropped `.pl()` on execute results)."""
    if params:
        return con.sql(q, params=params).pl()
    return con.sql(q).pl()
