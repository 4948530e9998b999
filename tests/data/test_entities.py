"""Entities: lexicon, negation/uncertainty on real captions, incremental catalog table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from radvqa_data.lexicon import LABELS, load_lexicon, ruler_patterns, synonyms_of
from tests.conftest import dataset
from tests.helpers.synth_data import insert_catalog, medpix_records

NEGATED_MASS_IMAGE = "MPX1009_synpic46283"


@pytest.fixture(scope="module")
def nlp():
    from radvqa_data.entities.pipeline import build_pipeline

    return build_pipeline()


def ents(nlp, text):
    from radvqa_data.entities.pipeline import doc_entities

    return doc_entities(nlp(text), "caption")


def test_lexicon_covers_every_label_and_verified_cuis():
    entries = load_lexicon()
    assert {e.label for e in entries} == set(LABELS.values())
    assert all(e.cui is None or e.cui.startswith("C") for e in entries)
    assert "mr" in synonyms_of("MRI") and "computed tomography" in synonyms_of("CT")
    assert len(ruler_patterns()) > 500


def test_negated_mass_on_real_caption(nlp, shared_data):
    rec = medpix_records(dataset(shared_data, "medpix2"), 0, ids=(NEGATED_MASS_IMAGE,))[0]
    found = {e.norm: e for e in ents(nlp, rec["Description"]["Caption"])}
    assert found["mass"].negated and not found["mass"].uncertain
    assert not found["calcification"].negated  # affirmed in the first sentence
    assert not found["prostate"].negated  # the location of an absent finding is not absent


@pytest.mark.parametrize(
    "text, norm",
    [
        ("Possible metastasis in the liver.", "metastasis"),
        ("Findings suspicious for abscess.", "abscess"),
        ("Cannot exclude a small fracture.", "fracture"),
        ("A hemorrhage cannot be excluded.", "hemorrhage"),
    ],
)
def test_uncertainty_triggers(nlp, text, norm):
    e = {e.norm: e for e in ents(nlp, text)}[norm]
    assert e.uncertain and not e.negated


def test_negation_scope_stops_at_sentence_and_but(nlp):
    found = ents(
        nlp, "No effusion. There is a large mass but no pneumothorax, however edema is seen."
    )
    by = {e.norm: e.negated for e in found}
    assert by == {
        "effusion": True,
        "large": False,
        "mass": False,
        "pneumothorax": True,
        "edema": False,
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        # "non" negates the next word only, not the noun phrase after it
        (
            "Non enhancing cystic lesions in the left parietal lobe.",
            {"enhancing": True, "cystic lesion": False},
        ),
        ("Non-hemorrhagic infarct.", {"hemorrhage": True, "infarct": False}),
        # "without contrast" is technique, not a negation of what follows
        (
            "Axial CT without contrast shows a large hemorrhage.",
            {"large": False, "hemorrhage": False},
        ),
        # the scope reaches through a list to the finding it denies (MedPix MPX2028)
        (
            "There is no free air or abnormal fluid collections to suggest abscess formation.",
            {"free air": True, "fluid collection": True, "abscess": True},
        ),
        # "no other mass" does not deny the mass; a verb opening a new clause ends the scope
        (
            "No other masses. No effusion, there is edema.",
            {"mass": False, "effusion": True, "edema": False},
        ),
    ],
)
def test_negation_scope(nlp, text, expected):
    assert {e.norm: e.negated for e in ents(nlp, text) if e.norm in expected} == expected


@pytest.mark.parametrize(
    "text, norm",
    [
        # a list of differentials after "may represent" runs through ":" and ";" (MedPix MPX1124)
        (
            "This may represent a variety of lesions: small vessel ischemia; multiple sclerosis.",
            "multiple sclerosis",
        ),
        ("Status post resection of a mass.", "mass"),  # historical: not asserted for this image
        ("The hydatid cyst was dissected from the dura.", "cyst"),
        ("A woman presenting with a flank swelling.", "swelling"),
    ],
)
def test_uncertain_or_historical_findings(nlp, text, norm):
    assert {e.norm: e.uncertain for e in ents(nlp, text)}[norm]


def test_blocking_phrases_win_and_are_dropped(nlp):
    """A non-finding phrase ("neck dissection", "small vessel") beats the shorter finding or size
    word inside it and never reaches the entities."""
    found = ents(
        nlp, "Status after neck dissection. Small vessel ischemic change. Giant cell tumor."
    )
    assert {e.label for e in found} <= {"FINDING", "ANATOMY"} and "NONFINDING" not in {
        e.label for e in found
    }
    assert [e.norm for e in found if e.label == "FINDING"] == ["ischemia", "giant cell tumor"]


def test_lexicon_keeps_meanings_apart():
    """The conflations of the v1 lexicon (issue 16) each have their own norm now."""
    from radvqa_data.lexicon import surface_index

    norm = {s: e.norm for s, e in surface_index().items()}
    assert norm["mass effect"] != norm["midline shift"]
    assert norm["occlusion"] != norm["stenosis"] != norm["narrowing"]
    assert norm["collapse"] != norm["atelectasis"] and norm["lesion"] != norm["mass"]
    assert (
        norm["fluid collection"] != norm["mass"] and norm["thickening"] != norm["wall thickening"]
    )
    assert norm["mesenteric"] == "mesentery" and norm["sma"] == "superior mesenteric artery"
    assert not (
        {s for s, e in surface_index().items() if e.label == "FINDING"}
        & {"growth", "cavity", "cord"}
    )


def test_finding_regions():
    from radvqa_data.lexicon import by_norm

    regions = {norm: e.regions for (label, norm), e in by_norm().items() if label == "FINDING"}
    assert regions["midline shift"] == ("head",) and regions["hydronephrosis"] == (
        "abdomen",
        "pelvis",
    )
    assert "chest" in regions["atelectasis"] and "chest" in regions["pleural effusion"]
    assert regions["mass"] == ()


def test_abbreviation_resolves_to_lexicon_entry(nlp):
    found = ents(nlp, "Collapse of the right middle lobe (RML). The RML is airless.")
    rml = [e for e in found if e.text == "RML"]
    assert rml and all(e.label == "ANATOMY" and e.norm == "right middle lobe" for e in rml)


def test_entities_table_is_incremental(tmp_path: Path, shared_data):
    from radvqa_data.entities.run import run_entities

    cat = insert_catalog(tmp_path / "c.duckdb", medpix_records(dataset(shared_data, "medpix2"), 30))
    first = run_entities(cat, n_process=1, progress=False)
    assert first.texts_processed == 30 and first.mentions > 30 and first.negated >= 1
    again = run_entities(cat, n_process=1, progress=False)
    assert again.texts_processed == 0 and again.texts_skipped == 30
    con = duckdb.connect(str(cat))
    con.execute(
        "UPDATE texts SET text = 'No pneumothorax.' "
        "WHERE image_id = (SELECT min(image_id) FROM texts)"
    )
    con.execute(
        "INSERT INTO texts VALUES ('medpix2', 'NEW1', 'caption', 'Possible abscess in the liver.')"
    )
    con.close()
    third = run_entities(cat, n_process=2, progress=False)
    assert third.texts_processed == 2
    con = duckdb.connect(str(cat), read_only=True)
    rows = con.execute(
        "SELECT norm, negated, uncertain FROM entities WHERE image_id IN "
        "((SELECT min(image_id) FROM texts), 'NEW1') ORDER BY norm"
    ).fetchall()
    total = con.execute("SELECT count(*) FROM entities").fetchall()[0][0]
    n_recorded = con.execute("SELECT sum(n_entities) FROM entity_texts").fetchall()[0][0]
    con.close()
    assert ("pneumothorax", True, False) in rows and ("abscess", False, True) in rows
    assert total == n_recorded  # replaced texts' old mentions are gone, nothing duplicated


def test_fast_extraction_equals_the_plain_pipeline(nlp, shared_data):
    """Batching, forked workers, de-duplication, skipping the abbreviation detector on texts
    without "(" and the lean entity-ruler step change the speed only: the entities are those of
    `nlp(text)` one by one (real MedPix and ROCO captions)."""
    from radvqa_data.entities.extract import extract_entities
    from radvqa_data.entities.pipeline import doc_entities

    recs = medpix_records(dataset(shared_data, "medpix2"), 150)
    roco = (dataset(shared_data, "roco") / "test" / "radiology" / "captions.txt").read_text(
        encoding="utf-8"
    )
    texts = [r["Description"]["Caption"] or "" for r in recs] + [
        "Left upper lobe (LUL) mass. LUL collapse."
    ] * 2
    texts += [line.split("\t", 1)[1] for line in roco.splitlines()[:400] if "\t" in line]
    plain = [doc_entities(nlp(t), "caption") for t in texts]
    assert sum("(" in t for t in texts) >= 3 and sum(map(len, plain)) > 300
    for n_process in (1, 2):
        fast = [
            ents
            for _, _, ents in extract_entities(
                ((i, "caption", t) for i, t in enumerate(texts)),
                nlp=nlp,
                n_process=n_process,
                chunk_size=40,
            )
        ]
        assert fast == plain


def test_cuis_linked_from_the_source_concepts(tmp_path: Path):
    """A mention without a lexicon CUI takes the image's own CUI (ROCO cuis.txt / ROCOv2
    concepts) whose name matches; a lexicon CUI the source confirms is marked so."""
    from radvqa_data.core.db import connect
    from radvqa_data.entities.run import run_entities

    con = connect(tmp_path / "c.duckdb")
    con.execute("INSERT INTO sources (name, kind, path) VALUES ('roco', 'roco', '/x')")
    con.execute(
        "INSERT INTO images (source, image_id, status) VALUES ('roco', 'ROCO_1', 'missing')"
    )
    con.execute(
        "INSERT INTO texts VALUES ('roco', 'ROCO_1', 'caption', "
        "'CT of the abdomen shows a large mass in the liver.')"
    )
    con.execute(
        "INSERT INTO concepts (source, image_id, cui, origin) VALUES "
        "('roco', 'ROCO_1', 'C0577559', 'cuis.txt'), "
        "('roco', 'ROCO_1', 'C0040405', 'cuis.txt')"
    )
    con.execute(
        "INSERT INTO cui_names VALUES "
        "('C0577559', 'Mass'), ('C0040405', 'X-Ray Computed Tomography')"
    )
    con.close()
    summary = run_entities(tmp_path / "c.duckdb", n_process=1, progress=False)
    assert summary.cuis_linked == 1
    con = connect(tmp_path / "c.duckdb", read_only=True)
    rows = dict(
        (n, (c, o))
        for n, c, o in con.execute("SELECT norm, cui, cui_origin FROM entities").fetchall()
    )
    con.close()
    assert rows["mass"] == ("C0577559", "concepts")
    assert rows["CT"] == ("C0040405", "lexicon+concepts")
    assert rows["liver"][1] == "lexicon"


def test_trained_model_path_puts_the_lexicon_before_its_ner(tmp_path: Path):
    """`--model NAME_OR_PATH`: a (here locally initialized, untrained) spaCy pipeline with NER is
    loaded; the lexicon ruler runs before the NER so lexicon labels win, and the fast
    extraction takes the stock path (the NER reads doc.ents) with the same result."""
    import spacy

    from radvqa_data.entities.extract import extract_entities
    from radvqa_data.entities.pipeline import build_pipeline, doc_entities

    base = spacy.blank("en")
    base.add_pipe("ner").add_label("ENTITY")
    base.initialize()
    base.to_disk(tmp_path / "model")
    nlp = build_pipeline(str(tmp_path / "model"))
    assert nlp.pipe_names.index("entity_ruler") < nlp.pipe_names.index("ner")
    text = "No pleural effusion. Possible mass in the right lower lobe (RLL)."
    plain = doc_entities(nlp(text), "caption")
    by = {e.norm: e for e in plain if e.label != "ENTITY"}
    assert by["pleural effusion"].negated and by["mass"].uncertain
    assert by["right lower lobe"].label == "ANATOMY"
    fast = [ents for _, _, ents in extract_entities([(0, "caption", text)], nlp=nlp, n_process=1)]
    assert fast == [plain]


def test_abbreviation_detector_runs_where_a_long_form_can_be_a_lexicon_surface(nlp):
    """`_may_define` skips the detector only where no parenthesis follows a lexicon surface; the
    entities of the texts it keeps equal `nlp(text)`'s (with the detector)."""
    from radvqa_data.entities.extract import _may_define, extract_entities
    from radvqa_data.entities.pipeline import doc_entities

    kept = [
        "Left upper lobe (LUL) mass. LUL collapse.",
        "Collapse of the RML (right middle lobe ).",  # long form inside the parentheses
        "Right middle lobe   (RML) collapse",  # several spaces before the parenthesis
        "Réduction du right middle lobe (RML).",  # non-ASCII: every suffix length is tried
    ]
    skipped = [
        "Patient number 3 (white arrowhead) shown",
        "No parenthesis at all",
        "(a) (b) and c)",
    ]
    assert all(_may_define(t) for t in kept) and not any(_may_define(t) for t in skipped)
    texts = kept + skipped
    fast = [
        e
        for _, _, e in extract_entities(
            ((i, "caption", t) for i, t in enumerate(texts)), nlp=nlp, n_process=1
        )
    ]
    assert fast == [doc_entities(nlp(t), "caption") for t in texts]
    assert any(e.text == "RML" and e.norm == "right middle lobe" for e in fast[1])
