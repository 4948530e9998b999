"""Issue 20, rules v7: the slices of the case-findings source (`synth/rules/case_findings.py`).

    PYTHONPATH=. .venv/bin/python tests/data/gold/draw_issue20_v7.py MEDPIX_OUT NAME OUT.jsonl \
        [--half first|second]

The pool: every MedPix 2.0 row the v7 rules write from the case's findings text that is not a
PRES "no" (those are v5's case-level negations, measured before): POS, SIZE, ATTRIB, COUNT and
the specific ABN answer, on images outside every existing slice (and their cases). The pool's
images are shuffled once (seed 20261211) and split in two halves: `first` is the slice
labelled before any tuning of the source (`findings7`), `second` the one labelled after
(`findings7b`), drawn from the tuned rules' output. The slice's images are added to
caption_images.json under NAME; the rows to label go to OUT.jsonl with the caption and the case
findings text.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(GOLD_DIR.parents[2]))

from tests.data.gold.dump_unlabelled import IMAGES_FILE, _images_json, gold_images  # noqa: E402

SEED = 20261211


def main() -> None:
    import duckdb
    import polars as pl

    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("name")
    ap.add_argument("rows", type=Path)
    ap.add_argument("--half", choices=("first", "second"), default="first")
    ap.add_argument("--catalog", type=Path, required=True)
    a = ap.parse_args()
    qa = pl.read_parquet(str(a.out_dir / "qa" / "*.parquet")).filter(
        (pl.col("source_field") == "findings") & (pl.col("question_type") != "PRES")
    )
    taken = set(gold_images())  # before this slice is added
    cases = {i.split("_")[0] for s, i in taken if s == "medpix2"}
    qa = qa.filter(~pl.col("case_id").is_in(sorted(cases)))
    ids = sorted(set(qa["image_id"].to_list()))
    random.Random(SEED).shuffle(ids)
    half = ids[: len(ids) // 2] if a.half == "first" else ids[len(ids) // 2 :]
    rows = qa.filter(pl.col("image_id").is_in(half)).sort("image_id", "question")
    con = duckdb.connect(str(a.catalog), read_only=True)
    texts = {
        (i, f): t
        for i, f, t in con.execute(
            "SELECT image_id, field, text FROM texts WHERE source = 'medpix2' "
            "AND field IN ('caption', 'findings')"
        ).fetchall()
    }
    with a.rows.open("w") as fh:
        for r in rows.iter_rows(named=True):
            fh.write(
                json.dumps(
                    {
                        "source": r["source"],
                        "image_id": r["image_id"],
                        "question_type": r["question_type"],
                        "question": r["question"],
                        "answer": r["answer"],
                        "modality": r.get("modality"),
                        "caption": texts.get((r["image_id"], "caption")),
                        "case_findings": texts.get((r["image_id"], "findings")),
                    }
                )
                + "\n"
            )
    data = json.loads(IMAGES_FILE.read_text())
    data[a.name] = [["medpix2", i] for i in sorted(half)]
    IMAGES_FILE.write_text(_images_json(data))
    print(f"{a.name}: {len(half)} images, {rows.height} rows -> {a.rows}", file=sys.stderr)


if __name__ == "__main__":
    main()
