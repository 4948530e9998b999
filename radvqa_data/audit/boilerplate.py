"""qa_boilerplate: long answers that recur across cases and that nothing in the row supports.

A generator artefact such as "The possible diagnosis includes Differential Diagnosis.." (a
template filled with a section heading) ends up as the answer of rows on many cases' images, in
train and in test. It is no leak (the images differ) but noise a model learns as an answer.

An answer (normalized, >= `min_words` words) is boilerplate when its rows, leaving out those
the row's own text supports and those of label questions, span

- >= `min_cases` cases, counting rows that have a text which does not support the answer
  (fewer than `grounded` of its content words occur in it), or
- >= `max_cases` cases whatever the text (a table without a text column has only this rule).

"Cases" are the group ids (case / patient), else images, else rows. A *label question* is one
asked >= `label_rows` times with at most `label_share` distinct answers ("Which organ system
is shown?" -> "Reproductive and Urinary System"): its answers recur by design. Defaults and
the real tables behind them: docs/audit.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from radvqa_data.audit.defaults import BOILERPLATE_MAX_CASES
from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.normalize import normalize_text
from radvqa_data.audit.qa_checks import side
from radvqa_data.core.splits import priority

#: words that carry no content for the grounding test
STOPWORDS = frozenset(
    "a an the of in on at to for with and or is are was were be been being this that these those "
    "it its there here by from as into than then which who whom what where when how no not".split()
)


@dataclass(frozen=True)
class BoilerplateConfig:
    """Knobs of the qa_boilerplate check."""

    min_words: int = 4  # shorter answers ("CT", "left lung") are labels, never boilerplate
    min_cases: int = 3  # cases an answer needs when its rows' own texts do not support it
    max_cases: int = BOILERPLATE_MAX_CASES  # cases an answer needs with no text to check
    grounded: float = (
        0.5  # share of an answer's content words its row's text must hold to support it
    )
    label_rows: int = 10  # a question asked this often ...
    label_share: float = 0.2  # ... with at most this share of distinct answers is a label question


def _support(answer: str, text: str | None) -> float | None:
    """Share of the answer's content words found in `text` (None when there is no text)."""
    if text is None or not str(text).strip():
        return None
    words = [w for w in answer.split() if w not in STOPWORDS]
    if not words:
        return 0.0
    have = set(normalize_text(text).split())
    return sum(w in have for w in words) / len(words)


def boilerplate(rows: pl.DataFrame, cfg: BoilerplateConfig | None = None) -> list[Finding]:
    """One finding per boilerplate row; side b describes its group (answer, cases, rows/split)."""
    cfg = cfg or BoilerplateConfig()
    long = rows.filter(pl.col("__na").str.count_matches(" ") >= cfg.min_words - 1)
    if long.height == 0:
        return []
    case = pl.coalesce("__case_id", "__image_id", pl.col("__k").cast(pl.String))
    long = long.with_columns(case.alias("__case"))
    # only answers that could reach a threshold at all are looked at row by row
    n_cases = long.group_by("__na").agg(pl.col("__case").n_unique().alias("n"))
    long = long.join(
        n_cases.filter(pl.col("n") >= min(cfg.min_cases, cfg.max_cases)), on="__na", how="semi"
    )
    if long.height == 0:
        return []
    labels = _label_questions(rows, cfg)
    if labels:
        long = long.filter(~pl.col("__nq").is_in(list(labels)))
    has_text = "__text" in long.columns
    texts = long["__text"].to_list() if has_text else [None] * long.height
    support = [_support(a, t) for a, t in zip(long["__na"].to_list(), texts, strict=True)]
    long = long.with_columns(pl.Series("__support", support, dtype=pl.Float64))
    cand = long.filter(pl.col("__support").is_null() | (pl.col("__support") < cfg.grounded))
    stats = cand.group_by("__na").agg(
        pl.col("__case").n_unique().alias("cases"),
        pl.col("__case").filter(pl.col("__support").is_not_null()).n_unique().alias("cases_text"),
        pl.len().alias("rows"),
    )
    flagged = stats.filter(
        (pl.col("cases_text") >= cfg.min_cases) | (pl.col("cases") >= cfg.max_cases)
    )
    if flagged.height == 0:
        return []
    hit = cand.join(flagged, on="__na")
    per_split = hit.group_by("__na", "__split").len()
    summary: dict[str, str] = {}
    for (na,), grp in per_split.group_by("__na"):
        parts = sorted(grp.iter_rows(), key=lambda r: -priority(r[1]))
        summary[na] = ", ".join(f"{s or '-'} {n}" for _, s, n in parts)
    out = []
    for r in hit.sort("__k").iter_rows(named=True):
        na = r["__na"]
        by_text = r["cases_text"] >= cfg.min_cases
        b = Side(
            r["__source"],
            None,
            None,
            None,
            f"{na} | {r['cases']} cases, {r['rows']} rows ({summary[na]})",
        )
        score = 1.0 - (r["__support"] or 0.0)
        out.append(
            Finding(
                "qa_boilerplate",
                side(r),
                b,
                "recurs-unsupported" if by_text else "recurs-across-cases",
                score,
                {"k_a": r["__k"], "answer": na, "cases": r["cases"], "rows": r["rows"]},
            )
        )
    return out


def _label_questions(rows: pl.DataFrame, cfg: BoilerplateConfig) -> set[str]:
    """Normalized questions whose answers form a small vocabulary (at least two values)."""
    q = (
        rows.filter(pl.col("__nq") != "")
        .group_by("__nq")
        .agg(pl.len().alias("n"), pl.col("__na").n_unique().alias("d"))
    )
    q = q.filter(
        (pl.col("n") >= cfg.label_rows)
        & (pl.col("d") >= 2)
        & (pl.col("d") <= cfg.label_share * pl.col("n"))
    )
    return set(q["__nq"].to_list())


def groups(findings: list[Finding]) -> list[tuple[str, str]]:
    """(answer, summary) per boilerplate group, largest first (for the terminal)."""
    seen: dict[str, tuple[int, str]] = {}
    for f in findings:
        if f.kind == "qa_boilerplate":
            seen.setdefault(
                f.extra["answer"], (f.extra["rows"], (f.b.text or "").split(" | ", 1)[-1])
            )
    return [(a, s) for a, (_, s) in sorted(seen.items(), key=lambda kv: -kv[1][0])]
