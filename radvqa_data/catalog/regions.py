"""The body region of an image from every per-image signal a source gives.

Each signal names the set of regions it allows: MedPix's per-image ACR code (its first digit is
the ACR Index anatomic field), its `Location` and its `Location Category`. An organ-system
signal (genitourinary, gastrointestinal, musculoskeletal) allows several regions, and one that
names no place at all (vascular, generalized, endocrine) allows every region, so it never
decides alone. The region is what every stated signal allows:

- one region left: that is the image's region;
- several left (a genitourinary image: abdomen or pelvis): the caption's anatomy terms (the
  lexicon's ANATOMY entries, whose group is a region) choose among them ("renal" -> abdomen);
- none left, or a caption that names only regions the metadata rules out: the signals
  conflict, and nobody should answer a region question from them.

`resolve` returns the region (or None) and a status that says which case it was; the catalog
stores the status in `images.extra` (`region_status`) so that synthesis can count why an image
got no ORGAN question.

Why sets and not a first-match keyword list: MedPix's "Genitourinary" covers kidney-level
abdominal CTs as well as the pelvis, "Musculoskeletal" covers skulls and hips as well as limbs,
and "Vascular" is no place at all. A keyword mapped to one region was wrong for 4 of 24 checked
images (issue 16); the ACR code was right in every checked case where the category was wrong.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from radvqa_data.lexicon import load_lexicon

#: The region vocabulary of the catalog's `region` column and of ORGAN answers.
REGIONS: tuple[str, ...] = (
    "head", "neck", "chest", "breast", "abdomen", "pelvis", "spine", "extremity",
)  # fmt: skip

_ALL = frozenset(REGIONS)

#: ACR Index anatomic field (first digit of the code) -> the regions it allows. Field 0 is the
#: breast in MedPix (every 0.x code with x > 0 is a breast image); "0.0" and "-1" mean uncoded.
#: Field 9, vascular and lymphatic systems, is anywhere in the body: no region.
ACR_FIELDS: dict[str, frozenset[str]] = {
    "0": frozenset({"breast", "chest"}),  # a breast lies on the chest wall
    "1": frozenset({"head"}),  # skull and contents
    "2": frozenset({"head", "neck"}),  # face, mastoids and neck
    "3": frozenset({"spine"}),  # spine and contents
    "4": frozenset({"extremity", "pelvis", "chest", "spine"}),  # skeletal system: bones anywhere
    "5": frozenset({"chest"}),  # heart and mediastinum
    "6": frozenset({"chest"}),  # chest: lungs, pleura, chest wall
    "7": frozenset({"abdomen", "pelvis", "chest", "neck"}),  # gastrointestinal: pharynx to rectum
    "8": frozenset({"abdomen", "pelvis"}),  # genitourinary: kidneys to genitals
    "9": _ALL,  # vascular and lymphatic
}

#: MedPix `Location` (lower case) -> regions. Organ systems allow every region they reach.
LOCATIONS: dict[str, frozenset[str]] = {
    "brain and neuro": frozenset({"head", "spine"}),  # the central nervous system: cord too
    "nerve, central": frozenset({"head", "spine"}),
    "head and neck": frozenset({"head", "neck"}),
    "eye and orbit": frozenset({"head"}),
    "ophthalmology": frozenset({"head"}),
    "dental, oral, or tooth": frozenset({"head"}),
    "spine": frozenset({"spine"}),
    "chest, pulmonary": frozenset({"chest"}),
    "breast and mammography": frozenset({"breast", "chest"}),
    "abdomen": frozenset({"abdomen", "pelvis"}),
    "gastrointestinal": frozenset({"abdomen", "pelvis", "chest", "neck"}),
    "genitourinary": frozenset({"abdomen", "pelvis"}),
    "musculoskeletal": _ALL - {"breast"},
    "cardiovascular": _ALL - {"breast"},  # the heart, but also every vessel
    "vascular": _ALL,
}

#: MedPix `Location Category` (lower case) -> regions. Coarse: "Head" holds spinal cord
#: images filed under "Brain and Neuro", "Spine and Muscles" holds skulls, limbs and spines.
CATEGORIES: dict[str, frozenset[str]] = {
    "head": frozenset({"head", "neck", "spine"}),
    "thorax": frozenset({"chest", "breast"}),
    "abdomen": frozenset({"abdomen", "pelvis"}),
    "reproductive and urinary system": frozenset({"abdomen", "pelvis"}),
    "spine and muscles": _ALL - {"breast"},
}

_ACR = re.compile(r"^\s*(-?\d+)\.(-?\d+)")


def acr_regions(code: str | None) -> frozenset[str] | None:
    """The regions an ACR code's anatomic field allows ('8.-1' -> abdomen, pelvis); None when
    the code is absent or uncoded ('-1.-1', '0.0')."""
    if not code:
        return None
    m = _ACR.match(code)
    if m is None:
        return None
    anatomic, pathology = m.groups()
    if anatomic.startswith("-") or (anatomic == "0" and pathology in {"0", "-1"}):
        return None
    allowed = ACR_FIELDS.get(anatomic[0])
    return None if allowed is None or allowed == _ALL else allowed


def lookup(table: dict[str, frozenset[str]], raw: str | None) -> frozenset[str] | None:
    """The regions `raw` allows per `table`; None when not stated or not a place."""
    if raw is None:
        return None
    allowed = table.get(str(raw).strip().lower())
    return None if allowed is None or allowed == _ALL else allowed


def combine(signals: Iterable[frozenset[str] | None]) -> tuple[str, ...] | None:
    """The regions every stated signal allows, sorted in `REGIONS` order; None when no signal
    was stated, () when the signals conflict."""
    allowed: frozenset[str] | None = None
    for s in signals:
        if s is not None:
            allowed = s if allowed is None else allowed & s
    if allowed is None:
        return None
    return tuple(r for r in REGIONS if r in allowed)


def medpix_regions(
    acr_code: str | None, location: str | None, category: str | None
) -> tuple[str, ...] | None:
    """The regions a MedPix image's ACR code, Location and Location Category all allow."""
    return combine(
        [acr_regions(acr_code), lookup(LOCATIONS, location), lookup(CATEGORIES, category)]
    )


#: Anatomy terms that say nothing about the region in the picture: vessels and muscles run
#: through every region, the diaphragm borders two, and a few bare words are other organs'
#: names too ("cord": spermatic or vocal; "disc": optic; "medulla": renal; a bare "ventricle":
#: the heart's or the brain's).
NOT_REGION_EVIDENCE_NORMS = frozenset({"aorta", "inferior vena cava", "muscle", "diaphragm"})
NOT_REGION_EVIDENCE_FORMS = frozenset({"cord", "disc", "medulla", "ventricle"})
#: Surface forms whose region differs from their lexicon entry's group: the rectum and the
#: sigmoid lie in the pelvis (the entry "bowel" is grouped abdomen), a breast is its own region.
FORM_REGIONS = {"rectum": "pelvis", "sigmoid": "pelvis", "sigmoid colon": "pelvis",
                "breast": "breast", "breasts": "breast"}  # fmt: skip


#: Region words the lexicon does not list (yet): the regions' own names, bones, joints and
#: tendons of the limbs, and a few sites of the head and abdomen, seen in MedPix captions whose
#: image had no other anatomy word. Used as region evidence only (they are no entities). Not
#: "head": "head of the metatarsal" (the humeral, femoral and pancreatic heads are lexicon forms).
EXTRA_REGION_WORDS: dict[str, tuple[str, ...]] = {
    "extremity": (
        "humeral", "glenoid", "acromion", "acromioclavicular", "olecranon", "epicondyle", "ulnar",
        "thumb", "phalanges", "phalangeal", "tarsal", "tarsus", "navicular", "cuneiform", "cuboid",
        "calcaneal", "calcaneous", "plantar", "achilles", "malleolus", "malleolar", "tibial",
        "fibular", "patellar", "femoral condyle", "popliteal", "calf", "toes", "great toe",
        "midfoot", "hindfoot", "forefoot",
    ),
    "chest": ("chest", "thorax", "thoracic", "intrathoracic"),
    "abdomen": ("abdomen", "abdominal", "intra-abdominal", "celiac", "porta hepatis", "colonic",
                "duodenal", "jejunal", "ileal"),
    "head": ("calvarial", "sellar", "suprasellar", "parasellar", "cerebellopontine", "nasal"),
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def _anatomy_pattern() -> tuple[re.Pattern[str], dict[str, str | None]]:
    """One regex over every ANATOMY surface form (longest first), and form -> region (None for
    forms that are no evidence: they are still matched, so "vertebral artery" is no "vertebral")."""
    regions: dict[str, str | None] = {}
    for e in load_lexicon():
        if e.label != "ANATOMY":
            continue
        for form in e.synonyms:
            low = form.lower()
            region = FORM_REGIONS.get(low, e.group)
            evidence = (
                e.norm not in NOT_REGION_EVIDENCE_NORMS and low not in NOT_REGION_EVIDENCE_FORMS
            )
            regions.setdefault(low, region if evidence and region in REGIONS else None)
    for region, words in EXTRA_REGION_WORDS.items():
        for word in words:
            regions.setdefault(word, region)
    forms = sorted(regions, key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, forms)) + r")(?![a-z0-9])")
    return pattern, regions


def caption_regions(text: str | None) -> frozenset[str]:
    """The regions of the anatomy a caption names ("renal cyst, liver normal" -> abdomen)."""
    if not text:
        return frozenset()
    pattern, regions = _anatomy_pattern()
    found = (regions[m.group(1)] for m in pattern.finditer(text.lower()))
    return frozenset(r for r in found if r is not None)


class Region(NamedTuple):
    """The resolved region of one image, and how it was decided."""

    region: str | None
    status: str | None  # metadata | caption | undecided | conflict | None (nothing stated)
    options: tuple[str, ...] | None  # what the metadata signals allow


def resolve(options: tuple[str, ...] | None, caption: str | None) -> Region:
    """Decide the region from the metadata `options` (see `combine`) and the caption's anatomy.

    The caption only chooses among what the metadata allows; it never adds a region. A caption
    that names anatomy, none of it in an allowed region, is a conflict: the picture is probably
    not what the metadata says (a sagittal cervical-spine CT filed under the brain).
    """
    if options is None:
        return Region(None, None, None)
    if not options:
        return Region(None, "conflict", options)
    named = caption_regions(caption)
    agreed = tuple(r for r in options if r in named)
    if named and not agreed:
        return Region(None, "conflict", options)
    if len(options) == 1:
        return Region(options[0], "metadata", options)
    if len(agreed) == 1:
        return Region(agreed[0], "caption", options)
    return Region(None, "undecided", options)
