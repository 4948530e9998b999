"""Checks 1, 2 and 6 on QA rows: exact duplicates, near duplicates (paraphrases), group leakage.

Scope: a QA pair duplicates another when it asks the same thing *of the same image* (a template
question asked of 10,000 images is not a duplicate). When the table has no image column, the
whole table is one scope. Each duplicate group is reported as a star (every member against
one representative, the member in the most protected split), so output stays linear.
"""

from __future__ import annotations

import polars as pl

from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.neardup import NearDupConfig, scoped_pairs
from radvqa_data.audit.normalize import normalize_series
from radvqa_data.core.splits import priority, priority_expr


def prepare(rows: pl.DataFrame) -> pl.DataFrame:
    """Add normalized text columns and the duplicate scope to canonical rows."""
    return rows.with_columns(
        normalize_series(rows["__question"]).alias("__nq"),
        normalize_series(rows["__answer"]).alias("__na"),
        pl.coalesce(pl.col("__image_id"), pl.lit("")).alias("__scope"),
        priority_expr(pl.col("__split")).alias("__prio"),
    )


def side(r: dict, with_answer: bool = True) -> Side:
    """A finding side from a prepared row (as dict)."""
    text = r["__question"]
    if with_answer and text is not None and r["__answer"] is not None:
        text = f"{text} -> {r['__answer']}"
    return Side(r["__source"], r["__split"], r["__image_id"], r["__row_id"], text)


def exact_duplicates(rows: pl.DataFrame) -> list[Finding]:
    """qa_duplicate: same scope, same normalized question and answer."""
    dup = (
        rows.filter(pl.col("__nq") != "")
        .sort(["__prio", "__k"], descending=[True, False])
        .with_columns(pl.col("__k").first().over(["__scope", "__nq", "__na"]).alias("__rep"))
        .filter(pl.col("__k") != pl.col("__rep"))
    )
    if dup.height == 0:
        return []
    reps = {
        r["__k"]: r
        for r in rows.filter(pl.col("__k").is_in(dup["__rep"].unique().implode())).iter_rows(
            named=True
        )
    }
    return [
        Finding(
            "qa_duplicate",
            side(r),
            side(reps[r["__rep"]]),
            "exact-normalized",
            1.0,
            {"k_a": r["__k"], "k_b": r["__rep"]},
        )
        for r in dup.iter_rows(named=True)
    ]


def near_duplicates(rows: pl.DataFrame, cfg: NearDupConfig) -> list[Finding]:
    """qa_near_duplicate: same scope, same normalized answer, questions near-identical (not
    equal)."""
    texts = rows.filter(pl.col("__nq") != "")["__nq"].unique().sort().to_list()
    if len(texts) < 2:
        return []
    tid = pl.DataFrame(
        {"__nq": texts, "t": list(range(len(texts)))}, schema={"__nq": pl.String, "t": pl.Int64}
    )
    # one representative row per (scope, question text, answer): the most protected one
    reps = (
        rows.join(tid, on="__nq")
        .sort(["__prio", "__k"], descending=[True, False])
        .unique(["__scope", "t", "__na"], keep="first", maintain_order=True)
        .select("__scope", "t", "__na", "__k")
    )
    pairs = scoped_pairs(reps["__scope"].to_numpy(), reps["t"].to_numpy(), texts, cfg).rename(
        {"scope": "__scope"}
    )
    if cfg.terms and pairs.height:
        agree = _term_agreement(pairs, texts)
        pairs = pairs.join(agree, on=["i", "j"]).filter(pl.col("agree")).drop("agree")
    if pairs.height == 0:
        return []
    j = (
        pairs.join(reps.rename({"t": "i", "__k": "ka"}), on=["i", "__scope"])
        .join(reps.rename({"t": "j", "__k": "kb"}), on=["j", "__scope", "__na"])
        .select("ka", "kb", "score")
    )
    if j.height == 0:
        return []
    by_k = {
        r["__k"]: r
        for r in rows.filter(
            pl.col("__k").is_in(pl.concat([j["ka"], j["kb"]]).unique().implode())
        ).iter_rows(named=True)
    }
    out = []
    for ka, kb, score in j.iter_rows():
        a, b = by_k[ka], by_k[kb]
        # side a = the one --fix drops: the less protected split, else the later row
        if (priority(a["__split"]), -ka) > (priority(b["__split"]), -kb):
            a, b, ka, kb = b, a, kb, ka
        out.append(
            Finding(
                "qa_near_duplicate",
                side(a),
                side(b),
                "minhash-lsh+rapidfuzz",
                score / 100.0,
                {"k_a": ka, "k_b": kb},
            )
        )
    return out


def _term_agreement(pairs: pl.DataFrame, texts: list[str]) -> pl.DataFrame:
    """(i, j, agree) per distinct text pair: do the two questions ask about the same terms?
    Checked on verified pairs only (a few per image), so the lexicon matching stays cheap."""
    from radvqa_data.audit.terms import same_terms

    tp = pairs.select("i", "j").unique()
    agree = [same_terms(texts[i], texts[j], normalized=True) for i, j in tp.iter_rows()]
    return tp.with_columns(pl.Series("agree", agree, dtype=pl.Boolean))


def group_leaks(rows: pl.DataFrame) -> list[Finding]:
    """group_leak: one case / patient group with QA rows in two splits (one finding per split
    pair)."""
    g = rows.filter(pl.col("__case_id").is_not_null() & pl.col("__split").is_not_null())
    first = g.sort("__k").unique(
        ["__source", "__case_id", "__split"], keep="first", maintain_order=True
    )
    multi = first.filter(pl.col("__split").n_unique().over(["__source", "__case_id"]) > 1)
    out = []
    for _, grp in multi.group_by(["__source", "__case_id"], maintain_order=True):
        recs = sorted(grp.iter_rows(named=True), key=lambda r: priority(r["__split"]))
        for i in range(len(recs)):
            for k in range(i + 1, len(recs)):
                a, b = recs[i], recs[k]
                out.append(
                    Finding(
                        "group_leak",
                        side(a),
                        side(b),
                        "same-group-id",
                        1.0,
                        {"group": a["__case_id"], "k_a": a["__k"], "k_b": b["__k"]},
                    )
                )
    return out
