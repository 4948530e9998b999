"""Where the negated finding mentions of a catalog go: the funnel of PRES "no" (issue 20).

    .venv/bin/python bench/negation_funnel.py CATALOG [--source medpix2] [--out SYNTH_OUT]
        [--examples N]

Every negated FINDING mention (ConText flag) of the captions and of the case findings texts is
followed through the rules' checks in the order the rules apply them (`synth/rules/
caption_questions.py`, `negation.py`), and counted at the first check that drops it:

- caption mentions, once per distinct caption of a case;
- findings mentions, once per case: a mention counts at the furthest stage any image of its
  case reaches (the study check depends on the image).

With `--out` (a synth folder of the same catalog) it adds what became of the rules' "no"
candidates: the PRES "no" rows kept and those the filters or the balancer dropped. Nothing is
judged here; whether a "no" reads true is measured in the gold slices.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

CAPTION_STAGES = (
    "excluded_differential",
    "other_image_sentence",
    "device_name",
    "uncertain",
    "region_mismatch",
    "change_without_structure",
    "class_affirmed_for_image",
    "denial_of_adjective",
    "no_plain_trigger_scope",
    "scope_elsewhere",
    "caption_on_sibling",
    "rules_no_candidate",
)
FINDINGS_STAGES = (
    "image_not_a_plain_view",
    "uncertain",
    "class_affirmed_for_image",
    "denial_of_adjective",
    "region_mismatch",
    "excluded_differential",
    "no_plain_trigger_scope",
    "scope_elsewhere",
    "other_image_sentence",
    "not_this_study",
    "case_negation_on_sibling",
    "rules_no_candidate",
)


def _caption_stage(rec, cap, e, regions, present) -> str:
    from radvqa_data.synth.rules.evidence import finding_group, negation_span, region_allows
    from radvqa_data.synth.rules.finding_frames import STRUCTURE_CHANGES
    from radvqa_data.synth.rules.generator import caption_owner
    from radvqa_data.synth.rules.negation import scoped_denial, scoped_phrase
    from radvqa_data.synth.rules.scope import excluded, other_image

    fr = cap.frames.get(e)
    if excluded(cap.text, cap.bounds, e):
        return "excluded_differential"
    if other_image(rec, cap.text, cap.bounds, cap.ents, e):
        return "other_image_sentence"
    if fr is not None and fr.device:
        return "device_name"
    if e.uncertain:
        return "uncertain"
    if not region_allows(e.norm, regions):
        return "region_mismatch"
    if e.norm in STRUCTURE_CHANGES:
        return "change_without_structure"
    if finding_group(e.norm) in present:
        return "class_affirmed_for_image"
    if scoped_denial(e):
        return "denial_of_adjective"
    span = negation_span(cap.text, cap.bounds, cap.ents, e)
    if span is None:
        return "no_plain_trigger_scope"
    if scoped_phrase(cap.text, cap.bounds, cap.ents, e, span) is None:
        return "scope_elsewhere"
    if not caption_owner(rec)[0]:
        return "caption_on_sibling"
    return "rules_no_candidate"


def _findings_stage(rec, text, bounds, ents, e, regions, present, sides) -> str:
    from radvqa_data.synth.rules.evidence import finding_group, negation_span, region_allows
    from radvqa_data.synth.rules.negation import (
        CROSS_SECTION_VIEWS,
        _case_owner,
        _same_study,
        scoped_denial,
        scoped_phrase,
    )
    from radvqa_data.synth.rules.scope import excluded, other_image

    if rec.plane not in CROSS_SECTION_VIEWS or rec.kind not in (None, "scan"):
        return "image_not_a_plain_view"
    if e.uncertain:
        return "uncertain"
    if finding_group(e.norm) in present:
        return "class_affirmed_for_image"
    if scoped_denial(e):
        return "denial_of_adjective"
    if not region_allows(e.norm, regions):
        return "region_mismatch"
    if excluded(text, bounds, e):
        return "excluded_differential"
    span = negation_span(text, bounds, ents, e)
    if span is None:
        return "no_plain_trigger_scope"
    if scoped_phrase(text, bounds, ents, e, span) is None:
        return "scope_elsewhere"
    if other_image(rec, text, bounds, ents, e):
        return "other_image_sentence"
    if not _same_study(rec, text, bounds, ents, e, regions, sides):
        return "not_this_study"
    if not _case_owner(rec, [e]):
        return "case_negation_on_sibling"
    return "rules_no_candidate"


def funnel(catalog: Path, source: str) -> tuple[Counter, Counter, dict[str, list[str]]]:
    """(caption stage counts, findings stage counts, examples per stage)."""
    import duckdb

    from radvqa_data.reader.image_records import ShardPlan, load_shard
    from radvqa_data.synth.rules.evidence import image_regions
    from radvqa_data.synth.rules.finding_frames import CaptionReading
    from radvqa_data.synth.rules.negation import _image_sides
    from radvqa_data.synth.rules.sentence_units import sentence_bounds, sentence_of

    con = duckdb.connect(str(catalog), read_only=True)
    try:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT image_id FROM images WHERE source = ? ORDER BY image_id", [source]
            ).fetchall()
        ]
        if not ids:
            sys.exit(f"{catalog}: no images of source {source}")
        plan = ShardPlan(0, source, ids[0], ids[-1], len(ids))
        recs = load_shard(
            con, plan, allow_missing=True, split_override={}, text_fields=("caption", "findings")
        )
    finally:
        con.close()
    from radvqa_data.synth.rules.evidence import finding_group

    cap_seen: set[tuple] = set()
    cap_counts: Counter = Counter()
    best: dict[tuple, int] = {}
    examples: dict[str, list[str]] = defaultdict(list)
    for rec in recs:
        present = {
            finding_group(e.norm) for e in rec.entities if e.label == "FINDING" and not e.negated
        }
        regions = image_regions(rec)
        caption = rec.texts.get("caption")
        if caption:
            cap = CaptionReading(rec, caption)
            for e in cap.ents:
                if e.label != "FINDING" or not e.negated:
                    continue
                k = (rec.case_id or rec.image_id, caption, e.start)
                if k in cap_seen:
                    continue
                cap_seen.add(k)
                stage = _caption_stage(rec, cap, e, regions, present)
                cap_counts[stage] += 1
                lo, hi = sentence_of(cap.bounds, e.start)
                examples["caption:" + stage].append(f"{rec.image_id}: {caption[lo:hi].strip()}")
        text = rec.texts.get("findings") or ""
        if not text:
            continue
        ents = [e for e in rec.entities if e.field == "findings"]
        bounds = sentence_bounds(text)
        sides = _image_sides(rec)
        for e in ents:
            if e.label != "FINDING" or not e.negated:
                continue
            stage = _findings_stage(rec, text, bounds, ents, e, regions, present, sides)
            k = (rec.case_id or rec.image_id, e.start)
            rank = FINDINGS_STAGES.index(stage)
            if rank > best.get(k, -1):
                best[k] = rank
                lo, hi = sentence_of(bounds, e.start)
                examples["findings:" + stage].append(f"{rec.image_id}: {text[lo:hi].strip()}")
    find_counts = Counter(FINDINGS_STAGES[r] for r in best.values())
    return cap_counts, find_counts, examples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog", type=Path)
    ap.add_argument("--source", default="medpix2")
    ap.add_argument("--out", type=Path, help="a synth folder of the same catalog")
    ap.add_argument("--examples", type=int, default=0, help="sentences shown per stage")
    a = ap.parse_args()
    if not a.catalog.is_file():
        sys.exit(f"{a.catalog}: no such catalog file")
    cap, find, examples = funnel(a.catalog, a.source)
    for title, counts, stages in (
        ("caption", cap, CAPTION_STAGES),
        ("findings", find, FINDINGS_STAGES),
    ):
        total = sum(counts.values())
        print(f"\n{title}: {total} negated finding mentions")
        left = total
        for s in stages:
            n = counts.get(s, 0)
            left -= n if s != "rules_no_candidate" else 0
            print(f"  {s:28s} {n:5d}" + ("" if s == "rules_no_candidate" else f"   left {left}"))
            for x in examples.get(f"{title}:{s}", [])[: a.examples]:
                print(f"      {x[:160]}")
    if a.out is not None:
        import polars as pl

        qa = pl.read_parquet(str(a.out / "qa" / "*.parquet"))
        rej = pl.read_parquet(str(a.out / "rejects" / "*.parquet"))
        no = (pl.col("question_type") == "PRES") & (pl.col("answer") == "no")
        kept = qa.filter(no).group_by("source_field", "template_id").len()
        print("\nPRES 'no' rows kept:", qa.filter(no).height)
        for r in kept.sort("source_field", "template_id").iter_rows():
            print(f"  {r[0]:10s} {r[1]:18s} {r[2]}")
        dropped = rej.filter(no).group_by("reason").len().sort("len", descending=True)
        print("PRES 'no' candidates dropped after the rules:")
        for r in dropped.iter_rows():
            print(f"  {r[0]:28s} {r[1]}")


if __name__ == "__main__":
    main()
