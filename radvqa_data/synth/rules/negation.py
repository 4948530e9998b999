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
from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.lexicon import by_norm
from radvqa_data.synth.rules.candidates import (
    MASS_NOUNS,
    QuestionRandom,
    finding_slots,
    make,
    reject,
)
from radvqa_data.synth.rules.evidence import (
    EVIDENCE_TRIGGERS,
    finding_group,
    negation_span,
    region_allows,
)
from radvqa_data.synth.rules.finding_frames import (
    ADJECTIVE_FINDINGS,
    STRUCTURE_CHANGES,
    CaptionReading,
)
from radvqa_data.synth.rules.scope import excluded, other_image
from radvqa_data.synth.rules.sentence_units import (
    group_of,
    is_adjective_like,
    sentence_bounds,
    sentence_of,
    units,
)
from radvqa_data.synth.rules.templates import article

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
    options: list[tuple[Entity, tuple[int, int], str]] = []
    for e in usable:
        if e.negated and finding_group(e.norm) not in present and not scoped_denial(e):
            span = negation_span(cap.text, cap.bounds, cap.ents, e)
            if span is None:
                continue
            phrase = scoped_phrase(cap.text, cap.bounds, cap.ents, e, span)
            if phrase is None:
                yield reject(
                    rec, "PRES", "pres.yesno", "negation_scoped_elsewhere", "caption",
                    cap.text[span[0] : span[1]],
                )  # fmt: skip
                continue
            options.append((e, span, phrase))
    rows = [("caption", cap.text, e, span, phrase) for e, span, phrase in options]
    # v5: the case's pertinent negatives about this study add to the caption's (not only where
    # the caption denies nothing), written once per case
    if rec.plane in CROSS_SECTION_VIEWS and rec.kind in (None, "scan"):
        text = rec.texts.get("findings") or ""
        denied = _case_negations(rec, text, present, regions)
        options = [(e, span, phrase) for e, span, phrase, same in denied if same]
        if denied and not options:
            yield reject(
                rec,
                "PRES",
                "pres.yesno",
                "case_negation_other_study",
                "findings",
                " | ".join(text[s:t] for _, (s, t), _, _ in denied),
            )
        elif options and not _case_owner(rec, options):
            yield reject(rec, "PRES", "pres.yesno", "case_negation_on_sibling", "findings", "")
        else:
            rows += [("findings", text, e, span, phrase) for e, span, phrase in options]
    # Every denied finding is a "no" (issue 20), one row per finding, the caption's first.
    seen: set[str] = set()
    written = 0
    for field, text, e, (s, t), phrase in rows:
        if phrase in seen or e.norm in seen or written >= MAX_NO_PER_IMAGE:
            continue
        seen.update((phrase, e.norm))
        written += 1
        yield make(
            rec,
            rng,
            "PRES",
            "pres.yesno",
            "no",
            CLOSED,
            field,
            text[s:t],
            _slots(e.norm, phrase),
            span_start=s,
            span_end=t,
        )


#: At most this many "no" rows per image (distinct denied findings).
MAX_NO_PER_IMAGE = 4
#: Words between a negation and the denied finding that do not narrow it ("no evidence of any
#: significant X"); every other modifier is carried into the question.
_NEUTRAL = frozenset(
    "evidence sign signs of any significant other to suggest suggesting indicate indicating "
    "is are was were the a an".split()
)
_SEPARATORS = frozenset({"or", "and", "nor", ",", "/"})
_PLACE_PREPS = frozenset({"in", "of", "within", "involving"})
_QUALIFIER_KINDS = frozenset({"ATTRIBUTE", "SIZE", "LATERALITY", "ANATOMY"})
#: Findings that are also what a mass holds inside: denied after an affirmed mass in the same
#: sentence ("The mass ... without any evidence of soft tissue, calcification or fat"), the
#: denial is of the mass's content, not of the picture (v6).
_INTERNAL_GROUPS = frozenset({"calcium", "necrosis", "blood", "air", "fluid"})


def scoped_phrase(
    text: str, bounds: list[tuple[int, int]], ents: list[Entity], e: Entity, span: tuple[int, int]
) -> str | None:
    """The finding as denied, with the words that narrow the denial (issue 20): "No peripheral
    enhancing fluid collections" -> "peripheral enhancing fluid collection", "no hydronephrosis
    of the left kidney" -> "hydronephrosis of the left kidney". None when the denial is scoped
    to a structure named before the negation ("The left kidney is normal with no
    hydronephrosis": the other kidney is not spoken for), so no question is asked."""
    lo, hi = sentence_of(bounds, e.start)
    sent = [x for x in ents if lo <= x.start and x.end <= hi]
    s, t = span
    before = units(text, lo, s, sent)
    if any(u.kind in ("ANATOMY", "LATERALITY") for u in before) and e.start > s:
        return None  # "<structure> ... with no <finding>": the denial is about that structure
    if text[s : s + 7].lower() == "free of":
        return None  # "RCA free of thrombus": the denial is about the subject before it
    if _partial_resolution(text, lo, s):
        return None  # "resolution of X" need not be complete ("significant resolution of ...")
    if text[s : s + 8].lower() == "absence " and text[max(lo, s - 7) : s].lower().strip() == (
        "in the"
    ):
        return None  # v6: "In the absence of ascites, ... may not be": a condition, not a fact
    if (
        e.start > s
        and finding_group(e.norm) in _INTERNAL_GROUPS
        and any(
            u.kind == "FINDING"
            and u.ent is not None
            and not u.ent.negated
            and finding_group(u.ent.norm) == "mass"
            for u in before
        )
    ):
        return None  # v6: "This nodule ... with no calcification": denied of the nodule only
    after_all = units(text, e.end, hi, sent)
    if (
        after_all
        and after_all[0].kind == "WORD"
        and after_all[0].low.isalpha()
        and (after_all[0].low not in _AFTER_OK and not is_adjective_like(after_all[0]))
    ):
        return None  # "no significant shunt vascularity": the denial is of a compound noun
    if e.start > s:  # "no <qualifiers> <finding>": the words after the last list separator
        between = units(text, s, e.start, sent)[1:]  # the trigger's first word is skipped
        cut = max((i for i, u in enumerate(between) if u.low in _SEPARATORS), default=-1)
        quals = [u for u in between[cut + 1 :] if u.low not in _NEUTRAL]
        quals = [u for u in quals if u.low not in EVIDENCE_TRIGGERS]
    else:  # "<qualifiers> <finding> is not seen": the noun phrase before the finding
        quals = []
        for u in reversed(units(text, lo, e.start, sent)):
            if u.kind in _QUALIFIER_KINDS or is_adjective_like(u):
                quals.insert(0, u)
            else:
                break
    words = [u.low for u in quals if u.kind != "PUNCT"]
    # a mention wider than its norm keeps its own qualifier ("pulmonary embolism": embolism)
    said, norm_words = e.text.lower().split(), e.norm.split()
    if len(said) > len(norm_words):
        words += said[: len(said) - len(norm_words)]
    one = said[0].rstrip("s") if len(said) == 1 else ""
    if one and one != e.norm and one.endswith(e.norm):
        return _joined(words, one, text, e, hi, sent)  # v6: "no gallstones" denies no other stone
    return _joined(words, e.norm, text, e, hi, sent)


def _joined(
    words: list[str], noun: str, text: str, e: Entity, hi: int, sent: list[Entity]
) -> str | None:
    """The qualifiers, the denied noun and its place ("in the left kidney"), or None when the
    clause goes on with a place the question cannot carry."""
    after = units(text, e.end, hi, sent)[:6]
    place = ""
    if after and after[0].low in _PLACE_PREPS:
        k = 1
        while (
            k < len(after)
            and after[k].low in ("the", "a", "an")
            or (k < len(after) and after[k].kind == "LATERALITY")
        ):
            k += 1
        if k < len(after) and after[k].kind == "ANATOMY":
            end = after[k].end
            nxt = after[k + 1] if k + 1 < len(after) else None
            if (
                nxt is not None
                and after[k].low.endswith(_ADJ_END)
                and nxt.kind == "WORD"
                and nxt.low.isalpha()
                and nxt.low not in _AFTER_OK
            ):
                end = nxt.end  # v6: "in the right thoracic wall", not "in the right thoracic"
            place = " " + text[after[0].start : end].lower()
    if not place and _unplaced(text, e.end, hi, sent):
        return None  # "No mass lesion is seen at the lead point": denied there only
    words = [w for w in words if not w.startswith(noun[:6])]  # "metastatic metastasis"
    phrase = " ".join([*words, noun]) + place
    return " ".join(phrase.split())


#: Words that may follow a denied finding without narrowing it: a verb of the negation, a list
#: word, a clause word.
_AFTER_OK = frozenset(
    "is are was were be been being seen noted identified visible evident present detected "
    "demonstrated appreciated observed found or and nor but to which that with without as "
    "can could may on in at of within under along around into for from after before until "
    "since during following here there this these either any has have had".split()
)
#: Prepositions that put a denied finding in a place ("at the lead point", "in the RVOT").
#: Endings of an adjectival anatomy word that needs the noun after it ("thoracic wall").
_ADJ_END = ("ic", "al", "ar", "ary")
_PLACE_WORDS = frozenset({"in", "at", "of", "within", "under", "along", "around", "on", "into"})
_COMPLETE = frozenset({"complete", "completely", "total", "full", "entire"})


def _partial_resolution(text: str, lo: int, s: int) -> bool:
    """True when the negation is "resolution of" without "complete" before it."""
    if not text[s : s + 10].lower().startswith("resolution"):
        return False
    prev = text[lo:s].lower().split()[-2:]
    return not any(w.strip(",.") in _COMPLETE for w in prev)


def _unplaced(text: str, end: int, hi: int, sent: list[Entity]) -> bool:
    """True when the denied finding's clause goes on with a place the question would not carry:
    a preposition before a noun that is not a modality ("on CT" names the study)."""
    clause = units(text, end, hi, sent)
    for k, u in enumerate(clause):
        if u.low in (",", ";", "but", "and", "or", "nor", "which", "with"):
            return False
        if u.low in _PLACE_WORDS:
            nxt = [x for x in clause[k + 1 : k + 3] if x.low not in ("the", "a", "an")]
            return bool(nxt) and nxt[0].kind not in ("MODALITY", "PUNCT")
    return False


def _slots(norm: str, phrase: str) -> dict[str, str]:
    """Template slots for a (qualified) finding phrase: the article follows its first word, and
    a mass noun keeps none."""
    if phrase == norm:
        return finding_slots(norm)
    return {"f": phrase, "f_article": "" if norm in MASS_NOUNS and phrase.startswith(norm)
            else article(phrase)}  # fmt: skip


def _case_owner(rec: ImageRecord, options: list) -> bool:
    """True when this image writes the case-level "no" rows: the first image (by id) of its case
    with the same modality. A negation in the case text is one fact about one study; written on
    every sibling it would be a copy per image (issue 20)."""
    same = [s.image_id for s in rec.siblings if s.modality == rec.modality]
    return not same or rec.image_id < min(same)


def scoped_denial(e: Entity) -> bool:
    """True when denying `e` does not deny the finding in the picture (v4): a negated adjective
    denies it of its own noun only ("a non-obstructed decompressed small bowel", "the appendix is
    not inflamed"), and a change of a structure is not asked without the structure."""
    return e.text.lower() in ADJECTIVE_FINDINGS or e.norm in STRUCTURE_CHANGES


def _case_negations(
    rec: ImageRecord, text: str, present: set[str], regions: frozenset[str]
) -> list[tuple[Entity, tuple[int, int], str, bool]]:
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
        if excluded(text, bounds, e):
            continue
        span = negation_span(text, bounds, ents, e)
        if span is None:
            continue
        phrase = scoped_phrase(text, bounds, ents, e, span)
        # a denial scoped to a structure named before it is not about this picture either
        same = (
            phrase is not None
            and not other_image(rec, text, bounds, ents, e)
            and _same_study(rec, text, bounds, ents, e, regions, sides)
        )
        out.append((e, span, phrase or e.norm, same))
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
