"""Near-duplicate text pairs without comparing all pairs: MinHash + LSH banding, then exact
verification of each candidate with rapidfuzz.

Works on *distinct* normalized texts: a template question asked of 10,000 images is one text
here, so LSH buckets stay small; callers join the text pairs back to their rows.

MinHash is computed with numpy over all shingles at once (datasketch's per-document Python
loop is ~50x slower at 200k texts; the estimator is the same: min over universal hashes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

_PRIME = np.uint64((1 << 61) - 1)


@dataclass(frozen=True)
class NearDupConfig:
    """Knobs of the near-duplicate search."""

    threshold: float = 90.0  # rapidfuzz score (0-100) a pair needs; lower: more paraphrases, more noise
    shingle: int = 3  # character n-gram size of the MinHash shingles
    bands: int = 32  # LSH bands; more: higher recall, more candidates to verify
    rows: int = 2  # hashes per band; fewer: higher recall, more candidates
    seed: int = 7
    max_bucket: int = 2000  # buckets larger than this are verified in blocks (rare, degenerate texts)


def _shingle_ids(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed character k-grams of every text: (doc index per shingle, 64-bit shingle hash)."""
    docs: list[int] = []
    hashes: list[int] = []
    for i, t in enumerate(texts):
        s = f" {t} "
        grams = {s[j : j + k] for j in range(max(1, len(s) - k + 1))}
        docs.extend([i] * len(grams))
        hashes.extend(hash(g) for g in grams)  # PYTHONHASHSEED varies, but only within one run
    return np.asarray(docs, dtype=np.int64), np.asarray(hashes, dtype=np.int64).view(np.uint64)


def minhash_signatures(texts: list[str], num_perm: int, k: int = 3, seed: int = 7) -> np.ndarray:
    """MinHash signatures, shape (len(texts), num_perm), uint64."""
    doc, sh = _shingle_ids(texts, k)
    rng = np.random.default_rng(seed)
    a = rng.integers(1, (1 << 61) - 1, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, (1 << 61) - 1, size=num_perm, dtype=np.uint64)
    sig = np.full((len(texts), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    sh = sh % _PRIME
    step = 1 << 18  # shingles per chunk: bounds memory at ~num_perm * 2 MB
    for s in range(0, len(sh), step):
        x = sh[s : s + step]
        # (a*x + b) mod p with wraparound: a universal-enough hash family for MinHash
        hv = (x[:, None] * a[None, :] + b[None, :]) % _PRIME
        d = doc[s : s + step]
        # shingles arrive grouped by document, so a segmented min (reduceat) does the job
        starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        red = np.minimum.reduceat(hv, starts, axis=0)
        ud = d[starts]
        sig[ud] = np.minimum(sig[ud], red)
    return sig


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Index pairs (i < j) sharing at least one LSH band, shape (n, 2)."""
    n = sig.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    out = []
    idx = np.arange(n, dtype=np.int64)
    for bnd in range(bands):
        cols = sig[:, bnd * rows : (bnd + 1) * rows]
        key = cols[:, 0].copy()
        for c in range(1, cols.shape[1]):
            key = key * np.uint64(1000003) ^ cols[:, c]
        df = pl.DataFrame({"k": key, "i": idx})
        grp = df.group_by("k").agg(pl.col("i")).filter(pl.col("i").list.len() > 1)
        if grp.height == 0:
            continue
        pairs = (
            grp.select(pl.col("i").alias("i"), pl.col("i").alias("j"))
            .explode("i")
            .explode("j")
            .filter(pl.col("i") < pl.col("j"))
        )
        out.append(pairs.to_numpy())
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(out), axis=0)


def similarity(a: str, b: str) -> float:
    """Verification score 0-100: the better of plain and word-order-insensitive similarity."""
    from rapidfuzz import fuzz

    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def near_duplicate_texts(texts: list[str], cfg: NearDupConfig | None = None) -> pl.DataFrame:
    """Pairs of distinct texts (indices i < j) with similarity >= threshold: columns i, j, score."""
    cfg = cfg or NearDupConfig()
    if len(texts) < 2:
        return pl.DataFrame(schema={"i": pl.Int64, "j": pl.Int64, "score": pl.Float64})
    sig = minhash_signatures(texts, cfg.bands * cfg.rows, cfg.shingle, cfg.seed)
    cand = candidate_pairs(sig, cfg.bands, cfg.rows)
    return verify_pairs(texts, cand, cfg.threshold)


def verify_pairs(texts: list[str], cand: np.ndarray, threshold: float) -> pl.DataFrame:
    """Keep candidate pairs whose rapidfuzz score reaches `threshold` (exact pairs included)."""
    from rapidfuzz import fuzz

    keep_i, keep_j, scores = [], [], []
    ratio, tsort = fuzz.ratio, fuzz.token_sort_ratio
    for i, j in cand.tolist():
        a, b = texts[i], texts[j]
        s = ratio(a, b, score_cutoff=threshold)
        if not s:
            s = tsort(a, b, score_cutoff=threshold)
        if s:
            keep_i.append(i)
            keep_j.append(j)
            scores.append(float(s))
    return pl.DataFrame(
        {"i": keep_i, "j": keep_j, "score": scores},
        schema={"i": pl.Int64, "j": pl.Int64, "score": pl.Float64},
    )
