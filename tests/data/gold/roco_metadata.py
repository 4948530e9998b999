"""The ROCO metadata gold set's harness (issue 21): MODALITY and PLANE rows the rules backend
writes from ROCO's caption-derived metadata, one random row per image, read against the caption.

    PYTHONPATH=. .venv/bin/python tests/data/gold/roco_metadata.py OUT.jsonl \\
        [--data ../shared/data] [--n 120] [--seed 20261206]

(`--type PLANE` draws PLANE rows only) writes the drawn rows (unlabelled) for a labeller:
source, image_id, question_type, question, answer, caption. The draw: every ROCO validation/test
image the rules give a metadata row (default filters, rows kept), sorted, `n` images sampled
with `seed`, one of each image's rows sampled with the same stream; images of the caption gold
slices and of earlier slices of this set are left out. Slices (README.md beside this file):
`tuning1` (seed 20261206), `tuning2` (seed 20261209) and `fresh3` (seed 20261210), 120 rows of
any type each, read on v2, v3 and v4 (final); `fresh_plane` (seed 20261207, `--n 60 --type
PLANE`, v1); `fresh_fix` (seed 20261208): 40 PLANE rows of the images whose plane the v2 fix
changed, drawn ad hoc from those images (a v1 catalog was needed to find them). A draw excludes
the images labelled before it, so it repeats only with the labels file as it was then. Labels
live in `roco_metadata.jsonl` beside this file; they are never edited to suit the catalog.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent
LABELS_FILE = GOLD_DIR / "roco_metadata.jsonl"
SPLITS = ("validation", "test")


def build_catalog(path: Path, data_root: Path) -> Path:
    """Catalog the shared ROCO folder (text only, a few seconds)."""
    from radvqa_data.catalog.ingest import add_source

    add_source(path, "roco", data_root / "roco", progress=False)
    return path


def metadata_rows(catalog: Path, image_ids: list[str] | None = None) -> list[dict]:
    """Kept MODALITY/PLANE/ORGAN rows of ROCO validation/test images (or of `image_ids`)."""
    import duckdb

    from radvqa_data.filters import FilterChain, default_filters
    from radvqa_data.reader.image_records import ShardPlan, load_shard
    from radvqa_data.synth.rules.candidates import QuestionRandom
    from radvqa_data.synth.rules.metadata_questions import metadata_candidates

    con = duckdb.connect(str(catalog), read_only=True)
    try:
        if image_ids is None:
            image_ids = [
                r[0]
                for r in con.execute(
                    "SELECT image_id FROM images WHERE source = 'roco' AND split IN (?, ?) "
                    "AND (modality IS NOT NULL OR plane IS NOT NULL) ORDER BY image_id",
                    list(SPLITS),
                ).fetchall()
            ]
        first, last = min(image_ids), max(image_ids)
        plan = ShardPlan(0, "roco", first, last, len(image_ids))
        recs = load_shard(
            con, plan, allow_missing=True, split_override={}, text_fields=("caption",)
        )
    finally:
        con.close()
    wanted = set(image_ids)
    chain = FilterChain(default_filters())
    rows = []
    for rec in recs:
        if rec.image_id not in wanted:
            continue
        rng = QuestionRandom(f"0:{rec.source}:{rec.image_id}")  # RulesGenerator(seed=0)
        kept, _ = chain.split(metadata_candidates(rec, rng))
        for c in kept:
            rows.append(
                {
                    "source": rec.source,
                    "image_id": rec.image_id,
                    "question_type": c.question_type,
                    "question": c.question,
                    "answer": c.answer,
                    "caption": rec.texts.get("caption"),
                }
            )
    return rows


def draw(
    rows: list[dict], n: int, seed: int, exclude: set[str], qtype: str | None = None
) -> list[dict]:
    """`n` images at random, one row of each (of `qtype` only, when given)."""
    by_image: dict[str, list[dict]] = {}
    for r in rows:
        if r["image_id"] not in exclude and qtype in (None, r["question_type"]):
            by_image.setdefault(r["image_id"], []).append(r)
    rnd = random.Random(seed)
    images = rnd.sample(sorted(by_image), n)
    return [rnd.choice(by_image[i]) for i in images]


def load_labels() -> list[dict]:
    """The labelled rows."""
    return [json.loads(x) for x in LABELS_FILE.read_text().splitlines() if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--type", default=None, help="draw rows of this question type only")
    a = ap.parse_args()
    sys.path.insert(0, str(GOLD_DIR.parents[2]))
    from tests.data.gold.dump_unlabelled import gold_images

    exclude = {i for s, i in gold_images() if s == "roco"}
    if LABELS_FILE.exists():  # images of earlier slices of this set
        exclude |= {r["image_id"] for r in load_labels()}
    with tempfile.TemporaryDirectory() as tmp:
        cat = build_catalog(Path(tmp) / "roco.duckdb", a.data)
        picked = draw(metadata_rows(cat), a.n, a.seed, exclude, a.type)
    a.out.write_text("".join(json.dumps(r) + "\n" for r in picked))
    print(f"{len(picked)} rows -> {a.out}")


if __name__ == "__main__":
    main()
