"""Evidence for the answers the rules give: where a "no" comes from, and where a finding may exist.

A caption is not a complete report, so absence of mention is never evidence. A PRES "no" needs an
explicit negation in scope, cited as its span (trigger through finding: "no free air", "abscess
is not seen"), either in the caption or in the same case's findings text (case-level evidence:
the row's `source_field` is then `findings`). Other "no" answers cite the stated fact they
contrast with (the other side, the opposite attribute, "solitary" against "more than one").

Findings that exist only in some body regions (midline shift: head) carry those regions in the
lexicon; a question about one is asked only where the image's region allows it.
"""

from __future__ import annotations

import functools
import re

from radvqa_data.core.pipeline_records import Entity, ImageRecord
from radvqa_data.entities.context import (
    POST_NEGATION,
    PRE_NEGATION,
    PREFIX_NEGATION,
    find_triggers,
)
from radvqa_data.lexicon import by_norm
from radvqa_data.synth.rules.sentence_units import (
    MODIFIER_WORDS,
    Unit,
    is_adjective_like,
    is_adverb,
    sentence_of,
    units,
)

#: Negation triggers whose scope is read as "absent in this image". "rather than" (a diagnostic
#: opinion), "denies" and "never" (history) are left out.
EVIDENCE_TRIGGERS = frozenset(
    {*PRE_NEGATION, *PREFIX_NEGATION, *POST_NEGATION} - {"rather than", "denies", "never"}
)
#: Words that may stand between a negation and the finding it denies: a list of findings and their
#: modifiers ("no free air or abnormal fluid collections to suggest abscess formation").
_LIST_WORDS = (
    frozenset(
        "evidence sign signs of or and nor any significant abnormal to suggest suggesting indicate "
        "indicating other is are was were".split()
    )
    | MODIFIER_WORDS
)
#: Qualifiers that narrow a denial to a kind of the finding: "without clinically significant
#: hematoma", "no acute fracture", "no large mass" deny only that kind, not the finding. v5
#: (issue 20, strictly read): "no significant adenopathy" denies only significant adenopathy too.
RESTRICTIVE = frozenset(
    "clinically definite definitive obvious gross acute large displaced major substantial "
    "appreciable measurable sizable sizeable frank overt convincing significant".split()
)
_LIST_LABELS = frozenset({"FINDING", "ATTRIBUTE", "SIZE", "LATERALITY", "ANATOMY"})
_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)?|\d+(?:\.\d+)?|[^\sA-Za-z\d]")
#: Catalog regions that say nothing about where in the body an image is.
_NO_REGION = frozenset({"other", "vascular"})


def negation_span(
    text: str, bounds: list[tuple[int, int]], ents: list[Entity], f: Entity
) -> tuple[int, int] | None:
    """(start, end) of the span from the trigger that negates `f` to `f` ("no free air"), or
    None when no evidence trigger governs it through a plain list (in "no calcification within
    the lesion" the lesion is not denied)."""
    lo, hi = sentence_of(bounds, f.start)
    words = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(text, lo, hi)]
    triggers = find_triggers([w for _, _, w in words])
    sent_ents = [e for e in ents if lo <= e.start and e.end <= hi]
    best: tuple[int, int] | None = None
    for t_start, t_end, kind in triggers:
        phrase = " ".join(w for _, _, w in words[t_start:t_end])
        if kind not in ("pre_neg", "post_neg", "prefix_neg") or phrase not in EVIDENCE_TRIGGERS:
            continue
        c_start, c_end = words[t_start][0], words[t_end - 1][1]
        if kind in ("pre_neg", "prefix_neg") and c_end <= f.start:
            between = units(text, c_end, f.start, sent_ents)
            if kind == "prefix_neg" and any(u.kind != "PUNCT" for u in between):
                continue
            if _plain_list(between) and (best is None or c_start > best[0]):
                best = (c_start, f.end)
        elif kind == "post_neg" and c_start >= f.end:
            if _plain_list(units(text, f.end, c_start, sent_ents)) and best is None:
                best = (f.start, c_end)
    return best


def _plain_list(between: list[Unit]) -> bool:
    for u in between:
        if u.low in RESTRICTIVE:
            return False
        if u.kind in _LIST_LABELS or u.low in _LIST_WORDS or u.low in (",", "-", "/"):
            continue
        if is_adverb(u) or is_adjective_like(u):
            continue
        return False
    return True


def finding_regions(norm: str) -> tuple[str, ...]:
    """The body regions where finding `norm` can exist (empty: anywhere)."""
    entry = by_norm().get(("FINDING", norm))
    return entry.regions if entry is not None else ()


def finding_group(norm: str) -> str:
    """The finding's coarse class: findings of one class are not asked as present and absent."""
    entry = by_norm().get(("FINDING", norm))
    return entry.group or norm if entry is not None else norm


@functools.lru_cache(maxsize=4096)
def _anatomy_region(norm: str) -> str | None:
    entry = by_norm().get(("ANATOMY", norm))
    return entry.group if entry is not None and entry.group not in _NO_REGION else None


def image_regions(rec: ImageRecord) -> frozenset[str]:
    """Where the image is, from the catalog region and the caption's anatomy words."""
    found = {rec.organ} if rec.organ and rec.organ not in _NO_REGION else set()
    for e in rec.entities:
        if e.field == "caption" and e.label == "ANATOMY":
            region = _anatomy_region(e.norm)
            if region:
                found.add(region)
    if "breast" in found:
        found.add("chest")
    return frozenset(found)


def region_allows(norm: str, regions: frozenset[str]) -> bool:
    """False when the finding exists only elsewhere than every known region of the image."""
    allowed = finding_regions(norm)
    return not allowed or not regions or bool(regions.intersection(allowed))
