"""Check 4 (questions): training questions near-identical to a benchmark's questions on the
same picture. The picture link comes from `benchmark_image` findings (verified pixels) and from
rows whose image *is* a protected image."""

from __future__ import annotations

import polars as pl

from radvqa_data.audit.findings import Finding, Side
from radvqa_data.audit.neardup import NearDupConfig, similarity
from radvqa_data.audit.normalize import normalize_text
from radvqa_data.audit.qa_checks import side


def benchmark_questions(
    rows: pl.DataFrame,
    image_findings: list[Finding],
    prot_imgs: pl.DataFrame,
    prot_qa: pl.DataFrame,
    cfg: NearDupConfig,
) -> list[Finding]:
    """benchmark_question findings: one per (training row, benchmark question) pair."""
    if rows.height == 0 or prot_qa.height == 0:
        return []
    # training image (source, id) -> protected images (source, id) it is the same picture as
    link: dict[tuple, set[tuple]] = {}
    for f in image_findings:
        link.setdefault((f.a.source, f.a.image_id), set()).add((f.b.source, f.b.image_id))
    if prot_imgs.height:
        for s, i in prot_imgs.select("source", "image_id").iter_rows():
            link.setdefault((s, i), set()).add((s, i))
    qa_by_img: dict[tuple, list[dict]] = {}
    for r in prot_qa.iter_rows(named=True):
        qa_by_img.setdefault((r["source"], r["image_id"]), []).append(r)
    keys = pl.DataFrame(
        [{"__source": s, "__image_id": i} for s, i in link],
        schema={"__source": pl.String, "__image_id": pl.String},
    )
    cand = rows.join(keys, on=["__source", "__image_id"])
    out = []
    for r in cand.iter_rows(named=True):
        for p in link.get((r["__source"], r["__image_id"]), ()):
            for q in qa_by_img.get(p, ()):
                if (r["__source"], r["__row_id"]) == (q["source"], q["qid"]):
                    continue  # the protected row itself (auditing a benchmark against itself)
                s = similarity(r["__nq"], normalize_text(q["question"]))
                if s >= cfg.threshold:
                    out.append(
                        Finding(
                            "benchmark_question",
                            side(r),
                            Side(
                                q["source"],
                                q["split"],
                                q["image_id"],
                                q["qid"],
                                f"{q['question']} -> {q['answer']}",
                            ),
                            "exact-normalized" if s >= 100 else "rapidfuzz",
                            s / 100.0,
                        )
                    )
    return out
