"""The figures issue 20 tracks, read from a synth output folder.

    .venv/bin/python bench/synth_figures.py OUT_DIR [--json]

Prints: rows per question type, PRES rows and yes-rate, caption/findings-derived rows (all and
distinct by question, answer and cited span), copies of one (question, answer, span) on sibling
images of a case, the share of "mass" + "lesion" among ABN answers, and the true rows the yes/no
balance removed per type. Nothing is judged here: correctness is read in the gold slices.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import polars as pl

TEXT_FIELDS = ("caption", "findings")


#: The issue's exclusion cues, checked on the written text (not with the rules' own code).
_CUE = re.compile(
    r"\b(seen in|to suggest|differential|rule out|ruled out|versus|vs\.?|consider|such as)\b",
    re.IGNORECASE,
)


def spans_under_cue(cap: pl.DataFrame, catalog: Path) -> int:
    """PRES and ABN rows (their span is the finding term) whose span stands after an exclusion
    cue in its sentence of the source text. (A POS span after "seen in" is the finding's place.)"""
    import duckdb

    con = duckdb.connect(str(catalog), read_only=True)
    try:
        texts = {
            (s, i, f): t
            for s, i, f, t in con.execute(
                "SELECT source, image_id, field, text FROM texts "
                "WHERE field IN ('caption', 'findings')"
            ).fetchall()
        }
    finally:
        con.close()
    hits = 0
    for r in cap.iter_rows(named=True):
        text = texts.get((r["source"], r["image_id"], r["source_field"]))
        if not text or r["span_start"] is None or r["question_type"] not in ("PRES", "ABN"):
            continue
        start = max(text.rfind(c, 0, r["span_start"]) for c in ".!?\n") + 1
        if _CUE.search(text, start, r["span_start"]):
            hits += 1
    return hits


def figures(out: Path, catalog: Path | None = None) -> dict:
    """The figures of one synth folder (`qa/` and `rejects/` Parquet shards); with the catalog,
    also the rows whose span follows an exclusion cue."""
    qa = pl.read_parquet(str(out / "qa" / "*.parquet"))
    rej = pl.read_parquet(str(out / "rejects" / "*.parquet"))
    per_type = dict(qa.group_by("question_type").len().sort("question_type").iter_rows())
    pres = qa.filter(pl.col("question_type") == "PRES")
    pres_yes = pres.filter(pl.col("answer") == "yes").height
    cap = qa.filter(pl.col("source_field").is_in(TEXT_FIELDS))
    key = ["question", "answer", "source_text"]
    # a copy: the same (question, answer, span) on another image of the same case
    cap = cap.with_columns(pl.coalesce("case_id", "image_id").alias("case_key"))
    per_case = cap.group_by(["case_key", *key]).len()
    copies = int(per_case.select((pl.col("len") - 1).sum()).item() or 0)
    distinct = per_case.height  # distinct (question, answer, span) per case (image without one)
    abn = qa.filter(pl.col("question_type") == "ABN")
    generic = abn.filter(pl.col("answer").is_in(["mass", "lesion"])).height
    bal = rej.filter(pl.col("reason") == "yes_no_balance")
    removed = dict(bal.group_by("question_type").len().sort("question_type").iter_rows())
    return {
        "rows": qa.height,
        "rows_per_type": per_type,
        "pres_rows": pres.height,
        "pres_yes": pres_yes,
        "pres_no": pres.height - pres_yes,
        "pres_yes_rate": round(pres_yes / pres.height, 3) if pres.height else None,
        "caption_rows": cap.height,
        "caption_images": cap.select("image_id").n_unique(),
        "caption_rows_distinct": distinct,
        "sibling_copies": copies,
        "sibling_copy_share": round(copies / cap.height, 3) if cap.height else None,
        "abn_rows": abn.height,
        "abn_mass_lesion": generic,
        "abn_mass_lesion_share": round(generic / abn.height, 3) if abn.height else None,
        "balance_removed_per_type": removed,
        "spans_after_exclusion_cue": spans_under_cue(cap, catalog) if catalog else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--catalog", type=Path, help="the run's catalog: also check exclusion cues")
    a = ap.parse_args()
    if not (a.out / "qa").is_dir():
        sys.exit(f"{a.out}: not a synth output folder (no qa/)")
    f = figures(a.out, a.catalog)
    if a.json:
        print(json.dumps(f, indent=1))
        return
    for k, v in f.items():
        print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
