"""PRES "no" rows: only from an explicit negation, never from what a caption leaves out.

The caption's own negation comes first ("no free air"). Where the caption denies nothing, a
negation in the same case's findings text may back the "no", but only when that text is about
this image's study: a MedPix case holds several studies (radiographs of the right ankle, an MRI
of the left one), and a negation about one says nothing about a picture of another. A case-level
negation is used only when, read from the start of its paragraph to the end of its sentence:

- it names exactly one modality, and that is the image's (the sentence's own, else the last one
  the paragraph named before it: "Axial CT: ... There is no calcification.");
- every anatomy it names fits the image's known body region (an image whose region is unknown
  gets no case-level "no");
- where the image's caption or record states a side, every side it names (left, right) is one
  of those ("radiographs of the right ankle" say nothing about an MRI of the left ankle).

The row then cites the negation span with `source_field` `findings`.
"""

from __future__ import annotations

from collections.abc import Iterator

from radvqa_data.core.answers import CLOSED
from radvqa_data.core.records import Candidate, Entity, ImageRecord
from radvqa_data.lexicon import by_norm
from radvqa_data.synth.rules.candidates import QuestionRandom, finding_slots, make, reject
from radvqa_data.synth.rules.evidence import finding_group, negation_span, region_allows
from radvqa_data.synth.rules.finding_frames import (
    ADJECTIVE_FINDINGS,
    STRUCTURE_CHANGES,
    CaptionReading,
)
from radvqa_data.synth.rules.sentence_units import group_of, sentence_bounds, sentence_of

#: Views of an ordinary slice or radiograph: a case-level "no" is asked only about those (not a 3D
#: rendering, a montage or a photograph, which need not show what the case text denies).
CROSS_SECTION_VIEWS = frozenset({"axial", "coronal", "sagittal", "frontal", "lateral", "oblique"})
_SIDES = ("left", "right")
Negation = tuple[Entity, tuple[int, int]]  # the denied finding, the span from trigger to finding


def pres_no(
    rec: ImageRecord,
    rng: QuestionRandom,
    cap: CaptionReading,
    usable: list[Entity],
    regions: frozenset[str],
) -> Iterator[Candidate]:
    """One "no" per image, from an explicit negation: the caption's, else the case findings'
    about this image's study (a reject says when the case denied something about another one)."""
    present = {
        finding_group(e.norm) for e in rec.entities if e.label == "FINDING" and not e.negated
    }
    options = []
    for e in usable:
        if e.negated and finding_group(e.norm) not in present and not scoped_denial(e):
            span = negation_span(cap.text, cap.bounds, cap.ents, e)
            if span is not None:
                options.append((e, span))
    field, text, site = "caption", cap.text, "pres.negated"
    if not options and rec.plane in CROSS_SECTION_VIEWS and rec.kind in (None, "scan"):
        field, text, site = "findings", rec.texts.get("findings") or "", "pres.case_negated"
        denied = _case_negations(rec, text, present, regions)
        options = [(e, span) for e, span, same in denied if same]
        if denied and not options:
            yield reject(
                rec,
                "PRES",
                "pres.yesno",
                "case_negation_other_study",
                "findings",
                " | ".join(text[s:t] for _, (s, t), _ in denied),
            )
    if options:
        e, (s, t) = rng.fork(site).choice(options)
        yield make(
            rec,
            rng,
            "PRES",
            "pres.yesno",
            "no",
            CLOSED,
            field,
            text[s:t],
            finding_slots(e.norm),
            span_start=s,
            span_end=t,
        )


def scoped_denial(e: Entity) -> bool:
    """True when denying `e` does not deny the finding in the picture (v4): a negated adjective
    denies it of its own noun only ("a non-obstructed decompressed small bowel", "the appendix is
    not inflamed"), and a change of a structure is not asked without the structure."""
    return e.text.lower() in ADJECTIVE_FINDINGS or e.norm in STRUCTURE_CHANGES


def _case_negations(
    rec: ImageRecord, text: str, present: set[str], regions: frozenset[str]
) -> list[tuple[Entity, tuple[int, int], bool]]:
    """Negated findings of the case's findings text that could hold for this image (a finding of
    a class nothing affirms, allowed in its region), each with its span and whether the text
    around it is about this image's study."""
    if not text:
        return []
    ents = [e for e in rec.entities if e.field == "findings"]
    bounds = sentence_bounds(text)
    sides = _image_sides(rec)
    out = []
    for e in ents:
        if e.label != "FINDING" or not e.negated or e.uncertain or finding_group(e.norm) in present:
            continue
        if scoped_denial(e):
            continue
        if not region_allows(e.norm, regions):
            continue
        span = negation_span(text, bounds, ents, e)
        if span is not None:
            out.append((e, span, _same_study(rec, text, bounds, ents, e, regions, sides)))
    return out


def _same_study(
    rec: ImageRecord,
    text: str,
    bounds: list[tuple[int, int]],
    ents: list[Entity],
    e: Entity,
    regions: frozenset[str],
    sides: set[str],
) -> bool:
    """True when the paragraph up to the negation's sentence end names this image's modality
    (only), nothing outside its region, and no side other than those the image states."""
    lo, hi = sentence_of(bounds, e.start)
    para = text.rfind("\n", 0, lo) + 1
    context = [x for x in ents if para <= x.start and x.end <= hi]
    in_sentence = [x for x in context if x.start >= lo and x.label == "MODALITY"]
    earlier = [x for x in context if x.start < lo and x.label == "MODALITY"]
    named = in_sentence or earlier[-1:]
    modalities = {group_of("MODALITY", x.norm) or x.norm for x in named}
    if not rec.modality or modalities != {rec.modality}:
        return False
    if not regions:
        return False
    if any(x.label == "ANATOMY" and not _anatomy_fits(x.norm, regions) for x in context):
        return False
    return not sides or _sides_named(context) <= sides


def _sides_named(ents: list[Entity]) -> set[str]:
    """left/right as written: a laterality word or an anatomy phrase that starts with one."""
    found = set()
    for x in ents:
        first = x.text.lower().split()[0] if x.text.strip() else ""
        if x.label == "LATERALITY" and x.norm in _SIDES:
            found.add(x.norm)
        elif x.label == "ANATOMY" and first in _SIDES:
            found.add(first)
    return found


def _image_sides(rec: ImageRecord) -> set[str]:
    """The sides this image's record and caption state."""
    sides = _sides_named([e for e in rec.entities if e.field == "caption"])
    if rec.laterality in _SIDES:
        sides.add(rec.laterality)
    return sides


def _anatomy_fits(norm: str, regions: frozenset[str]) -> bool:
    entry = by_norm().get(("ANATOMY", norm))
    return entry is None or entry.group in ("other", None) or entry.group in regions
