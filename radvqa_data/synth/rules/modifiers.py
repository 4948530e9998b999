"""POS, SIZE, ATTRIB and COUNT questions about one affirmed finding, from the modifiers that
attach to it (`finding_frames`): its side, place, size word, measurement, attribute and count.

Every mention of the finding must agree (two sides, two places or two sizes give no question);
a measurement keeps all its dimensions or gives no question; a signal attribute names the MR
sequence it is bound to; the "no" of a yes/no question asks the other side or the opposite
attribute, a contrasting stated fact.
"""

from __future__ import annotations

from collections.abc import Iterator

from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.synth.rules.candidates import (
    MASS_NOUNS,
    QuestionRandom,
    make,
    pick_polarity,
    plural,
    span_of,
)
from radvqa_data.synth.rules.finding_frames import CaptionReading
from radvqa_data.synth.rules.finding_phrases import TISSUE_SURFACES, anatomy_phrase, side_of
from radvqa_data.synth.rules.frame import Frame
from radvqa_data.synth.rules.sentence_units import NUMBER_WORDS, Unit, measurement_answer

OPPOSITE = {
    "hyperintense": "hypointense",
    "hypointense": "hyperintense",
    "hyperdense": "hypodense",
    "hypodense": "hyperdense",
    "enhancing": "non-enhancing",
    "non-enhancing": "enhancing",
    "heterogeneous": "homogeneous",
    "homogeneous": "heterogeneous",
    "well-defined": "ill-defined",
    "ill-defined": "well-defined",
}
OTHER_SIDE = {"left": "right", "right": "left"}
_SUPERLATIVES = frozenset("largest larger biggest bigger dominant smallest smaller".split())
_ADJECTIVE_ENDINGS = ("al", "ic", "ar", "ary", "ine", "eal", "ial")
_SEQUENCE_NAMES = {"ADC": "the ADC map"}
#: Words between an organ and its size word ("The prostate is mildly enlarged").
_SUBJECT_LINKS = frozenset(
    "is are was were appears appear not mildly markedly slightly moderately diffusely also".split()
)


def _is_plural(e: Entity) -> bool:
    low = e.text.lower()
    if low == plural(e.norm):
        return True
    return low.endswith(("s", "i", "ae")) and not low.endswith(("sis", "ss", "us"))


def place_answer(u: Unit) -> str:
    """A location answer: the written anatomical phrase, or the lexicon norm for an adjective or
    an abbreviation ("renal" -> kidney, "LUL" -> left upper lobe)."""
    assert u.ent is not None
    text = u.ent.text
    single = len(text.split()) == 1
    adjective = single and text.lower().endswith(_ADJECTIVE_ENDINGS)
    if text.isupper() or adjective or len(text.split()) > 3:
        return u.ent.norm
    return text.lower()


def _one(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def finding_questions(
    rec: ImageRecord, rng: QuestionRandom, cap: CaptionReading, f: Entity, same: list[Frame]
) -> Iterator[Candidate]:
    """POS, SIZE, ATTRIB and COUNT questions about one affirmed finding, from the modifiers that
    attach to it in every mention of it (two mentions that disagree give no question)."""
    sides = [u for fr in same for u in fr.sides]
    side_norms = {side_of(u) for u in sides}
    if len(side_norms) == 1:
        s = sides[0]
        side = side_of(s)
        yield make(
            rec,
            rng,
            "POS",
            "pos.side_open",
            side,
            OPEN,
            cap.field,
            s.ent.text,
            {"f": f.norm},
            **span_of(s),
        )
        if side in OTHER_SIDE:
            yes = pick_polarity(rng.fork("pos.side", f.norm, side))
            asked = side if yes else OTHER_SIDE[side]
            yield make(
                rec,
                rng,
                "POS",
                "pos.side_yesno",
                "yes" if yes else "no",
                CLOSED,
                cap.field,
                s.ent.text,
                {"f": f.norm, "s": asked},
                **span_of(s),
            )
    places = [u for fr in same for u in fr.locations]
    if len({u.ent.norm for u in places}) == 1:
        o = places[0]
        yield make(
            rec,
            rng,
            "POS",
            "pos.organ_open",
            place_answer(o),
            OPEN,
            cap.field,
            o.ent.text,
            {"f": f.norm},
            **span_of(o),
        )
    sizes = [
        u for fr in same for u in fr.sizes if u.ent is not None and u.ent.norm in ("large", "small")
    ]
    size = _one({u.ent.norm for u in sizes})
    if size is not None:
        s = sizes[0]
        first = rng.fork("size.choice", f.norm).random() < 0.5
        x, y = ("large", "small") if first else ("small", "large")
        yield make(
            rec,
            rng,
            "SIZE",
            "size.choice",
            size,
            CLOSED,
            cap.field,
            s.ent.text,
            {"f": f.norm, "x": x, "y": y},
            **span_of(s),
        )
    measures = [
        (u, measurement_answer(cap.text[u.start : u.end])) for fr in same for u in fr.measures
    ]
    answer = _one({a for _, a in measures if a})
    if answer is not None and all(a for _, a in measures) and not _superlative(cap, same):
        m = measures[0][0]
        yield make(
            rec,
            rng,
            "SIZE",
            "size.measure_open",
            answer,
            OPEN,
            cap.field,
            cap.text[m.start : m.end],
            {"f": f.norm},
            **span_of(m),
        )
    yield from _attribute(rec, rng, cap, f, same)
    yield from _count(rec, rng, cap, f, same)


def _superlative(cap: CaptionReading, same: list[Frame]) -> bool:
    """ "the largest lesion measuring 5 cm": the size of one of several, not of the finding."""
    for fr in same:
        lo = max(s for s, _ in cap.bounds if s <= fr.finding.start)
        if any(w in _SUPERLATIVES for w in cap.text[lo : fr.finding.start].lower().split()[-4:]):
            return True
    return False


def _attribute(rec, rng, cap: CaptionReading, f: Entity, same: list[Frame]) -> Iterator[Candidate]:
    """ATTRIB yes/no (the opposite value as the "no") and a two-way choice, naming the MR
    sequence when the caption binds the attribute to one ("T1 hyperintense")."""
    stated: dict[tuple[str, str | None], set[str]] = {}
    found: list[tuple[Unit, str | None, Unit | None]] = []
    for fr in same:
        for a, seq in fr.attributes:
            if a.ent is None or a.ent.negated or a.ent.norm not in OPPOSITE:
                continue
            seq_norm = seq.ent.norm if seq is not None and seq.ent is not None else None
            if seq_norm is None and a.group == "signal" and cap.sequences:
                if len(cap.sequences) > 1:
                    continue  # several sequences named, none bound to this attribute
                seq_norm = next(iter(cap.sequences))
            stated.setdefault((a.group or "", seq_norm), set()).add(a.ent.norm)
            found.append((a, seq_norm, seq))
    for a, seq_norm, seq in found:
        norm = a.ent.norm
        if len(stated[(a.group or "", seq_norm)]) > 1:
            continue  # both values stated (mixed signal): no opposite to ask
        lo, hi = (a.start, a.end)
        if seq is not None:
            lo, hi = min(a.start, seq.start), max(a.end, seq.end)
        span = {"span_start": lo, "span_end": hi}
        text = cap.text[lo:hi]
        if seq_norm is None:
            site = rng.fork("attrib", f.norm, norm)
            key, slots = "attrib", {"f": f.norm}
        else:
            site = rng.fork("attrib", f.norm, norm, seq_norm)
            seq_name = _SEQUENCE_NAMES.get(seq_norm, f"{seq_norm} images")
            key, slots = "attrib.seq", {"f": f.norm, "seq": seq_name}
        yes = pick_polarity(site)
        asked = norm if yes else OPPOSITE[norm]
        yield make(
            rec,
            rng,
            "ATTRIB",
            f"{key}_yesno" if seq_norm else "attrib.yesno",
            "yes" if yes else "no",
            CLOSED,
            cap.field,
            text,
            {**slots, "a": asked},
            **span,
        )
        x, y = (norm, OPPOSITE[norm]) if site.random() < 0.5 else (OPPOSITE[norm], norm)
        yield make(
            rec,
            rng,
            "ATTRIB",
            f"{key}_choice" if seq_norm else "attrib.choice",
            norm,
            CLOSED,
            cap.field,
            text,
            {**slots, "x": x, "y": y},
            **span,
        )
        return


def _count(rec, rng, cap: CaptionReading, f: Entity, same: list[Frame]) -> Iterator[Candidate]:
    """COUNT from a number or count word in the finding's own phrase ("two cysts", "solitary
    nodule"); the noun's number must agree ("multiple" with a plural)."""
    if f.norm in MASS_NOUNS:
        return
    counts = {}
    for fr in same:
        c = fr.count
        if c is None:
            continue
        if c.kind == "NUM":
            value = NUMBER_WORDS.get(c.low, c.low)
        else:
            value = "1" if c.ent.norm == "single" else "multiple"
        if (value == "1") == _is_plural(fr.finding):
            return
        counts[value] = c
    if len(counts) != 1:
        return
    count, c = next(iter(counts.items()))
    text = cap.text[c.start : c.end]
    if count != "1":
        yield make(
            rec,
            rng,
            "COUNT",
            "count.open",
            count,
            OPEN,
            cap.field,
            text,
            {"f": plural(f.norm)},
            **span_of(c),
        )
    yield make(
        rec,
        rng,
        "COUNT",
        "count.yesno",
        "no" if count == "1" else "yes",
        CLOSED,
        cap.field,
        text,
        {"f": plural(f.norm), "f1": f.norm},
        **span_of(c),
    )


def size_of_anatomy(
    rec: ImageRecord, rng: QuestionRandom, cap: CaptionReading
) -> Iterator[Candidate]:
    """SIZE yes/no "Is the prostate enlarged?" from "The prostate is enlarged", "enlarged right
    kidney" (yes) or "normal in size", "not enlarged" (no, the stated fact)."""
    for us in cap.sentences:
        for k, s in enumerate(us):
            if s.kind != "SIZE" or s.ent is None or s.ent.uncertain:
                continue
            if s.ent.norm not in ("enlarged", "normal size"):
                continue
            organ = _organ_before(us, k)
            if organ is None and s.ent.norm == "enlarged":
                found = anatomy_phrase(us, k + 1)
                organ = found[0] if found is not None else None
            if organ is None or organ.low in TISSUE_SURFACES or organ.ent is None:
                continue
            if organ.ent.norm == "lymph nodes":
                continue
            answer = "yes" if s.ent.norm == "enlarged" and not s.ent.negated else "no"
            yield make(
                rec,
                rng,
                "SIZE",
                "size.yesno",
                answer,
                CLOSED,
                cap.field,
                s.ent.text,
                {"loc": place_answer(organ)},
                **span_of(s),
            )
            return


def _organ_before(us: list[Unit], k: int) -> Unit | None:
    """ "The prostate is (mildly) enlarged": the anatomy that is the subject of the size word."""
    j = k - 1
    while j >= 0 and (us[j].low in _SUBJECT_LINKS or us[j].low == "-"):
        j -= 1
    return us[j] if j < k - 1 and j >= 0 and us[j].kind == "ANATOMY" else None
