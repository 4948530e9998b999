"""What a caption sentence is about (issue 20): a differential it excludes, or another picture.

- A finding under an exclusion cue is named, not shown: "tram-track enhancement seen in optic
  glioma or optic nerve meningioma" (the typical picture of other diseases), "to suggest",
  "differential", "versus", "rule out", "consider", "such as". It gives no row of any type.
- A sentence about another image, study, time point or modality ("not evident on the CT image"
  on an MRI, "the prior study", "follow-up", "previous") gives no row for this image: which
  picture it describes is not this one, or not said.

Both are decided per finding mention from the words of its own sentence, before any question is
asked, so every type (and every "no") obeys them.
"""

from __future__ import annotations

import re

from radvqa_data.core.pipeline_records import Entity, ImageRecord
from radvqa_data.synth.rules.sentence_units import group_of, sentence_of

#: Cues after which a finding is only named (to its clause end).
_AFTER_CUES = re.compile(
    r"\b(?:to suggest|suggest(?:s|ed|ive of|ing)?|favou?ring|differential(?: diagnosis)?|ddx"
    r"|rule[sd]? out|ruling out|r/o|consider(?:ed|ing)?|such as"
    r"|mimic(?:s|king)?|simulat(?:e|es|ing))\b",
    re.IGNORECASE,
)
#: "seen in X" names a disease the picture is typical of ("tram-track enhancement seen in optic
#: glioma or optic nerve meningioma"), but "seen in the liver with necrosis" is a place and then
#: a feature: these cues reach only the plain list right after them, up to "with", a comma or a
#: verb-like word.
_LIST_CUES = re.compile(
    r"\b(?:seen|found|described|encountered|occurs?|occurring|typical(?:ly)?(?: seen)?) in\b",
    re.IGNORECASE,
)
_LIST_BREAK = re.compile(
    r",|\b(?:with|showing|shows?|which|that|is|are|was|were|and there)\b", re.IGNORECASE
)
#: Cues that make every finding of their clause an alternative ("abscess versus tumor").
_BOTH_SIDES = re.compile(r"\b(?:versus|vs\.?|or less likely)\b", re.IGNORECASE)
#: Clause ends: an excluded list stops there ("..., but the mass ...").
_CLAUSE_END = re.compile(r";|\bbut\b|\bhowever\b|\bwhereas\b", re.IGNORECASE)
#: Words that put a sentence on another study or time point than the picture.
_OTHER_TIME = re.compile(
    r"\b(?:prior|previous(?:ly)?|follow[-\u2010\u2011 ]?up|earlier|subsequent(?:ly)?|interval|"
    r"initial(?:ly)?|"
    r"compar(?:ed|ison)|ago|(?:days?|weeks?|months?|years?) later|not shown|"
    r"other (?:image|images|study|studies|view|views))\b",
    re.IGNORECASE,
)


def _clause(text: str, lo: int, hi: int, pos: int) -> tuple[int, int]:
    """The clause of the sentence [lo, hi) that holds `pos`."""
    start, end = lo, hi
    for m in _CLAUSE_END.finditer(text, lo, hi):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


def excluded(text: str, bounds: list[tuple[int, int]], e: Entity) -> bool:
    """True when mention `e` stands under an exclusion cue of its clause: after one of
    `_AFTER_CUES`, or anywhere in a clause that weighs alternatives ("versus")."""
    lo, hi = sentence_of(bounds, e.start)
    c_lo, c_hi = _clause(text, lo, hi, e.start)
    if _BOTH_SIDES.search(text, c_lo, c_hi):
        return True
    if any(m.end() <= e.start for m in _AFTER_CUES.finditer(text, c_lo, e.start)):
        return True
    return any(
        not _LIST_BREAK.search(text, m.end(), e.start)
        for m in _LIST_CUES.finditer(text, c_lo, e.start)
    )


def other_image(
    rec: ImageRecord, text: str, bounds: list[tuple[int, int]], ents: list[Entity], e: Entity
) -> bool:
    """True when mention `e`'s sentence is about another study or time point (its words), or
    names only modalities other than the image's ("not evident on the CT image" on an MRI)."""
    lo, hi = sentence_of(bounds, e.start)
    if _OTHER_TIME.search(text, lo, hi):
        return True
    named = {
        group_of("MODALITY", x.norm) or x.norm
        for x in ents
        if x.label == "MODALITY" and lo <= x.start < hi
    }
    return bool(named) and rec.modality is not None and rec.modality not in named
