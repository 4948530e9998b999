"""Issue 20's fresh slices, drawn from full synth outputs of the v5 rules (default options):

    PYTHONPATH=. .venv/bin/python tests/data/gold/draw_issue20.py MEDPIX_OUT ROCO_OUT OUT.jsonl

- `fresh5_no`: images whose written rows hold a PRES "no": every MedPix 2.0 **train** image
  that has one (the dev/test captions are spent), and ROCO images (any split) drawn at random
  (seed 20261205) until 60 ROCO PRES "no" rows are covered;
- `fresh5`: 25 MedPix 2.0 train and 25 ROCO images with caption-derived rows, at random (same
  seed), for the mixed caption slice.

No image (nor any image of its MedPix case) of an existing slice, and no image of one new slice
in the other. The slices are added to caption_images.json; the rows to label (PRES "no" rows of
`fresh5_no`, every caption row of `fresh5`) are written to OUT.jsonl with their caption (and
the case findings a "no" cites). Labels go to captions.jsonl (labelled_for v5), never edited
after; tests/data/test_synth_gold_issue20.py scores them.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(GOLD_DIR.parents[2]))

from tests.data.gold.dump_unlabelled import IMAGES_FILE, _images_json, gold_images  # noqa: E402

SEED = 20261205
ROCO_NO_ROWS = 60
MIXED_PER_SOURCE = 25


def main(medpix_out: Path, roco_out: Path, out: Path) -> None:
    import polars as pl

    qa = pl.concat(
        [pl.read_parquet(str(d / "qa" / "*.parquet")) for d in (medpix_out, roco_out)],
        how="diagonal_relaxed",
    ).filter(pl.col("source_field").is_in(["caption", "findings"]))
    taken = set(gold_images())
    cases = {i.split("_")[0] for s, i in taken if s == "medpix2"}
    qa = qa.filter(
        ~pl.struct("source", "image_id").map_elements(
            lambda r: (r["source"], r["image_id"]) in taken, return_dtype=pl.Boolean
        )
    ).filter((pl.col("source") != "medpix2") | ~pl.col("case_id").is_in(sorted(cases)))
    qa = qa.filter((pl.col("source") != "medpix2") | (pl.col("split") == "train"))
    rng = random.Random(SEED)
    is_no = (pl.col("question_type") == "PRES") & (pl.col("answer") == "no")
    nos = qa.filter(is_no)
    mp_no = sorted(set(nos.filter(pl.col("source") == "medpix2")["image_id"].to_list()))
    roco_no_ids = sorted(set(nos.filter(pl.col("source") == "roco")["image_id"].to_list()))
    rng.shuffle(roco_no_ids)
    per_image = dict(nos.filter(pl.col("source") == "roco").group_by("image_id").len().iter_rows())
    roco_no, n = [], 0
    for i in roco_no_ids:
        if n >= ROCO_NO_ROWS:
            break
        roco_no.append(i)
        n += per_image[i]
    chosen_no = {("medpix2", i) for i in mp_no} | {("roco", i) for i in roco_no}
    used_cases = {i.split("_")[0] for i in mp_no}
    mixed = []
    for source in ("medpix2", "roco"):
        pool = sorted(set(qa.filter(pl.col("source") == source)["image_id"].to_list()))
        pool = [
            i
            for i in pool
            if (source, i) not in chosen_no
            and (source != "medpix2" or i.split("_")[0] not in used_cases)
        ]
        rng.shuffle(pool)
        mixed += [(source, i) for i in pool[:MIXED_PER_SOURCE]]
    by_slice = json.loads(IMAGES_FILE.read_text())
    for name in ("fresh5_no", "fresh5"):
        if name in by_slice:
            sys.exit(f"{IMAGES_FILE}: slice {name!r} exists already")
    by_slice["fresh5_no"] = [["medpix2", i] for i in mp_no] + [["roco", i] for i in roco_no]
    by_slice["fresh5"] = [list(x) for x in mixed]
    IMAGES_FILE.write_text(_images_json(by_slice))
    print(
        f"fresh5_no: {len(mp_no)} MedPix train + {len(roco_no)} ROCO images; fresh5: {len(mixed)}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
