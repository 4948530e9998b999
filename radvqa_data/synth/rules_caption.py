"""Rules for the questions a caption answers, built on its entities: PRES, ABN, POS, SIZE,
ATTRIB and COUNT. Each candidate cites the exact caption span (offsets) that grounds it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from radvqa_data.filters.source_text import source_text_reason
from radvqa_data.synth.rules_common import QuestionRandom, make, pick_polarity, reject
from radvqa_data.synth.templates import article
from radvqa_data.synth.types import Candidate, Entity, ImageRecord

#: Plausible findings to ask about when the caption does not mention them ("no" answers).
ABSENT_POOL = {
    "head": ("hemorrhage", "hydrocephalus", "infarct", "mass", "edema", "midline shift", "fracture"),
    "neck": ("mass", "lymphadenopathy", "abscess", "calcification"),
    "chest": ("effusion", "pneumothorax", "consolidation", "atelectasis", "mass", "cavitation"),
    "abdomen": ("ascites", "free air", "stone", "hydronephrosis", "mass", "abscess"),
    "pelvis": ("mass", "stone", "ascites", "abscess", "hydronephrosis"),
    "spine": ("fracture", "herniation", "mass", "edema"),
    "extremity": ("fracture", "dislocation", "effusion", "mass"),
    "breast": ("mass", "calcification"),
}
DEFAULT_POOL = ("mass", "fracture", "effusion", "hemorrhage", "calcification")
MASS_NOUNS = frozenset(
    "edema hemorrhage ascites atelectasis consolidation free air emphysema lymphadenopathy "
    "hydronephrosis hydrocephalus dilation inflammation infection necrosis wall thickening "
    "degeneration atrophy sclerosis enlargement stenosis thrombosis cavitation herniation".split(" ")
) | {"free air", "wall thickening", "midline shift"}
OPPOSITE = {
    "hyperintense": "hypointense", "hypointense": "hyperintense", "hyperdense": "hypodense",
    "hypodense": "hyperdense", "enhancing": "non-enhancing", "non-enhancing": "enhancing",
    "heterogeneous": "homogeneous", "homogeneous": "heterogeneous", "well-defined": "ill-defined",
    "ill-defined": "well-defined",
}
OTHER_SIDE = {"left": "right", "right": "left"}
NUMBER_WORDS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "single": "1",
                "solitary": "1", "multiple": "multiple", "several": "multiple", "numerous": "multiple"}
_COUNT_BEFORE = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\s+(?:[a-z-]+\s+){0,2}$", re.I)
_MEASURE = re.compile(r"\b\d+(?:\.\d+)?(?:\s?x\s?\d+(?:\.\d+)?){0,2}\s?(?:cm|mm)\b", re.I)
_SENT_END = re.compile(r"[.!?;](?:\s+|$)")
NEAR = 40  # characters: how close two mentions must be to be read as one phrase


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


def _measure(text: str) -> str:
    """'5.2 x 1.8 x 6 cm' -> '5.2x1.8x6 cm' (one token per dimension list: a short answer)."""
    text = re.sub(r"\s*x\s*", "x", text.strip().lower())
    return re.sub(r"(\d)\s*(cm|mm)$", r"\1 \2", text)


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in _SENT_END.finditer(text):
        bounds.append((start, m.end()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def _sent_of(bounds: list[tuple[int, int]], pos: int) -> int:
    for i, (s, e) in enumerate(bounds):
        if s <= pos < e:
            return i
    return len(bounds) - 1


def _near(a: Entity, b: Entity, bounds) -> bool:
    gap = b.start - a.end if b.start >= a.end else a.start - b.end
    return gap <= NEAR and _sent_of(bounds, a.start) == _sent_of(bounds, b.start)


def caption_candidates(rec: ImageRecord, rng: QuestionRandom) -> Iterator[Candidate]:
    """PRES, ABN, POS, SIZE, ATTRIB and COUNT candidates from the caption and its entities."""
    caption = rec.texts.get("caption")
    reason = source_text_reason(caption)
    if reason is not None:
        yield reject(rec, "OTHER", "caption.check", reason, "caption", caption)
        return
    assert caption is not None
    ents = [e for e in rec.entities if e.field == "caption"]
    bounds = _sentence_bounds(caption)
    findings = [e for e in ents if e.label == "FINDING"]
    for e in findings:
        if e.uncertain:
            yield reject(rec, "PRES", "pres.yesno", "uncertain_finding", "caption", e.text)
    affirmed = list({e.norm: e for e in reversed(findings) if not e.negated and not e.uncertain}.values())[::-1]
    negated = [e for e in findings if e.negated and not e.uncertain]
    mentioned = {e.norm for e in rec.entities}

    def span(e: Entity) -> dict:
        return {"span_start": e.start, "span_end": e.end}

    # PRES: one affirmed finding (yes) and one negated or absent finding (no) per image.
    if affirmed:
        e = rng.fork("pres.yes").choice(affirmed)
        yield make(rec, rng, "PRES", "pres.yesno", "yes", "closed", "caption", e.text, _article_slots(e.norm), **span(e))
    if negated:
        e = rng.fork("pres.negated").choice(negated)
        yield make(rec, rng, "PRES", "pres.yesno", "no", "closed", "caption", e.text, _article_slots(e.norm), **span(e))
    else:
        pool = [f for f in ABSENT_POOL.get(rec.region or "", DEFAULT_POOL) if f not in mentioned]
        if pool:
            f = rng.fork("pres.absent").choice(pool)
            yield make(rec, rng, "PRES", "pres.yesno", "no", "closed", "caption", caption,
                       _article_slots(f), span_start=0, span_end=len(caption))
    if not affirmed:
        return
    main = affirmed[0]
    yield make(rec, rng, "ABN", "abn.open", main.norm, "open", "caption", main.text, {}, **span(main))
    for f in affirmed[:3]:
        yield from _about_finding(rec, rng, caption, ents, bounds, f, span)
    yield from _size_of_anatomy(rec, rng, ents, bounds, span)


def _article_slots(norm: str) -> dict[str, str]:
    """Slots for a finding, with no article before a mass noun ("Is there edema?")."""
    return {"f": norm, "f_article": "" if norm in MASS_NOUNS else article(norm)}


def _about_finding(rec, rng, caption, ents, bounds, f: Entity, span) -> Iterator[Candidate]:
    """POS, SIZE, ATTRIB, COUNT questions about one affirmed finding."""
    near = [e for e in ents if e is not f and _near(f, e, bounds) and not e.negated]
    sides = [e for e in near if e.label == "LATERALITY" and e.norm in ("left", "right", "bilateral")]
    if sides:
        s = sides[0]
        yield make(rec, rng, "POS", "pos.side_open", s.norm, "open", "caption", s.text, {"f": f.norm}, **span(s))
        if s.norm in OTHER_SIDE:
            yes = pick_polarity(rng.fork("pos.side", f.norm, s.norm))
            asked = s.norm if yes else OTHER_SIDE[s.norm]
            yield make(rec, rng, "POS", "pos.side_yesno", "yes" if yes else "no", "closed", "caption", s.text,
                       {"f": f.norm, "s": asked}, **span(s))
    organs = [e for e in near if e.label == "ANATOMY"]
    if organs:
        o = min(organs, key=lambda e: abs(e.start - f.start))
        ans = o.text.lower() if len(o.text.split()) <= 3 and not o.text.isupper() else o.norm
        yield make(rec, rng, "POS", "pos.organ_open", ans, "open", "caption", o.text, {"f": f.norm}, **span(o))
    sizes = [e for e in near if e.label == "SIZE" and e.norm in ("large", "small") and e.end <= f.start]
    if sizes:
        s = sizes[-1]
        x, y = ("large", "small") if rng.fork("size.choice", f.norm).random() < 0.5 else ("small", "large")
        yield make(rec, rng, "SIZE", "size.choice", s.norm, "closed", "caption", s.text, {"f": f.norm, "x": x, "y": y}, **span(s))
    lo, hi = bounds[_sent_of(bounds, f.start)]
    m = _MEASURE.search(caption, lo, hi)
    if m:
        yield make(rec, rng, "SIZE", "size.measure_open", _measure(m.group(0)), "open", "caption",
                   m.group(0), {"f": f.norm}, span_start=m.start(), span_end=m.end())
    for a in (e for e in near if e.label == "ATTRIBUTE" and e.norm in OPPOSITE):
        site = rng.fork("attrib", f.norm, a.norm)
        yes = pick_polarity(site)
        asked = a.norm if yes else OPPOSITE[a.norm]
        yield make(rec, rng, "ATTRIB", "attrib.yesno", "yes" if yes else "no", "closed", "caption", a.text,
                   {"f": f.norm, "a": asked}, **span(a))
        x, y = (a.norm, OPPOSITE[a.norm]) if site.random() < 0.5 else (OPPOSITE[a.norm], a.norm)
        yield make(rec, rng, "ATTRIB", "attrib.choice", a.norm, "closed", "caption", a.text, {"f": f.norm, "x": x, "y": y}, **span(a))
        break
    if f.norm not in MASS_NOUNS:
        c = _COUNT_BEFORE.search(caption[max(0, f.start - 40) : f.start])
        if c:
            word = c.group(1).lower()
            count = NUMBER_WORDS[word]
            start = max(0, f.start - 40) + c.start(1)
            cspan = {"span_start": start, "span_end": start + len(word)}
            if count != "1":
                yield make(rec, rng, "COUNT", "count.open", count, "open", "caption", c.group(1), {"f": plural(f.norm)}, **cspan)
            yield make(rec, rng, "COUNT", "count.yesno", "no" if count == "1" else "yes", "closed", "caption", c.group(1),
                       {"f": plural(f.norm), "f1": f.norm}, **cspan)


def _size_of_anatomy(rec, rng, ents, bounds, span) -> Iterator[Candidate]:
    """SIZE yes/no: "Is the prostate enlarged?" from "The prostate is enlarged" (or "not enlarged")."""
    for s in (e for e in ents if e.label == "SIZE" and e.norm in ("enlarged", "normal size")):
        organs = [e for e in ents if e.label == "ANATOMY" and e.end <= s.start and _near(e, s, bounds)]
        if organs:
            o = organs[-1]
            answer = "yes" if s.norm == "enlarged" and not s.negated else "no"
            yield make(rec, rng, "SIZE", "size.yesno", answer, "closed", "caption", s.text, {"loc": o.text.lower()}, **span(s))
            return
