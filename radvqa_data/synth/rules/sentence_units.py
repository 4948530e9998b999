"""A caption as sentences of *units*: lexicon entities, measurements and plain words.

Modifier attachment (`finding_frames`) reads noun phrases off this stream with pattern rules. No
trained parser can be installed here (spaCy/scispaCy models are not on the package registry), and
a blank spaCy pipeline has no tagger, so words are classified by small closed lists (determiners,
prepositions, clause verbs) and suffixes (adverbs in -ly, adjectives in -al, -ic, -ous, ...).
An entity is one unit whatever its length ("left upper lobe"), and so is a measurement ("9.5 X
8.9 X 13cm"). A word the lists do not know counts as a noun and ends a noun phrase: an unknown
construction yields no question rather than a wrong one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from radvqa_data.core.pipeline_records import Entity
from radvqa_data.lexicon import NUMBER_WORDS, by_norm

_SENT_END = re.compile(r"[.!?;](?=\s|$)|\n+")
_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)?|\d+(?:\.\d+)?|[^\sA-Za-z\d]")
_NUM = r"\d+(?:\.\d+)?"
_UNIT = r"(?:cm|mm|centimeters?|millimeters?)"
_DIM = rf"({_NUM})\s*({_UNIT})?"
_BY = r"\s*(?:x|\u00d7|by)\s*"  # the sign between two dimensions
_MEASURE = re.compile(rf"(?<![\w.]){_DIM}(?:{_BY}{_DIM})?(?:{_BY}{_DIM})?(?!\w|\.\d)", re.I)
_TOKEN = re.compile(
    rf"(?P<measure>(?<![\w.]){_NUM}\s*(?P<u1>{_UNIT})?(?:{_BY}{_NUM}\s*(?P<u2>{_UNIT})?)?"
    rf"(?:{_BY}{_NUM}\s*(?P<u3>{_UNIT})?)?(?!\w|\.\d))|{_WORD.pattern}",
    re.I,
)
_UNIT_NAMES = {
    "cm": "cm",
    "mm": "mm",
    "centimeter": "cm",
    "centimeters": "cm",
    "millimeter": "mm",
    "millimeters": "mm",
}

DETERMINERS = frozenset("a an the this these those its their his her some any".split())
PREPOSITIONS = frozenset(
    "in within of at on along from into to with without by for near over under about around "
    "through throughout inside between beneath below above across behind via versus vs".split()
)
CONJUNCTIONS = frozenset("and or nor but".split())
#: Verbs that open or carry a clause: they end a noun phrase on either side.
CLAUSE_VERBS = frozenset(
    "is are was were be been being has have had shows show shown showing demonstrates demonstrate "
    "demonstrated demonstrating reveals reveal revealed revealing appears appear appeared "
    "appearing seen noted identified present exhibits exhibit exhibiting measuring measures "
    "measured extending extends extend involves involving involve causing causes arising arises "
    "originating located consistent compatible suggesting suggests representing represents "
    "containing contains there which that who whose where when may might can could should would "
    "will also".split()
)
#: Words before a finding that describe it without being lexicon entities.
MODIFIER_WORDS = frozenset(
    "mild moderate severe marked minimal slight new focal diffuse acute subacute chronic early "
    "late old complex simple expansile lytic destructive apparent extensive significant "
    "recurrent residual primary nodular linear patchy confluent scattered bony osseous mixed "
    "circumferential displaced nondisplaced comminuted compression stress pathologic "
    "pathological spiculated unilateral ipsilateral contralateral sized moderate-sized "
    "large-sized dominant predominant isolated additional tubular saccular fusiform "
    "intraparenchymal intraventricular extra intra axial partial complete total".split()
)
#: Words with an adjective's suffix that are nouns here.
_NOUNS_LIKE_ADJECTIVES = frozenset(
    "signal signals interval material level wall image images remnant remnants".split()
)
_ADJ_SUFFIXES = (
    "al",
    "ar",
    "ic",
    "ous",
    "ive",
    "ile",
    "ed",
    "ant",
    "ary",
    "oid",
    "ing",
    "ful",
    "less",
)


@dataclass(frozen=True)
class Unit:
    """One element of a sentence: an entity, a measurement, a number, a word or a punctuation."""

    start: int
    end: int
    low: str  # lower-cased text
    kind: str  # an entity label, MEASURE, NUM, WORD or PUNCT
    ent: Entity | None = None

    @property
    def group(self) -> str | None:
        """The lexicon group of the unit's entity (an attribute's class: signal, count, ...)."""
        return group_of(self.ent.label, self.ent.norm) if self.ent is not None else None


@functools.lru_cache(maxsize=4096)
def group_of(label: str, norm: str) -> str | None:
    """The lexicon group of the entry (label, norm), None when it is not in the lexicon."""
    entry = by_norm().get((label, norm))
    return entry.group if entry is not None else None


@functools.lru_cache(maxsize=1024)  # a case's findings text is read once per image of the case
def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? ; before whitespace, and at line breaks."""
    bounds, start = [], 0
    for m in _SENT_END.finditer(text):
        if m.end() > start:
            bounds.append((start, m.end()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds or [(0, len(text))]


def sentence_of(bounds: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    """The bounds of the sentence holding character `pos`."""
    for s, e in bounds:
        if s <= pos < e:
            return s, e
    return bounds[-1]


def measurement_answer(text: str) -> str | None:
    """'9.5 X 8.9 X 13cm' -> '9.5x8.9x13 cm'; None when no unit is given or units are mixed
    ('8 mm x 3.8 x 3.4 cm' cannot be written as one short answer without guessing)."""
    m = _MEASURE.fullmatch(text.strip())
    if m is None:
        return None
    groups = m.groups()
    nums = [groups[i] for i in (0, 2, 4) if groups[i] is not None]
    units = {_UNIT_NAMES[u.lower()] for u in (groups[1], groups[3], groups[5]) if u}
    last_unit = [groups[i] for i in (1, 3, 5) if groups[i - 1] is not None][-1]
    if len(units) != 1 or not last_unit:
        return None
    return "x".join(nums) + " " + units.pop()


def units(text: str, lo: int, hi: int, ents: list[Entity]) -> list[Unit]:
    """The units of `text[lo:hi]`: the given entities (sorted, non-overlapping) and the words,
    numbers and measurements between them (one tokenizer pass over the span)."""
    out: list[Unit] = []
    k, n_ents = 0, len(ents)
    for m in _TOKEN.finditer(text, lo, hi):
        start = m.start()
        while k < n_ents and ents[k].end <= start:
            e = ents[k]
            if e.start >= lo and e.end <= hi and (not out or out[-1].end <= e.start):
                out.append(Unit(e.start, e.end, text[e.start : e.end].lower(), e.label, e))
            k += 1
        if k < n_ents and ents[k].start < m.end():
            continue  # inside (or overlapping) an entity
        if m.lastgroup == "measure":
            if m.group("u1") or m.group("u2") or m.group("u3"):
                out.append(Unit(start, m.end(), m.group(0).lower(), "MEASURE"))
            else:  # numbers without a unit: words
                out.extend(_words(text, start, m.end()))
        else:
            out.append(_word(text, m))
    for e in ents[k:]:
        if e.start >= lo and e.end <= hi and (not out or out[-1].end <= e.start):
            out.append(Unit(e.start, e.end, text[e.start : e.end].lower(), e.label, e))
    return out


def _word(text: str, m: re.Match) -> Unit:
    w = m.group(0).lower()
    spaced = text[m.start() - 1 : m.start()].isspace() or text[m.end() : m.end() + 1].isspace()
    if w == "-" and spaced:
        w = "--"  # a dash between phrases ("Hydrocephalus - Axial CT"), not a hyphen
    kind = "NUM" if w[0].isdigit() or w in NUMBER_WORDS else "WORD" if w[0].isalpha() else "PUNCT"
    return Unit(m.start(), m.end(), w, kind)


def _words(text: str, lo: int, hi: int) -> list[Unit]:
    return [_word(text, m) for m in _WORD.finditer(text, lo, hi)]


def is_adverb(u: Unit) -> bool:
    """An -ly word that is not a noun ("mildly", "predominantly")."""
    return u.kind == "WORD" and u.low.endswith("ly") and len(u.low) > 4


def is_adjective_like(u: Unit) -> bool:
    """A plain word that can stand before a noun to describe it."""
    if u.kind != "WORD" or u.low in CLAUSE_VERBS or u.low in PREPOSITIONS:
        return False
    if u.low in MODIFIER_WORDS:
        return True
    return u.low not in _NOUNS_LIKE_ADJECTIVES and u.low.endswith(_ADJ_SUFFIXES) and len(u.low) > 3


def ends_noun_phrase(u: Unit | None) -> bool:
    """True when `u` cannot continue the noun phrase before it: the sentence end, punctuation
    (not a hyphen), a measurement, or a function word, clause verb or participle."""
    if u is None:
        return True
    if u.kind == "PUNCT":
        return u.low != "-"
    if u.kind in ("MEASURE", "NUM"):
        return True
    if u.kind != "WORD":
        return False
    w = u.low
    return (
        w in PREPOSITIONS
        or w in CONJUNCTIONS
        or w in CLAUSE_VERBS
        or (w.endswith(("ing", "ed")) and w not in _NOUNS_LIKE_ADJECTIVES)
    )
