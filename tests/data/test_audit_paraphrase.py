"""Entity-aware paraphrases: near-identical questions about one image are duplicates only when
they ask about the same finding, anatomy, side, attribute (lexicon terms), numbers and negation."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from radvqa_data.audit.terms import question_terms, same_terms
from radvqa_data.cli import app
from radvqa_data.lexicon import surface_index

runner = CliRunner()


def test_questions_about_different_findings_are_not_paraphrases() -> None:
    assert not same_terms("Is the edema large or small?", "Is the mass large or small?")
    assert not same_terms("Does the mass appear enhancing?", "Does the edema appear enhancing?")
    assert not same_terms("Is the lesion on the left?", "Is the lesion on the right?")
    assert not same_terms("Is this a T1 weighted image?", "Is this a T2 weighted image?")
    assert not same_terms("Is there a fracture?", "Is there no fracture?")
    assert not same_terms("Is the aneurysm larger than 5 mm?", "Is the aneurysm larger than 6 mm?")
    assert not same_terms("Is there mass effect?", "Is there a mass?")


def test_paraphrases_keep_their_terms_through_synonyms_typos_and_word_order() -> None:
    # one concept: the lexicon reads "bleed" as hemorrhage and "hepatic" as liver. ("lesion" and
    # "mass" are two concepts since rules v2: a cyst or a collection is a lesion, not a mass.)
    assert same_terms("Is there a bleed in the liver?", "Is there hepatic hemorrhage?")
    assert not same_terms("Is there a lesion in the liver?", "Is there a mass in the liver?")
    assert same_terms(
        "Is there a lesion in the liver?", "Is there a lesoin in the liver?"
    )  # a typo
    assert same_terms("Is the heart size normal?", "Is the heart a normal size?")  # word order
    assert same_terms(
        "Which is highlighted, white or gray matter?", "Is gray or white matter highlighted?"
    )
    assert same_terms("Is the mass in the left lung?", "is the mass in the left lung")


def test_terms_come_from_the_shipped_lexicon() -> None:
    """Every surface form of the lexicon is recognized as its concept (the entity ruler's reading,
    `surface_index`), so a lexicon change reaches the audit without code changes."""
    from radvqa_data.audit.normalize import normalize_text

    index = surface_index()
    assert len(index) > 300
    # the audit folds punctuation, so "t2*" (gradient echo) reads as "t2" (T2-weighted): skip forms
    # whose normalized words another concept shares
    concepts: dict[str, set[tuple[str, str]]] = {}
    for form, e in index.items():
        concepts.setdefault(normalize_text(form), set()).add((e.label, e.norm))
    clashes = {f for f, c in concepts.items() if len(c) > 1}
    assert len(clashes) <= 3, clashes
    for form, entry in index.items():
        if normalize_text(form) in clashes or not any(c.isalnum() for c in form):
            continue
        got = question_terms(f"Is there {form} here?").terms
        assert (entry.label, entry.norm) in got, (form, entry, got)


def _table(tmp_path: Path) -> Path:
    rows = []

    def add(rid: str, img: str, q: str, a: str) -> None:
        rows.append({"id": rid, "image_id": img, "split": "train", "question": q, "answer": a})

    add("e1", "img1", "Is the edema large or small?", "large")
    add("m1", "img1", "Is the mass large or small?", "large")
    add("m2", "img2", "Does the mass appear enhancing?", "yes")
    add("e2", "img2", "Does the edema appear enhancing?", "yes")
    add("p1", "img3", "Is there a lesion in the left kidney?", "yes")
    add("p2", "img3", "Is there a lesoin in the left kidney?", "yes")  # a real near duplicate
    p = tmp_path / "qa.jsonl"
    pl.DataFrame(rows).write_ndjson(p)
    return p


def test_audit_pairs_only_the_paraphrase(tmp_path: Path) -> None:
    p = _table(tmp_path)
    res = runner.invoke(
        app,
        [
            "audit",
            str(p),
            "--report",
            str(tmp_path / "rep"),
            "--no-progress",
            "--only",
            "qa_near_duplicate",
            "--threshold",
            "85",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "rep" / "audit.json").read_text())
    pairs = {frozenset((f["a"]["row_id"], f["b"]["row_id"])) for f in doc["findings"]}
    assert pairs == {frozenset(("p1", "p2"))}

    # text similarity alone pairs the different findings too: the term check is what removes them
    from dataclasses import replace

    from radvqa_data.audit.neardup import NearDupConfig
    from radvqa_data.audit.run import AuditOptions, run_audit

    text_only = replace(NearDupConfig(), threshold=85.0, terms=False)
    res2 = run_audit(
        AuditOptions(
            inputs=[p], only=frozenset({"qa_near_duplicate"}), progress=False, text=text_only
        )
    )
    assert {frozenset((f.a.row_id, f.b.row_id)) for f in res2.findings} == {
        frozenset(("e1", "m1")),
        frozenset(("m2", "e2")),
        frozenset(("p1", "p2")),
    }
