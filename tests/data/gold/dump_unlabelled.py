"""The caption gold set's harness: rows the rules write on the gold images, joined to the labels.

Run as a script, it writes the rows that have no label yet as a chunk for labelling (one JSON
object a line: row, source, image_id, question_type, question, answer, caption, and
case_findings where a "no" cites the case's findings text rather than the caption):

    PYTHONPATH=. RADVQA_SHARED_DATA=../shared/data .venv/bin/python \\
        tests/data/gold/dump_unlabelled.py OUT.jsonl [--catalog CAT] [--prefix t1]

Without --catalog it builds one from the shared MedPix 2.0 and ROCO folders (a few seconds).
Labels are never edited to suit the generator: see README.md beside this file.

A new slice is drawn (and recorded in caption_images.json) before its rows are dumped:

    ... dump_unlabelled.py OUT.jsonl --draw fresh --per-source 100 --seed 20261204 --prefix f3

(v2's fresh slice, seed 20261202, prefix f1, tuned the v3 rules and was renamed `tuning2`; v3's,
seed 20261203, prefix f2, tuned v4 and was renamed `tuning3`.)

It takes PER_SOURCE captioned images of each source's validation and test splits at random,
none of them (nor any other image of their MedPix case) in an existing slice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent
ROOT = GOLD_DIR.parents[2]
LABELS_FILE = GOLD_DIR / "captions.jsonl"
#: Later labelling rounds, each its own file (the earlier files are never rewritten).
MORE_LABEL_FILES = (GOLD_DIR / "captions_v6.jsonl", GOLD_DIR / "captions_v7.jsonl")
IMAGES_FILE = GOLD_DIR / "caption_images.json"
Key = tuple[str, str, str, str]  # source, image_id, question, answer


def gold_images(slices: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(source, image_id) of the gold images of `slices` (all slices when None)."""
    by_slice = json.loads(IMAGES_FILE.read_text())
    return [
        (s, i)
        for name, images in sorted(by_slice.items())
        if slices is None or name in slices
        for s, i in images
    ]


def load_labels() -> dict[Key, dict]:
    """The labelled rows, keyed on (source, image_id, question, answer), of every labels file."""
    rows = [
        json.loads(line)
        for path in (LABELS_FILE, *MORE_LABEL_FILES)
        if path.exists()
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return {key(r): r for r in rows}


def build_catalog(
    path: Path, data_root: Path, images: list[tuple[str, str]], keep_cases: bool = False
) -> Path:
    """Catalog MedPix 2.0 and ROCO, and extract entities for the gold images' texts only (the
    rules read captions and case findings; the other 34,000 ROCO captions would cost 15 s).
    `keep_cases` keeps the texts of every image of a gold image's MedPix case too (the
    case-findings source picks its image among the case's captions)."""
    import duckdb

    from radvqa_data.catalog.ingest import add_source
    from radvqa_data.entities.run import run_entities
    from radvqa_data.synth.rules.generator import RulesGenerator

    add_source(path, "medpix2", data_root / "medpix2", progress=False)
    add_source(path, "roco", data_root / "roco", progress=False)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TEMP TABLE gold (source VARCHAR, image_id VARCHAR)")
        con.executemany("INSERT INTO gold VALUES (?, ?)", images)
        if keep_cases:
            con.execute(
                "INSERT INTO gold SELECT DISTINCT b.source, b.image_id FROM images a "
                "JOIN gold g ON g.source = a.source AND g.image_id = a.image_id "
                "JOIN images b ON b.source = a.source AND b.case_id = a.case_id"
            )
        con.execute(
            "DELETE FROM texts t WHERE NOT EXISTS "
            "(SELECT 1 FROM gold g WHERE g.source = t.source AND g.image_id = t.image_id)"
        )
    finally:
        con.close()
    run_entities(path, fields=list(RulesGenerator.text_fields), n_process=1, progress=False)
    return path


def caption_rows(catalog: Path, images: list[tuple[str, str]], **options: str) -> list[dict]:
    """The caption-derived rows (source_field not metadata.*) that RulesGenerator (default
    options, or `options`) and the default filter chain keep for `images`, in image order."""
    import duckdb

    from radvqa_data.filters import FilterChain, default_filters
    from radvqa_data.reader.image_records import ShardPlan, load_shard
    from radvqa_data.synth.rules.generator import RulesGenerator

    gen = RulesGenerator(seed=0, **options)
    con = duckdb.connect(str(catalog), read_only=True)
    rows = []
    try:
        for source, image_id in images:
            plan = ShardPlan(0, source, image_id, image_id, 1)
            recs = load_shard(
                con, plan, allow_missing=True, split_override={}, text_fields=gen.text_fields
            )
            chain = FilterChain(default_filters())
            kept, _ = chain.split(gen.generate(recs))
            for c in kept:
                if (c.source_field or "").startswith("metadata."):
                    continue
                rec = c.record
                row = {
                    "source": rec.source,
                    "image_id": rec.image_id,
                    "question_type": c.question_type,
                    "question": c.question,
                    "answer": c.answer,
                    "caption": rec.texts.get("caption"),
                    "source_field": c.source_field,
                    "source_text": c.source_text,
                    "template_id": c.template_id,
                }
                if c.source_field == "findings":
                    row["case_findings"] = rec.texts.get("findings")
                rows.append(row)
    finally:
        con.close()
    return rows


def draw_images(data_root: Path, per_source: int, seed: int) -> list[tuple[str, str]]:
    """`per_source` random captioned validation/test images of MedPix 2.0 and of ROCO that share
    neither an image nor a MedPix case with the existing slices (sorted ids, shuffled by `seed`)."""
    import duckdb

    from radvqa_data.catalog.ingest import add_source

    taken = set(gold_images())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "draw.duckdb"
        add_source(path, "medpix2", data_root / "medpix2", progress=False)
        add_source(path, "roco", data_root / "roco", progress=False)
        con = duckdb.connect(str(path), read_only=True)
        rows = con.execute(
            "SELECT i.source, i.image_id, i.case_id FROM images i "
            "JOIN texts t USING (source, image_id) WHERE t.field = 'caption' "
            "AND i.split IN ('validation', 'test') ORDER BY i.source, i.image_id"
        ).fetchall()
        con.close()
    cases = {(s, g) for s, i, g in rows if (s, i) in taken and s == "medpix2"}
    out = []
    for source in ("medpix2", "roco"):
        pool = [
            i for s, i, g in rows if s == source and (s, i) not in taken and (s, g) not in cases
        ]
        random.Random(seed).shuffle(pool)
        out += [(source, i) for i in pool[:per_source]]
    return out


def _images_json(by_slice: dict[str, list]) -> str:
    """caption_images.json as it is kept: one [source, image_id] pair a line."""
    blocks = [
        f'  "{name}": [\n' + ",\n".join(f"    {json.dumps(x)}" for x in images) + "\n  ]"
        for name, images in by_slice.items()
    ]
    return "{\n" + ",\n".join(blocks) + "\n}\n"


#: v7 gave two PRES phrasings the article they lacked ("Is gallstone present?" -> "Is a
#: gallstone present?", "Is there evidence of a gallstone?"); the join ignores that article so a
#: label given to the older wording still names the same question (nothing else is normalized).
_V7_ARTICLE = re.compile(r"^(Is|Is there evidence of) (?:a|an) ")


def key(row: dict) -> Key:
    question = _V7_ARTICLE.sub(r"\1 ", row["question"])
    return row["source"], row["image_id"], question, row["answer"]


def chunk_rows(rows: list[dict], prefix: str) -> list[dict]:
    """Rows in the labelling format: no generator-internal fields (span, template)."""
    out = []
    for i, r in enumerate(rows):
        item = {
            "row": f"{prefix}-{i:03d}",
            **{
                k: r[k]
                for k in ("source", "image_id", "question_type", "question", "answer", "caption")
            },
        }
        if "case_findings" in r:
            item["case_findings"] = r["case_findings"]
        out.append(item)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path)
    ap.add_argument("--catalog", type=Path, help="a catalog with entities for the gold images")
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("RADVQA_SHARED_DATA", ROOT.parent / "shared/data")),
    )
    ap.add_argument("--prefix", default="t1", help="row ids: PREFIX-000, PREFIX-001, ...")
    ap.add_argument("--slice", action="append", help="only these slices (default: all)")
    ap.add_argument("--draw", metavar="SLICE", help="draw a new slice first and dump only its rows")
    ap.add_argument("--per-source", type=int, default=60, help="images per source a draw takes")
    ap.add_argument("--seed", type=int, default=20261202, help="the draw's seed")
    args = ap.parse_args(argv)
    if args.draw:
        by_slice = json.loads(IMAGES_FILE.read_text())
        if args.draw in by_slice:
            ap.error(f"{IMAGES_FILE}: slice {args.draw!r} exists already; draw another name")
        by_slice[args.draw] = [list(x) for x in draw_images(args.data, args.per_source, args.seed)]
        IMAGES_FILE.write_text(_images_json(by_slice))
        args.slice = [args.draw]
    images = gold_images(args.slice)
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog or build_catalog(Path(tmp) / "gold.duckdb", args.data, images)
        rows = caption_rows(catalog, images)
    labels = load_labels()
    todo = [r for r in rows if key(r) not in labels]
    args.out.write_text("".join(json.dumps(r) + "\n" for r in chunk_rows(todo, args.prefix)))
    print(
        f"{len(rows)} caption rows on {len(images)} gold images, {len(rows) - len(todo)} labelled, "
        f"{len(todo)} written to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
