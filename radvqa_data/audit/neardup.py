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

from radvqa_data.audit.defaults import NEAR_DUP_THRESHOLD


@dataclass(frozen=True)
class NearDupConfig:
    """Knobs of the near-duplicate search."""

    threshold: float = NEAR_DUP_THRESHOLD  # a pair's rapidfuzz score; lower: more pairs, more noise
    shingle: int = 4  # byte n-gram size of the MinHash shingles (<= 4); smaller: more collisions
    bands: int = 24  # LSH bands; more: higher recall, more candidates to verify
    rows: int = 3  # hashes per band; fewer: higher recall, more candidates
    seed: int = 7
    max_bucket: int = (
        2000  # buckets larger than this are verified in blocks (rare, degenerate texts)
    )
    terms: bool = True  # paraphrases must also agree on their terms (audit.terms); off: text alone


def _shingle_ids(texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct byte k-grams (k <= 4) of every text, vectorized: (doc index, k-gram code),
    sorted by document. A per-shingle Python loop takes ~3 us a shingle; this ~50 ns."""
    if not 1 <= k <= 4:
        raise ValueError("shingle size must be 1..4 bytes")
    enc = [f" {t} ".encode() for t in texts]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    buf = np.frombuffer(b"".join(enc), dtype=np.uint8).astype(np.uint64)
    n = buf.shape[0]
    if n < k:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.uint64), lens)
    code = np.zeros(n - k + 1, dtype=np.uint64)
    for j in range(k):
        code = (code << np.uint64(8)) | buf[j : n - k + 1 + j]
    valid = doc_of[: n - k + 1] == doc_of[k - 1 :]  # k-grams inside one text only
    key = np.unique((doc_of[: n - k + 1][valid] << np.uint64(32)) | code[valid])
    return (key >> np.uint64(32)).astype(np.int64), key & np.uint64(0xFFFFFFFF)


def minhash_signatures(texts: list[str], num_perm: int, k: int = 3, seed: int = 7) -> np.ndarray:
    """MinHash signatures, shape (len(texts), num_perm), uint32."""
    doc, sh = _shingle_ids(texts, k)
    rng = np.random.default_rng(seed)
    a = (rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    # spread the k-gram codes first (they are small integers) with a fixed 64-bit mix
    sh = ((sh * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)).astype(np.uint32)
    sig = np.full((len(texts), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    step = 1 << 17  # shingles per chunk: bounds memory at ~num_perm * 0.5 MB
    for s in range(0, len(sh), step):
        x = sh[s : s + step]
        # a*x + b mod 2^32 (a odd): a permutation of the 32-bit values per hash function;
        # 32-bit arithmetic is twice as fast as 64-bit here
        hv = x[:, None] * a[None, :] + b[None, :]
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
        key = cols[:, 0].astype(np.uint64)
        for c in range(1, cols.shape[1]):
            key = key * np.uint64(1000003) ^ cols[:, c].astype(np.uint64)
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


def _char_counts(texts: list[str]) -> np.ndarray:
    """Per text, its counts of [a-z0-9 ] plus one bin for any other character (int32)."""
    buf = np.frombuffer("\x00".join(texts).encode("utf-32-le"), dtype=np.uint32)
    lut = np.full(129, 37, dtype=np.uint8)
    for k, ch in enumerate("abcdefghijklmnopqrstuvwxyz0123456789 "):
        lut[ord(ch)] = k
    lut[0] = 38  # the separator
    code = lut[np.minimum(buf, 128)]
    doc = np.cumsum(code == 38, dtype=np.int32)  # text index of every character
    keep = code != 38
    flat = np.bincount(doc[keep] * np.int32(38) + code[keep], minlength=len(texts) * 38)
    return flat.reshape(len(texts), 38).astype(np.int32)


def could_reach(texts: list[str], cand: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of candidate pairs that can score >= threshold at all (an exact bound, no recall lost).

    Both scorers are 200 * LCS / (len a + len b) on some ordering of the same characters, and
    the longest common subsequence cannot exceed the shorter text nor the characters the two
    texts share (as multisets): pairs below either bound are dropped before the expensive
    scoring. All-pairs within an image's ~10 questions makes millions of pairs at 2M rows;
    most fail here.
    """
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    la, lb = lens[cand[:, 0]], lens[cand[:, 1]]
    ok = 200.0 * np.minimum(la, lb) >= threshold * np.maximum(la + lb, 1) - 1e-6
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return ok
    used, inv = np.unique(cand[idx], return_inverse=True)
    inv = inv.reshape(-1, 2)
    counts = _char_counts([texts[k] for k in used])
    step = 1 << 19
    for s in range(0, len(idx), step):
        c = inv[s : s + step]
        tot = la[idx[s : s + step]] + lb[idx[s : s + step]]
        shared = np.minimum(counts[c[:, 0]], counts[c[:, 1]]).sum(axis=1)
        ok[idx[s : s + step]] = 200.0 * shared >= threshold * np.maximum(tot, 1) - 1e-6
    return ok


def verify_pairs(texts: list[str], cand: np.ndarray, threshold: float) -> pl.DataFrame:
    """Keep candidate pairs whose rapidfuzz score reaches `threshold` (exact pairs included).

    Pairs that cannot reach it (`could_reach`) are dropped first; the others are scored pairwise
    in C (`process.cpdist`), in blocks to bound memory.
    """
    from rapidfuzz import fuzz, process

    out_i, out_j, out_s = [], [], []
    arr = np.asarray(texts, dtype=object)
    cand = cand[could_reach(texts, cand, threshold)] if cand.shape[0] else cand
    step = 1 << 18
    for s in range(0, cand.shape[0], step):
        c = cand[s : s + step]
        a, b = arr[c[:, 0]].tolist(), arr[c[:, 1]].tolist()
        sc = np.maximum(
            process.cpdist(a, b, scorer=fuzz.ratio, workers=-1),
            process.cpdist(a, b, scorer=fuzz.token_sort_ratio, workers=-1),
        )
        keep = sc >= threshold
        out_i.append(c[keep, 0])
        out_j.append(c[keep, 1])
        out_s.append(sc[keep].astype(np.float64))
    if not out_i:
        return pl.DataFrame(schema={"i": pl.Int64, "j": pl.Int64, "score": pl.Float64})
    return pl.DataFrame(
        {"i": np.concatenate(out_i), "j": np.concatenate(out_j), "score": np.concatenate(out_s)},
        schema={"i": pl.Int64, "j": pl.Int64, "score": pl.Float64},
    )


def scoped_pairs(
    scope: np.ndarray, tid: np.ndarray, texts: list[str], cfg: NearDupConfig, small: int = 64
) -> pl.DataFrame:
    """Near-duplicate text pairs *within* each scope (e.g. one image): columns scope, i, j, score.

    `scope`/`tid`: one entry per (scope, distinct text). Small scopes (<= `small` texts, the usual
    case: ~10 questions per image) are compared all-pairs; large scopes (a table without an image
    column is one scope) go through MinHash-LSH with the scope in the bucket key. Either way every
    candidate is verified with rapidfuzz.
    """
    df = pl.DataFrame({"scope": scope, "t": tid}).unique()
    df = df.with_columns(pl.len().over("scope").alias("n"))
    parts = []
    sm = df.filter(pl.col("n").is_between(2, small))
    if sm.height:
        a = sm.select("scope", pl.col("t").alias("i"))
        b = sm.select("scope", pl.col("t").alias("j"))
        parts.append(a.join(b, on="scope").filter(pl.col("i") < pl.col("j")))
    big = df.filter(pl.col("n") > small)
    if big.height:
        used = np.unique(big["t"].to_numpy())
        sig = minhash_signatures(
            [texts[k] for k in used], cfg.bands * cfg.rows, cfg.shingle, cfg.seed
        )
        row_of = {int(k): r for r, k in enumerate(used)}
        rows = np.array([row_of[int(k)] for k in big["t"].to_list()], dtype=np.int64)
        sc = big["scope"].to_numpy()
        for bnd in range(cfg.bands):
            cols = sig[rows, bnd * cfg.rows : (bnd + 1) * cfg.rows]
            key = cols[:, 0].astype(np.uint64)
            for c in range(1, cols.shape[1]):
                key = key * np.uint64(1000003) ^ cols[:, c].astype(np.uint64)
            g = pl.DataFrame({"scope": sc, "k": key, "t": big["t"].to_numpy()})
            a = g.rename({"t": "i"})
            b = g.rename({"t": "j"})
            parts.append(
                a.join(b, on=["scope", "k"])
                .filter(pl.col("i") < pl.col("j"))
                .select("scope", "i", "j")
            )
    if not parts:
        return pl.DataFrame(
            schema={"scope": df.schema["scope"], "i": pl.Int64, "j": pl.Int64, "score": pl.Float64}
        )
    cand = pl.concat([p.select("scope", "i", "j") for p in parts]).unique()
    tp = cand.select("i", "j").unique()
    ver = verify_pairs(texts, tp.to_numpy(), cfg.threshold)
    return cand.join(ver, on=["i", "j"])
