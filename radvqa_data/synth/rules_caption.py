"""Rules for the questions a caption answers, built on its entities: PRES, ABN, POS, SIZE,
ATTRIB and COUNT. Each candidate cites the exact span that grounds it.

What the rules will not do (each was a measured error source, see docs/synth.md "Correctness"):
- answer "no" from absence: a "no" cites a negation in scope or a contrasting stated fact
  (`rules_evidence`);
- attach a size, side, count, location or attribute to a finding it does not modify
  (`caption_frames`);
- ask about a finding that is uncertain, one of two alternatives ("cyst or abscess"), or that
  cannot exist in the image's region.
"""

from __future__ import annotations

from collections.abc import Iterator

from radvqa_data.filters.source_text import source_text_reason
from radvqa_data.synth.caption_frames import TISSUE_SURFACES, Frame, anatomy_phrase, frames, side_of
from radvqa_data.synth.caption_units import (
    NUMBER_WORDS,
    Unit,
    measurement_answer,
    sentence_bounds,
    units,
)
from radvqa_data.synth.rules_common import QuestionRandom, make, pick_polarity, reject
from radvqa_data.synth.rules_evidence import (
    finding_group,
    image_regions,
    negation_span,
    region_allows,
)
from radvqa_data.synth.templates import article
from radvqa_data.synth.types import Candidate, Entity, ImageRecord

#: Findings asked without an article ("Is there edema?").
MASS_NOUNS = frozenset(
    "edema hemorrhage ascites atelectasis consolidation free air emphysema lymphadenopathy "
    "hydronephrosis hydrocephalus dilation inflammation infection necrosis wall thickening "
    "degeneration atrophy sclerosis enlargement stenosis thrombosis cavitation herniation".split(" ")
) | {
    "free air", "wall thickening", "midline shift", "mass effect", "ischemia", "narrowing",
    "distension", "thickening", "fat stranding", "multiple sclerosis", "demyelination",
    "hypertrophy", "hypoplasia", "dysplasia", "agenesis", "cardiomegaly", "hepatomegaly",
    "splenomegaly", "hepatosplenomegaly", "airspace disease", "subcutaneous emphysema",
    "ground-glass opacity", "volume loss", "degenerative change", "swelling", "ventriculomegaly",
    "pneumonia", "osteomyelitis", "diverticulosis", "diverticulitis", "hardware",
    "subarachnoid hemorrhage", "collapse", "opacification",
}
OPPOSITE = {
    "hyperintense": "hypointense", "hypointense": "hyperintense", "hyperdense": "hypodense",
    "hypodense": "hyperdense", "enhancing": "non-enhancing", "non-enhancing": "enhancing",
    "heterogeneous": "homogeneous", "homogeneous": "heterogeneous", "well-defined": "ill-defined",
    "ill-defined": "well-defined",
}
OTHER_SIDE = {"left": "right", "right": "left"}
#: Features that usually accompany a main finding: never the answer to "What abnormality is
#: seen?" (where the caption names nothing else, the main finding is usually a diagnosis the
#: lexicon lacks).
SECONDARY_NORMS = frozenset({"calcification", "edema", "mass effect", "midline shift", "necrosis",
                             "fat stranding", "swelling", "volume loss"})
#: Attributes written as nouns: a sentence can name one as its abnormality ("Enhancement at ...").
_ATTRIBUTE_NOUNS = frozenset({"enhancement", "rim enhancement", "ring enhancement", "hyperintensity",
                              "hyperintensities", "hypointensity", "hypointensities", "hyperdensity",
                              "hypodensity", "high signal", "increased signal", "low signal",
                              "decreased signal"})
#: Views of an ordinary slice or radiograph: a case-level "no" is asked only about those (not a 3D
#: rendering, a montage or a photograph, which need not show what the case text denies).
CROSS_SECTION_VIEWS = frozenset({"axial", "coronal", "sagittal", "frontal", "lateral", "oblique"})
_SUPERLATIVES = frozenset("largest larger biggest bigger dominant smallest smaller".split())
_ADJECTIVE_ENDINGS = ("al", "ic", "ar", "ary", "ine", "eal", "ial")
_SEQUENCE_NAMES = {"ADC": "the ADC map"}


def plural(noun: str) -> str:
    """English plural of a lexicon norm (metastasis -> metastases, diverticulum -> diverticula)."""
    if noun.endswith("sis"):
        return noun[:-2] + "es"
    if noun.endswith("um"):
        return noun[:-2] + "a"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _is_plural(e: Entity) -> bool:
    low = e.text.lower()
    return low == plural(e.norm) or (low.endswith(("s", "i", "ae")) and not low.endswith(("sis", "ss", "us")))


def _span(u: Unit | Entity) -> dict[str, int]:
    return {"span_start": u.start, "span_end": u.end}


def _article_slots(norm: str) -> dict[str, str]:
    """Slots for a finding, with no article before a mass noun ("Is there edema?")."""
    return {"f": norm, "f_article": "" if norm in MASS_NOUNS else article(norm)}


def place_answer(u: Unit) -> str:
    """A location answer: the written anatomical phrase, or the lexicon norm for an adjective or
    an abbreviation ("renal" -> kidney, "LUL" -> left upper lobe)."""
    assert u.ent is not None
    text = u.ent.text
    single = len(text.split()) == 1
    if text.isupper() or (single and text.lower().endswith(_ADJECTIVE_ENDINGS)) or len(text.split()) > 3:
        return u.ent.norm
    return text.lower()


class _Caption:
    """A caption's findings read once: frames per finding mention, sequences named."""

    def __init__(self, rec: ImageRecord, caption: str) -> None:
        self.rec, self.text = rec, caption
        self.ents = [e for e in rec.entities if e.field == "caption"]
        self.bounds = sentence_bounds(caption)
        self.frames: dict[Entity, Frame] = {}
        self.sentences: list[list[Unit]] = []
        self.sentence_of: dict[Entity, list[Unit]] = {}
        for lo, hi in self.bounds:
            sent = [e for e in self.ents if lo <= e.start and e.end <= hi]
            if any(e.label in ("FINDING", "SIZE") for e in sent):
                us = units(caption, lo, hi, sent)
                self.sentences.append(us)
                for fr in frames(us):
                    self.frames[fr.finding] = fr
                    self.sentence_of[fr.finding] = us
        self.sequences = {e.norm for e in self.ents if e.label == "SEQUENCE"}


def caption_candidates(rec: ImageRecord, rng: QuestionRandom) -> Iterator[Candidate]:
    """PRES, ABN, POS, SIZE, ATTRIB and COUNT candidates from the caption and its entities."""
    caption = rec.texts.get("caption")
    reason = source_text_reason(caption)
    if reason is not None:
        yield reject(rec, "OTHER", "caption.check", reason, "caption", caption)
        return
    assert caption is not None
    cap = _Caption(rec, caption)
    regions = image_regions(rec)
    findings = [e for e in cap.ents if e.label == "FINDING"]
    usable = []
    for e in findings:
        fr = cap.frames.get(e)
        if e.uncertain:
            yield reject(rec, "PRES", "pres.yesno", "uncertain_finding", "caption", e.text)
        elif not region_allows(e.norm, regions):
            yield reject(rec, "PRES", "pres.yesno", "region_mismatch", "caption", e.text)
        elif not e.negated and fr is not None and fr.alternative:
            yield reject(rec, "PRES", "pres.yesno", "alternative_finding", "caption", e.text)
        else:
            usable.append(e)
    affirmed = list({e.norm: e for e in reversed(usable) if not e.negated}.values())[::-1]
    if affirmed:
        e = rng.fork("pres.yes").choice(affirmed)
        yield make(rec, rng, "PRES", "pres.yesno", "yes", "closed", "caption", e.text, _article_slots(e.norm), **_span(e))
    yield from _pres_no(rec, rng, cap, usable, regions)
    if not affirmed:
        return
    main = _main_finding(cap, [e for e in usable if not e.negated])
    if main is not None:
        yield make(rec, rng, "ABN", "abn.open", main.norm, "open", "caption", main.text, {}, **_span(main))
    heads = [e for e in affirmed if cap.frames.get(e) is not None and cap.frames[e].head]
    for e in heads[:3]:
        same = [cap.frames[x] for x in usable if x.norm == e.norm and not x.negated
                and x in cap.frames and cap.frames[x].head]
        yield from _about_finding(rec, rng, cap, e, same)
    yield from _size_of_anatomy(rec, rng, cap)


def _affirmed_groups(rec: ImageRecord) -> set[str]:
    """Coarse classes of every finding a text of the record affirms (caption and findings)."""
    return {finding_group(e.norm) for e in rec.entities
            if e.label == "FINDING" and not e.negated}


def _pres_no(rec, rng, cap: _Caption, usable: list[Entity], regions) -> Iterator[Candidate]:
    """One "no" per image, from an explicit negation: the caption's, else the case findings'."""
    present = _affirmed_groups(rec)
    options = []
    for e in usable:
        if e.negated and finding_group(e.norm) not in present:
            span = negation_span(cap.text, cap.bounds, cap.ents, e)
            if span is not None:
                options.append((e, span))
    field, text = "caption", cap.text
    site = "pres.negated"
    if not options and rec.plane in CROSS_SECTION_VIEWS:
        field, text = "findings", rec.texts.get("findings") or ""
        options = _case_negations(rec, text, present, regions)
        site = "pres.case_negated"
    if options:
        e, (s, t) = rng.fork(site).choice(options)
        yield make(rec, rng, "PRES", "pres.yesno", "no", "closed", field, text[s:t], _article_slots(e.norm),
                   span_start=s, span_end=t)


def _case_negations(rec: ImageRecord, text: str, present: set[str], regions) -> list[tuple[Entity, tuple[int, int]]]:
    """Negated findings of the case's findings text that apply to this image: same modality (when
    the sentence names one), a compatible region, nothing of the class affirmed anywhere."""
    if not text:
        return []
    ents = [e for e in rec.entities if e.field == "findings"]
    bounds = sentence_bounds(text)
    out = []
    for e in ents:
        if e.label != "FINDING" or not e.negated or e.uncertain or finding_group(e.norm) in present:
            continue
        if not region_allows(e.norm, regions):
            continue
        lo, hi = next((s, t) for s, t in bounds if s <= e.start < t)
        sent = [x for x in ents if lo <= x.start and x.end <= hi]
        if any(x.label == "MODALITY" and rec.modality and x.norm != rec.modality for x in sent):
            continue
        if regions and any(x.label == "ANATOMY" and not _anatomy_fits(x.norm, regions) for x in sent):
            continue
        span = negation_span(text, bounds, ents, e)
        if span is not None:
            out.append((e, span))
    return out


def _anatomy_fits(norm: str, regions) -> bool:
    from radvqa_data.lexicon import by_norm

    entry = by_norm().get(("ANATOMY", norm))
    return entry is None or entry.group in ("other", None) or entry.group in regions


def _main_finding(cap: _Caption, mentions: list[Entity]) -> Entity | None:
    """The finding "What abnormality is seen?" names: the first mention in the caption of a
    finding heading its phrase that is not a feature of another (a cyst, not the calcification of
    its rim), nor a device."""
    ranked = []
    for pos, e in enumerate(mentions):
        fr = cap.frames.get(e)
        if fr is None or finding_group(e.norm) == "device" or fr.secondary or fr.modifies_finding:
            continue
        if not fr.head:
            continue  # "necrotic nodes": the adjective names a feature, not the abnormality
        if _opens_with_signal(cap.sentence_of[e], e):
            continue  # "Enhancement at the disc space ... and paraspinal mass": that is the finding
        if e.norm not in SECONDARY_NORMS:  # edema alone: the main finding is likely unnamed
            ranked.append((pos, e))
    return ranked[0][1] if ranked else None


def _opens_with_signal(us: list[Unit], e: Entity) -> bool:
    """True when the sentence names an enhancement or signal change as a noun before any finding."""
    for u in us:
        if u.kind == "FINDING":
            return False
        if u.kind == "ATTRIBUTE" and u.low in _ATTRIBUTE_NOUNS:
            return True
    return False


def _one(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def _about_finding(rec, rng, cap: _Caption, f: Entity, same: list[Frame]) -> Iterator[Candidate]:
    """POS, SIZE, ATTRIB and COUNT questions about one affirmed finding, from the modifiers that
    attach to it in every mention of it (two mentions that disagree give no question)."""
    sides = [u for fr in same for u in fr.sides]
    side_norms = {side_of(u) for u in sides}
    if len(side_norms) == 1:
        s = sides[0]
        side = side_of(s)
        yield make(rec, rng, "POS", "pos.side_open", side, "open", "caption", s.ent.text, {"f": f.norm}, **_span(s))
        if side in OTHER_SIDE:
            yes = pick_polarity(rng.fork("pos.side", f.norm, side))
            asked = side if yes else OTHER_SIDE[side]
            yield make(rec, rng, "POS", "pos.side_yesno", "yes" if yes else "no", "closed", "caption", s.ent.text,
                       {"f": f.norm, "s": asked}, **_span(s))
    places = [u for fr in same for u in fr.locations]
    if len({u.ent.norm for u in places}) == 1:
        o = places[0]
        yield make(rec, rng, "POS", "pos.organ_open", place_answer(o), "open", "caption", o.ent.text, {"f": f.norm},
                   **_span(o))
    sizes = [u for fr in same for u in fr.sizes if u.ent is not None and u.ent.norm in ("large", "small")]
    size = _one({u.ent.norm for u in sizes})
    if size is not None:
        s = sizes[0]
        x, y = ("large", "small") if rng.fork("size.choice", f.norm).random() < 0.5 else ("small", "large")
        yield make(rec, rng, "SIZE", "size.choice", size, "closed", "caption", s.ent.text,
                   {"f": f.norm, "x": x, "y": y}, **_span(s))
    measures = [(u, measurement_answer(cap.text[u.start : u.end])) for fr in same for u in fr.measures]
    answer = _one({a for _, a in measures if a})
    if answer is not None and all(a for _, a in measures) and not _superlative(cap, same):
        m = measures[0][0]
        yield make(rec, rng, "SIZE", "size.measure_open", answer, "open", "caption", cap.text[m.start : m.end],
                   {"f": f.norm}, **_span(m))
    yield from _attribute(rec, rng, cap, f, same)
    yield from _count(rec, rng, f, same)


def _superlative(cap: _Caption, same: list[Frame]) -> bool:
    """"the largest lesion measuring 5 cm": the size of one of several, not of the finding."""
    for fr in same:
        lo = max(s for s, _ in cap.bounds if s <= fr.finding.start)
        if any(w in _SUPERLATIVES for w in cap.text[lo : fr.finding.start].lower().split()[-4:]):
            return True
    return False


def _attribute(rec, rng, cap: _Caption, f: Entity, same: list[Frame]) -> Iterator[Candidate]:
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
        lo, hi = (min(a.start, seq.start), max(a.end, seq.end)) if seq is not None else (a.start, a.end)
        span = {"span_start": lo, "span_end": hi}
        text = cap.text[lo:hi]
        if seq_norm is None:
            site = rng.fork("attrib", f.norm, norm)
            key, slots = "attrib", {"f": f.norm}
        else:
            site = rng.fork("attrib", f.norm, norm, seq_norm)
            key, slots = "attrib.seq", {"f": f.norm, "seq": _SEQUENCE_NAMES.get(seq_norm, f"{seq_norm} images")}
        yes = pick_polarity(site)
        asked = norm if yes else OPPOSITE[norm]
        yield make(rec, rng, "ATTRIB", f"{key}_yesno" if seq_norm else "attrib.yesno", "yes" if yes else "no",
                   "closed", "caption", text, {**slots, "a": asked}, **span)
        x, y = (norm, OPPOSITE[norm]) if site.random() < 0.5 else (OPPOSITE[norm], norm)
        yield make(rec, rng, "ATTRIB", f"{key}_choice" if seq_norm else "attrib.choice", norm, "closed", "caption",
                   text, {**slots, "x": x, "y": y}, **span)
        return


def _count(rec, rng, f: Entity, same: list[Frame]) -> Iterator[Candidate]:
    """COUNT from a number or count word in the finding's own phrase ("two cysts", "solitary
    nodule"); the noun's number must agree ("multiple" with a plural)."""
    if f.norm in MASS_NOUNS:
        return
    counts = {}
    for fr in same:
        c = fr.count
        if c is None:
            continue
        value = NUMBER_WORDS.get(c.low, c.low) if c.kind == "NUM" else ("1" if c.ent.norm == "single" else "multiple")
        if (value == "1") == _is_plural(fr.finding):
            return
        counts[value] = c
    if len(counts) != 1:
        return
    count, c = next(iter(counts.items()))
    text = rec.texts["caption"][c.start : c.end]
    if count != "1":
        yield make(rec, rng, "COUNT", "count.open", count, "open", "caption", text, {"f": plural(f.norm)}, **_span(c))
    yield make(rec, rng, "COUNT", "count.yesno", "no" if count == "1" else "yes", "closed", "caption", text,
               {"f": plural(f.norm), "f1": f.norm}, **_span(c))


def _size_of_anatomy(rec, rng, cap: _Caption) -> Iterator[Candidate]:
    """SIZE yes/no "Is the prostate enlarged?" from "The prostate is enlarged", "enlarged right
    kidney" (yes) or "normal in size", "not enlarged" (no, the stated fact)."""
    for us in cap.sentences:
        for k, s in enumerate(us):
            if s.kind != "SIZE" or s.ent is None or s.ent.norm not in ("enlarged", "normal size") or s.ent.uncertain:
                continue
            organ = _organ_before(us, k)
            if organ is None and s.ent.norm == "enlarged":
                found = anatomy_phrase(us, k + 1)
                organ = found[0] if found is not None else None
            if organ is None or organ.low in TISSUE_SURFACES or organ.ent is None or organ.ent.norm == "lymph nodes":
                continue
            answer = "yes" if s.ent.norm == "enlarged" and not s.ent.negated else "no"
            yield make(rec, rng, "SIZE", "size.yesno", answer, "closed", "caption", s.ent.text,
                       {"loc": place_answer(organ)}, **_span(s))
            return


def _organ_before(us: list[Unit], k: int) -> Unit | None:
    """"The prostate is (mildly) enlarged": the anatomy that is the subject of the size word."""
    j = k - 1
    while j >= 0 and (us[j].low in ("is", "are", "was", "were", "appears", "appear", "not", "mildly", "markedly",
                                    "slightly", "moderately", "diffusely", "also") or us[j].low == "-"):
        j -= 1
    return us[j] if j < k - 1 and j >= 0 and us[j].kind == "ANATOMY" else None
