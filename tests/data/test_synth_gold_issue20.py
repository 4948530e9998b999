"""Issue 20's fresh slices, labelled by reading the captions after the v5 rules were final.

- `fresh5_no`: the PRES "no" rows the rules write on MedPix 2.0 train images and ROCO images
  (drawn by tests/data/gold/draw_issue20.py); strictly read, the negation must cover what the
  question asks. Bar: >= 0.90 correct per source.
- `fresh5`: every caption-derived row on 25 MedPix 2.0 train and 25 ROCO images. Bars: >= 0.95
  correct overall, >= 0.90 per type with >= 20 rows.

Rows are regenerated here (RulesGenerator + default filters, as the other caption gold tests)
and joined to captions.jsonl; a row without a label fails the test with its listing.
`pytest -s` prints the figures docs/synth.md quotes.

- `normal6` (rules v6): every PRES "no" row the statements-of-normality source wrote on all
  2,050 MedPix 2.0 records and all 34,111 ROCO captions before its tuning (44 rows on images in
  no earlier slice), labelled strictly (the statement must cover the structure the question
  names) before the v6 fixes; it then tuned them, so it is a tuning slice. Bar: >= 0.90 of the
  rows still written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import dataset
from tests.data.gold.dump_unlabelled import (
    build_catalog,
    caption_rows,
    gold_images,
    key,
    load_labels,
)

MIN_PRES_NO = 0.90
MIN_ALL = 0.95
MIN_TYPE = 0.90
MIN_ROWS = 20


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, list[dict]]:
    dataset(shared_data, "medpix2")
    dataset(shared_data, "roco")
    names = ("fresh5_no", "fresh5", "normal6", "fresh6_no", "fresh6b_no")
    images = gold_images(names)
    cat = build_catalog(tmp_path_factory.mktemp("gold20") / "gold.duckdb", shared_data, images)
    return {name: caption_rows(cat, gold_images([name])) for name in names}


def _table(rows: list[dict]) -> dict[str, Counter]:
    by: dict[str, Counter] = {"ALL": Counter()}
    for r in rows:
        for t in ("ALL", r["question_type"]):
            by.setdefault(t, Counter())[r["label"]] += 1
    return by


def _print(title: str, by: dict[str, Counter]) -> None:
    print(f"\n{title}\n{'type':<7}{'rows':>6}{'correct':>9}{'unsup.':>8}{'wrong':>7}{'bad q.':>7}")
    for t in sorted(by, key=lambda t: (t == "ALL", t)):
        c = by[t]
        print(
            f"{t:<7}{sum(c.values()):>6}{c['correct']:>9}{c['unsupported']:>8}{c['wrong']:>7}"
            f"{c['bad_question']:>7}  precision {c['correct'] / sum(c.values()):.3f}"
        )


@pytest.fixture(scope="module")
def labels() -> dict:
    return load_labels()


def _labelled(rows: list[dict], labels: dict) -> list[dict]:
    missing = [r for r in rows if key(r) not in labels]
    listing = "\n".join(
        f"  {r['source']} {r['image_id']} {r['question_type']}: {r['question']} -> {r['answer']}"
        for r in missing[:40]
    )
    assert not missing, f"{len(missing)} rows have no label:\n{listing}"
    return [{**r, "label": labels[key(r)]["label"]} for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [
        "medpix2",
        # Not met (docs/synth.md, issue 20): 41/60 before the round-5 fixes, 32/39 after, 33/38
        # after v6 (fresh6b_no, drawn after v6, holds 49/53: test_roco_pres_no_on_the_v6_slices).
        # The misses left are denials narrower than the question that the rules cannot see (a
        # device's thrombus, a clinical course): strict xfail, so
        # the day it passes the marker must go.
        pytest.param("roco", marks=pytest.mark.xfail(strict=True, reason="ROCO PRES 'no' < 0.90")),
    ],
)
def test_pres_no_precision_per_source(rows, labels, source):
    nos = [
        r
        for r in rows["fresh5_no"]
        if r["question_type"] == "PRES" and r["answer"] == "no" and r["source"] == source
    ]
    scored = _labelled(nos, labels)
    c = Counter(r["label"] for r in scored)
    n = sum(c.values())
    print(f"\nfresh5_no {source}: {n} PRES 'no' rows, {dict(c)}")
    assert n and c["correct"] / n >= MIN_PRES_NO, f"{source}: {c['correct']}/{n}"


@pytest.mark.slow
def test_mixed_caption_rows_precision(rows, labels):
    scored = _labelled(rows["fresh5"], labels)
    by = _table(scored)
    _print("v5 rules, fresh5 slice (MedPix 2.0 train + ROCO)", by)
    c = by["ALL"]
    assert c["correct"] / sum(c.values()) >= MIN_ALL
    for t, ct in by.items():
        n = sum(ct.values())
        if t != "ALL" and n >= MIN_ROWS:
            assert ct["correct"] / n >= MIN_TYPE, f"{t}: {ct['correct']}/{n}"


@pytest.mark.slow
def test_normal_statement_rows_precision(rows, labels):
    """PRES "no" from statements of normality (v6): labelled before tuning 40/44 (0.91; MedPix
    8/8, ROCO 32/36); the rows the tuned rules still write must hold >= 0.90."""
    normal = [r for r in rows["normal6"] if r["template_id"].startswith("pres.normal")]
    scored = _labelled(normal, labels)
    c = Counter(r["label"] for r in scored)
    n = sum(c.values())
    print(f"\nnormal6: {n} PRES 'no' rows from statements of normality, {dict(c)}")
    assert n >= 20, "the source stopped writing most of its rows"
    assert c["correct"] / n >= MIN_PRES_NO, f"{c['correct']}/{n}"


def _pres_no(rows: list[dict], labels: dict) -> Counter:
    nos = [r for r in rows if r["question_type"] == "PRES" and r["answer"] == "no"]
    return Counter(r["label"] for r in _labelled(nos, labels))


@pytest.mark.slow
def test_roco_pres_no_on_the_v6_slices(rows, labels):
    """ROCO PRES "no", strictly read: fresh6b_no (fresh after the v6 fixes) holds the bar; the
    tuning slice fresh6_no is printed (50/60 before the fixes) and must hold it too."""
    for name in ("fresh6_no", "fresh6b_no"):
        c = _pres_no(rows[name], labels)
        n = sum(c.values())
        print(f"\n{name} roco: {n} PRES 'no' rows, {dict(c)}, precision {c['correct'] / n:.3f}")
        assert n >= 50, f"{name}: the rules stopped writing most of its rows"
        assert c["correct"] / n >= MIN_PRES_NO, f"{name}: {c['correct']}/{n}"


@pytest.fixture(scope="module")
def findings_rows(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    """The case-findings source's rows (v7, `--case-findings on`) on its two slices, from a
    catalog that keeps the texts of the slices' whole cases (the source picks one image per
    case among those whose caption names the finding)."""
    dataset(shared_data, "medpix2")
    names = ("findings7", "findings7b")
    cat = build_catalog(
        tmp_path_factory.mktemp("gold20f") / "gold.duckdb",
        shared_data,
        gold_images(names),
        keep_cases=True,
    )
    return {
        name: [
            r
            for r in caption_rows(cat, gold_images([name]), case_findings="on")
            if r["source_field"] == "findings" and r["question_type"] != "PRES"
        ]
        for name in names
    }


@pytest.mark.slow
def test_case_findings_rows_precision(findings_rows, labels):
    """Rows from the case findings anchored to a picture (v7). `findings7` was labelled before
    any tuning (24/38 correct) and then tuned the source, so its figure here is a tuning figure
    (>= 0.95 of the rows still written). `findings7b` is every row the tuned source writes
    outside the earlier slices, labelled after the tuning and never tuned on (26/36): while it
    reads under the 0.95 bar the source must stay off by default."""
    from radvqa_data.synth.rules.generator import RulesGenerator

    fig = {}
    for name in ("findings7", "findings7b"):
        c = Counter(r["label"] for r in _labelled(findings_rows[name], labels))
        n = sum(c.values())
        fig[name] = c["correct"] / n
        print(f"\n{name}: {n} case-findings rows, {dict(c)}, precision {fig[name]:.3f}")
        assert n >= 15, f"{name}: the source stopped writing most of its rows"
    assert fig["findings7"] >= MIN_ALL
    if fig["findings7b"] < MIN_ALL:
        assert RulesGenerator().case_findings == "off"
