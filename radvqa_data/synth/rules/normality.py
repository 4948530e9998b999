"""PRES "no" rows from statements of normality (issue 20): "The left kidney is normal",
"unremarkable liver", "The lungs are clear".

A structure stated normal has no finding: "Is there a mass in the left kidney? no" is true where
the caption says "The left kidney is normal", and says nothing about the rest of the picture. So
the question always carries the structure (never a global "no"), and the row cites the statement
from the structure to the normality word.

The statement is used only when it plainly covers the whole structure, read strictly:

- the structure is the subject ("<the> <side> <structure> is/are/was/appears normal|unremarkable",
  or a list of them: "The liver, spleen and pancreas are unremarkable"), or the head of a noun
  phrase that the normality word opens at the clause start, after a verb of showing or after
  "<image|MRI|...> of" ("shows a normal left adrenal gland", "MR imaging of the normal
  prostate"), not inside another phrase ("fragment located over the normal lateral meniscus");
- nothing hedges or narrows it: no word between the verb and "normal" but "also" ("grossly",
  "otherwise", "essentially" are out), nothing after it but the clause end ("normal in signal",
  "normal in size" state one property only), and the sentence has no "except", "remainder",
  "otherwise", "but", ... ("the remainder of the osseous structures are unremarkable");
- the sentence affirms no finding; no sentence that affirms one names the structure (a "hepatic
  mass" two sentences earlier makes "the liver is normal" partial); in a caption, the structure
  is named nowhere else at all ("the accessory bladder in front of the normal bladder", "a
  supernumerary testicle ... as the normal testes": the anomaly is of that structure);
- the sentence is about this picture (`scope.other_image`) and not under an exclusion cue;
- "clear" counts only for the lungs, and the lungs are asked about (consolidation, opacity) only
  on CT or radiographs (an "opacity" on ultrasound is no finding);
- in the case's findings text, only where the paragraph is about this image's study, as for
  the case-level negations (`case_normality_no`).

Measured on the `normal6` gold slice (tests/data/gold/README.md): 40/44 correct before the v6
fixes above (the named-again, ultrasound and inside-a-phrase rules came from its 4 misses).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from radvqa_data.core.answers import CLOSED
from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom, make
from radvqa_data.synth.rules.evidence import region_allows
from radvqa_data.synth.rules.scope import excluded, other_image
from radvqa_data.synth.rules.sentence_units import (
    DETERMINERS,
    Unit,
    sentence_bounds,
    sentence_of,
    units,
)
from radvqa_data.synth.rules.templates import article

#: The words that state a structure normal ("clear" only of the lungs).
_NORMAL_WORDS = frozenset({"normal", "unremarkable", "clear"})
_LUNGS = frozenset({"lung"})
#: Copulas between a subject structure and its normality word.
_COPULAS = frozenset(
    "is are was were appears appear appeared looks look remains remain remained".split()
)
#: Words anywhere in the sentence that make the statement partial or relative.
_PARTIAL = re.compile(
    r"\b(?:except|excepting|other than|apart from|aside from|besides|save for|otherwise|"
    r"remainder|rest of|remaining|but|however|although|though|while|whereas|near(?:ly)?|"
    r"almost|relatively|essentially|grossly|mostly|largely|partly|partially|limits|variant|"
    r"upper|lower limit|borderline|slightly|mildly|not|no longer|previously|again)\b",
    re.IGNORECASE,
)
#: What may stand between the clause start and a subject structure.
_SUBJECT_OK = frozenset({*DETERMINERS, "both", "bilateral", ",", "and", "•", "-", "*"})
#: Words that may stand right before an attributive "normal <structure>" ("shows normal kidneys").
_BEFORE_NORMAL = frozenset(
    "is are shows show showing demonstrates demonstrate demonstrating reveals revealing "
    "with".split()
)
#: At most this many normality rows per image.
MAX_NORMAL_PER_IMAGE = 2
#: Findings asked about a structure stated normal (the first that can exist in the image's region).
_ASKED = ("mass", "lesion")
_ASKED_LUNGS = ("consolidation", "opacity")
#: Where an opacity or a consolidation of the lungs is a finding of the picture.
_LUNG_MODALITIES = frozenset({"CT", "X-ray"})


def normality_no(
    rec: ImageRecord,
    rng: QuestionRandom,
    text: str,
    bounds: list[tuple[int, int]],
    ents: list[Entity],
    regions: frozenset[str],
    taken: set[str],
) -> Iterator[Candidate]:
    """PRES "no" candidates from the caption's statements of normality, one per structure, at
    most `MAX_NORMAL_PER_IMAGE`; `taken` holds the finding phrases already asked (updated)."""
    yield from _normal_rows(rec, rng, "caption", text, bounds, ents, regions, taken, None)


def case_normality_no(
    rec: ImageRecord, rng: QuestionRandom, regions: frozenset[str], taken: set[str]
) -> Iterator[Candidate]:
    """PRES "no" candidates from statements of normality in the case's findings text, only where
    the text around the statement is about this image's study (`negation._same_study`: its
    modality, its region, its side) and only on the first image of the case with that modality
    (one fact about one study, not a copy per picture). The caption must not affirm a finding of
    the structure either."""
    from radvqa_data.synth.rules.negation import (
        CROSS_SECTION_VIEWS,
        _case_owner,
        _image_sides,
        _same_study,
    )

    text = rec.texts.get("findings") or ""
    if not text or rec.plane not in CROSS_SECTION_VIEWS or rec.kind not in (None, "scan"):
        return
    if not any(w in text.lower() for w in _NORMAL_WORDS) or not _case_owner(rec, [None]):
        return
    ents = [e for e in rec.entities if e.field == "findings"]
    bounds = sentence_bounds(text)
    sides = _image_sides(rec)

    def same_study(anat: Entity) -> bool:
        return _same_study(rec, text, bounds, ents, anat, regions, sides)

    cap = rec.texts.get("caption") or ""
    cap_ents = [e for e in rec.entities if e.field == "caption"]
    other = (cap, sentence_bounds(cap), cap_ents) if cap else None
    yield from _normal_rows(
        rec, rng, "findings", text, bounds, ents, regions, taken, other, same_study
    )


def _normal_rows(
    rec: ImageRecord,
    rng: QuestionRandom,
    field: str,
    text: str,
    bounds: list[tuple[int, int]],
    ents: list[Entity],
    regions: frozenset[str],
    taken: set[str],
    other: tuple[str, list[tuple[int, int]], list[Entity]] | None,
    about_image: Callable[[Entity], bool] | None = None,
) -> Iterator[Candidate]:
    """The rows of one text's statements of normality (see the module docstring); `other` is a
    further text (the caption, for the case's findings) whose affirmed findings must not be of
    the structure, `about_image` an extra check that the statement is about this picture."""
    if not any(w in text.lower() for w in _NORMAL_WORDS):
        return  # the common case: no normality word at all
    written = 0
    for lo, hi in bounds:
        if written >= MAX_NORMAL_PER_IMAGE:
            return
        sent_text = text[lo:hi]
        low = sent_text.lower()
        if not any(w in low for w in _NORMAL_WORDS) or _PARTIAL.search(sent_text):
            continue
        sent = [x for x in ents if lo <= x.start and x.end <= hi]
        if any(x.label == "FINDING" and not x.negated for x in sent):
            continue  # the sentence affirms a finding: the normal statement may be partial
        us = units(text, lo, hi, sent)
        for structures, start, end in _statements(us):
            for anat, side in structures:
                if written >= MAX_NORMAL_PER_IMAGE:
                    return
                if field == "caption" and _named_again(ents, anat, start, end):
                    continue  # "accessory bladder in front of the normal bladder"
                if _with_finding(text, bounds, ents, anat.norm, (lo, hi)):
                    continue
                if other is not None and _with_finding(*other, anat.norm, None):
                    continue
                if excluded(text, bounds, anat) or other_image(rec, text, bounds, ents, anat):
                    continue
                if about_image is not None and not about_image(anat):
                    continue
                if anat.norm in _LUNGS and rec.modality not in _LUNG_MODALITIES:
                    continue  # "ultrasound appearance of normal lung": no opacity to ask about
                asked = _ASKED_LUNGS if anat.norm in _LUNGS else _ASKED
                if text[start:end].lower().endswith("clear") and anat.norm not in _LUNGS:
                    continue
                options = [f for f in asked if region_allows(f, regions)]
                if not options:
                    continue
                finding = rng.fork("pres.normal", anat.norm, side).choice(options)
                place = " ".join([*([side] if side else []), _structure_word(anat)])
                phrase = f"{finding} in the {place}"
                if phrase in taken:
                    continue
                taken.add(phrase)
                written += 1
                yield make(
                    rec,
                    rng,
                    "PRES",
                    "pres.normal",
                    "no",
                    CLOSED,
                    field,
                    text[start:end],
                    {"f": phrase, "f_article": article(phrase)},
                    span_start=start,
                    span_end=end,
                )


#: Endings of adjectival anatomy surfaces ("renal", "hepatic"): the question names the norm.
_ADJ_END = ("ic", "al", "ar", "ary", "ous", "ine")


def _structure_word(anat: Entity) -> str:
    """The structure as written when it ends in a noun ("fourth ventricle", "pancreatic head",
    "kidneys"), else the norm ("renal" -> kidney)."""
    said = " ".join(anat.text.lower().split())
    return anat.norm if said.endswith(_ADJ_END) else said


def _with_finding(
    text: str,
    bounds: list[tuple[int, int]],
    ents: list[Entity],
    norm: str,
    skip: tuple[int, int] | None,
) -> bool:
    """True when a sentence of the text (other than `skip`) names the structure and affirms a
    finding: the structure is then not normal throughout ("hepatic mass ... The liver is
    otherwise normal")."""
    for x in ents:
        if x.label != "ANATOMY" or x.norm != norm:
            continue
        lo, hi = sentence_of(bounds, x.start)
        if skip is not None and (lo, hi) == skip:
            continue
        if any(y.label == "FINDING" and not y.negated and lo <= y.start < hi for y in ents):
            return True
    return False


def _statements(us: list[Unit]) -> Iterator[tuple[list[tuple[Entity, str]], int, int]]:
    """(structures with their side, span start, span end) for each normality statement in the
    sentence's units: a subject list before a copula and the normality word, or the normality
    word opening a noun phrase headed by a structure."""
    n = len(us)
    for k, u in enumerate(us):
        if u.low not in _NORMAL_WORDS or u.kind != "WORD":
            continue
        if not _clause_ends(us, k + 1):
            # attributive: "normal (left) <structure>" ending its noun phrase
            j, side = k + 1, ""
            if j < n and us[j].kind == "LATERALITY":
                side, j = us[j].low, j + 1
            if (
                u.low != "clear"
                and j < n
                and us[j].kind == "ANATOMY"
                and _clause_ends(us, j + 1)
                and _opens_statement(us, k)
                and us[j].ent is not None
                and side != "bilateral"
            ):
                yield [(us[j].ent, side)], u.start, us[j].end
            continue
        # predicative: "<subjects> <copula> [also] normal"
        j = k - 1
        if j >= 0 and us[j].low == "also":
            j -= 1
        if j < 0 or us[j].low not in _COPULAS:
            continue
        subjects: list[tuple[Entity, str]] = []
        i = j - 1
        while i >= 0 and (us[i].kind in ("ANATOMY", "LATERALITY") or us[i].low in _SUBJECT_OK):
            i -= 1
        if i >= 0:
            continue  # the clause opens with something else ("the remainder of the ...")
        side = ""
        for x in us[:j]:
            if x.kind == "LATERALITY":
                side = x.low if x.low.isalpha() and x.low != "bilateral" else "?"
            elif x.kind == "ANATOMY" and x.ent is not None:
                subjects.append((x.ent, side))
                side = ""
        if subjects and "?" not in (s for _, s in subjects):
            yield subjects, us[0].start, u.end


#: Nouns naming a picture: "<picture> of (the) normal <structure>" is a statement about it.
_PICTURE_NOUNS = frozenset(
    "image images imaging scan scans view views appearance section radiograph ultrasound "
    "sonogram photograph".split()
)


def _opens_statement(us: list[Unit], k: int) -> bool:
    """True when the normality word at `k` opens a statement about the picture: at the clause
    start, or after a verb of showing / a picture noun and "of" (with or without a determiner);
    not inside another phrase ("fragment located over the normal lateral meniscus")."""
    j = k - 1
    if j >= 0 and us[j].low in DETERMINERS:
        j -= 1
    if j < 0 or us[j].low in (",", ";", ":", "•", "-", "*"):
        return True
    if us[j].low == "of":
        return j > 0 and (us[j - 1].kind == "MODALITY" or us[j - 1].low in _PICTURE_NOUNS)
    return us[j].low in _BEFORE_NORMAL


def _named_again(ents: list[Entity], anat: Entity, start: int, end: int) -> bool:
    """True when the text names the same structure outside the statement [start, end)."""
    return any(
        x.label == "ANATOMY" and x.norm == anat.norm and not (start <= x.start < end) for x in ents
    )


def _clause_ends(us: list[Unit], k: int) -> bool:
    """True when unit `k` ends the clause: the sentence end, "." "," ";" or "and", or a denial
    that only adds to the statement ("normal with no hydronephrosis", "without a mass")."""
    if k >= len(us) or us[k].low in (".", ",", ";", "and", ":", "without"):
        return True
    return us[k].low == "with" and k + 1 < len(us) and us[k + 1].low == "no"
