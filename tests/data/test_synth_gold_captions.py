"""The caption gold set: rules rows on real MedPix 2.0 and ROCO captions, judged by people.

The rows RulesGenerator + the default filter chain write on the gold images (tests/data/gold/
caption_images.json) are joined to labels given by reading the captions (tests/data/gold/
captions.jsonl, protocol in tests/data/gold/README.md) on (source, image_id, question, answer).
Labels are never edited to suit the generator: a changed rule that writes a new row needs a new
label (the test lists the rows and the command that dumps them).

`pytest -s tests/data/test_synth_gold_captions.py` prints the figures docs/synth.md quotes.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from radvqa_data.entities.context import find_triggers
from radvqa_data.lexicon import load_lexicon
from radvqa_data.synth.rules_evidence import EVIDENCE_TRIGGERS
from tests.conftest import dataset
from tests.data.gold.dump_unlabelled import (
    build_catalog,
    caption_rows,
    gold_images,
    key,
    load_labels,
)

MIN_PRECISION = 0.90  # correct / labelled rows produced, overall and per type with >= MIN_ROWS
MAX_UNSUPPORTED_OR_WRONG = 0.08
MIN_ROWS = 20
DUMP = "PYTHONPATH=. RADVQA_SHARED_DATA=../shared/data .venv/bin/python tests/data/gold/dump_unlabelled.py OUT.jsonl"


@pytest.fixture(scope="session")
def gold_rows(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> list[dict]:
    """Caption-derived rows of the current rules on every gold image (built once)."""
    dataset(shared_data, "medpix2")
    dataset(shared_data, "roco")
    images = gold_images()
    catalog = build_catalog(tmp_path_factory.mktemp("gold") / "gold.duckdb", shared_data, images)
    return caption_rows(catalog, images)


@pytest.fixture(scope="session")
def labels() -> dict:
    return load_labels()


def _table(rows: list[dict]) -> dict[str, Counter]:
    by: dict[str, Counter] = {"ALL": Counter()}
    for r in rows:
        for t in ("ALL", r["question_type"]):
            by.setdefault(t, Counter())[r["label"]] += 1
    return by


def _print(title: str, by: dict[str, Counter]) -> None:
    print(f"\n{title}\n{'type':<7}{'rows':>6}{'correct':>9}{'unsup.':>8}{'wrong':>7}{'bad q.':>7}{'precision':>11}")
    for t in sorted(by, key=lambda t: (t == "ALL", t)):
        c = by[t]
        n = sum(c.values())
        print(f"{t:<7}{n:>6}{c['correct']:>9}{c['unsupported']:>8}{c['wrong']:>7}{c['bad_question']:>7}"
              f"{c['correct'] / n:>11.2f}")


def test_every_row_has_a_label(gold_rows, labels):
    """A rule change that writes a new row on a gold image needs a label for it first."""
    missing = [r for r in gold_rows if key(r) not in labels]
    listing = "\n".join(f"  {r['source']} {r['image_id']} {r['question_type']}: {r['question']} -> {r['answer']}"
                        for r in missing[:40])
    assert not missing, (
        f"{len(missing)} of {len(gold_rows)} caption rows on the gold images have no label "
        f"(first 40 below). Dump them for labelling with:\n  {DUMP}\n{listing}"
    )


def test_precision_overall_and_per_type(gold_rows, labels):
    """correct / labelled rows >= 0.90 overall and per type with >= 20 rows; unsupported + wrong
    <= 0.08. Prints the v1 figures (the labelled v1 rows) beside the current ones."""
    produced = [{**r, "label": labels[key(r)]["label"]} for r in gold_rows if key(r) in labels]
    v1 = [r for r in labels.values() if r["labelled_for"] == "v1" and r["slice"] == "tuning"]
    _print("v1 rows (before), tuning slice", _table(v1))
    for slice_name in sorted({labels[key(r)]["slice"] for r in gold_rows if key(r) in labels}):
        _print(f"current rules, {slice_name} slice",
               _table([r for r in produced if labels[key(r)]["slice"] == slice_name]))
    by = _table(produced)
    _print("current rules, all slices", by)
    assert produced, "no labelled row is produced"
    for t, c in by.items():
        n = sum(c.values())
        if t == "ALL" or n >= MIN_ROWS:
            assert c["correct"] / n >= MIN_PRECISION, f"{t}: precision {c['correct'] / n:.2f} < {MIN_PRECISION}"
    c = by["ALL"]
    bad = (c["unsupported"] + c["wrong"]) / sum(c.values())
    assert bad <= MAX_UNSUPPORTED_OR_WRONG, f"unsupported + wrong = {bad:.2f}"


def _finding_forms() -> dict[str, tuple[str, ...]]:
    return {e.norm: e.synonyms for e in load_lexicon() if e.label == "FINDING"}


def test_every_pres_no_cites_its_negation(gold_rows):
    """Each PRES "no" names its evidence: the cited span holds a negation trigger and a surface
    of the finding asked about, and it is where the row says (caption or case findings)."""
    forms = _finding_forms()
    nos = [r for r in gold_rows if r["question_type"] == "PRES" and r["answer"] == "no"]
    assert nos, "no PRES 'no' row on the gold images"
    for r in nos:
        asked = max((n for n in forms if re.search(rf"\b{re.escape(n)}\b", r["question"].lower())), key=len)
        span = r["source_text"]
        words = re.findall(r"[a-z]+|[^\sa-z]", span.lower())
        triggers = {" ".join(words[s:e]) for s, e, kind in find_triggers(words) if kind.endswith("neg")}
        text = r["caption"] if r["source_field"] == "caption" else r.get("case_findings") or ""
        assert span and span in text, r
        assert triggers & EVIDENCE_TRIGGERS, f"no negation in the cited span: {r}"
        assert any(re.search(rf"\b{re.escape(f.lower())}\b", span.lower()) for f in forms[asked]), r
