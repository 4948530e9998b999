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
import sys
from pathlib import Path

import polars as pl

TEXT_FIELDS = ("caption", "findings")


def figures(out: Path) -> dict:
    """The figures of one synth folder (`qa/` and `rejects/` Parquet shards)."""
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
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not (a.out / "qa").is_dir():
        sys.exit(f"{a.out}: not a synth output folder (no qa/)")
    f = figures(a.out)
    if a.json:
        print(json.dumps(f, indent=1))
        return
    for k, v in f.items():
        print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
