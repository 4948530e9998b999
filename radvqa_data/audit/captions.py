"""Check 5: caption leakage, identical or near-identical captions across splits.

Works on distinct normalized texts (exact join, then MinHash-LSH + rapidfuzz for near ones) and
reports every pair of images in different (source, split) whose captions match. Pairs within one
split are not leakage and are not reported here.
"""

from __future__ import annotations

import polars as pl

from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.neardup import NearDupConfig, near_duplicate_texts
from radvqa_data.audit.normalize import normalize_many
from radvqa_data.core.splits import priority

#: at most this many findings per pair of distinct texts (a caption like "Preoperative radiograph"
#: can repeat dozens of times; the count per split pair is still exact in the summary)
MAX_PAIRS_PER_TEXT = 50


def caption_leaks(texts: pl.DataFrame, cfg: NearDupConfig, near: bool = True) -> list[Finding]:
    """`texts`: columns source, image_id, split, text. Cross-split exact and near matches."""
    t = texts.filter(pl.col("text").is_not_null() & pl.col("split").is_not_null())
    if t.height == 0:
        return []
    t = t.with_columns(
        pl.Series("nt", normalize_many(t["text"].to_list()), dtype=pl.String)
    ).filter(pl.col("nt").str.len_chars() > 0)
    distinct = t["nt"].unique().sort().to_list()
    tid = pl.DataFrame(
        {"nt": distinct, "t": list(range(len(distinct)))}, schema={"nt": pl.String, "t": pl.Int64}
    )
    t = t.join(tid, on="nt")
    exact = pl.DataFrame(
        {
            "i": list(range(len(distinct))),
            "j": list(range(len(distinct))),
            "score": [100.0] * len(distinct),
        },
        schema={"i": pl.Int64, "j": pl.Int64, "score": pl.Float64},
    )
    pairs = exact
    if near:
        pairs = pl.concat([exact, near_duplicate_texts(distinct, cfg)])
    # only texts present in >= 2 (source, split) groups can leak
    a = t.rename({c: f"{c}_a" for c in t.columns if c != "t"}).rename({"t": "i"})
    b = t.rename({c: f"{c}_b" for c in t.columns if c != "t"}).rename({"t": "j"})
    j = (
        pairs.join(a, on="i")
        .join(b, on="j")
        .filter(
            (pl.col("source_a") != pl.col("source_b")) | (pl.col("split_a") != pl.col("split_b"))
        )
        .filter(pl.col("image_id_a") != pl.col("image_id_b"))
    )
    if j.height == 0:
        return []
    # orient: side a = the less protected split; exact pairs (i == j) are found in both orders
    j = j.with_columns(
        pl.col("split_a").map_elements(priority, return_dtype=pl.Int64).alias("pa"),
        pl.col("split_b").map_elements(priority, return_dtype=pl.Int64).alias("pb"),
    ).filter(
        (pl.col("pa") < pl.col("pb"))
        | (
            (pl.col("pa") == pl.col("pb"))
            & ((pl.col("source_a") + pl.col("split_a")) < (pl.col("source_b") + pl.col("split_b")))
        )
    )
    # Polars joins do not keep row order: sort, so that the findings' order and which pairs the
    # per-text cap keeps are the same on every run (audit.json is compared across runs).
    j = j.sort(
        "i", "j", *(f"{c}_{s}" for s in "ab" for c in ("source", "split", "image_id", "text"))
    )
    j = j.with_columns(
        pl.int_range(pl.len()).over(["i", "j", "split_a", "split_b"]).alias("n")
    ).filter(pl.col("n") < MAX_PAIRS_PER_TEXT)
    out = []
    for r in j.iter_rows(named=True):
        method = "exact-normalized" if r["i"] == r["j"] else "minhash-lsh+rapidfuzz"
        out.append(
            Finding(
                "caption_duplicate",
                Side(r["source_a"], r["split_a"], r["image_id_a"], None, r["text_a"]),
                Side(r["source_b"], r["split_b"], r["image_id_b"], None, r["text_b"]),
                method,
                r["score"] / 100.0,
            )
        )
    return out
