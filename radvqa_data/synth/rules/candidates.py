"""Helpers shared by the rule modules: an image's keyed randomness, a candidate from a template,
a fair coin, and how a finding is worded in a question (article or none, plural)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from radvqa_data.core.answers import OPEN
from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.synth.rules.templates import RULES_VERSION, TEMPLATES, article

if TYPE_CHECKING:
    from radvqa_data.synth.rules.sentence_units import Unit

#: Findings asked without an article ("Is there edema?").
MASS_NOUNS = frozenset(
    "edema hemorrhage ascites atelectasis consolidation free air emphysema lymphadenopathy "
    "hydronephrosis hydrocephalus dilation inflammation infection necrosis wall thickening "
    "degeneration atrophy sclerosis enlargement stenosis thrombosis cavitation herniation".split()
) | {
    "free air",
    "wall thickening",
    "midline shift",
    "mass effect",
    "ischemia",
    "narrowing",
    "distension",
    "thickening",
    "fat stranding",
    "multiple sclerosis",
    "demyelination",
    "hypertrophy",
    "hypoplasia",
    "dysplasia",
    "agenesis",
    "cardiomegaly",
    "hepatomegaly",
    "splenomegaly",
    "hepatosplenomegaly",
    "airspace disease",
    "subcutaneous emphysema",
    "ground-glass opacity",
    "volume loss",
    "degenerative change",
    "swelling",
    "ventriculomegaly",
    "pneumonia",
    "osteomyelitis",
    "diverticulosis",
    "diverticulitis",
    "hardware",
    "subarachnoid hemorrhage",
    "collapse",
    "opacification",
}


class QuestionRandom(random.Random):
    """An image's random stream that forks an independent stream per question site.

    Every choice a rule makes (which finding, yes/no polarity, which alternative, option order,
    phrasing) draws from `fork(site, subject...)`, seeded by (seed, source, image_id, site,
    subject). So a change to one rule, or a question added or removed, leaves every other
    question's wording and answer as they were: labelled gold rows stay matched across versions.
    """

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root

    def fork(self, *parts: object) -> random.Random:
        """A fresh stream for one question site; the same parts give the same stream."""
        return random.Random("|".join([self.root, *map(str, parts)]))


def pick_polarity(rng: random.Random) -> bool:
    """True (ask about the true value: answer yes) or False (ask about an alternative: no)."""
    return rng.random() < 0.5


def make(
    rec: ImageRecord,
    rng: QuestionRandom,
    qtype: str,
    key: str,
    answer: str,
    answer_type: str,
    field: str,
    span: str,
    slots: dict[str, str],
    span_start: int | None = None,
    span_end: int | None = None,
) -> Candidate:
    """Fill a phrasing of template `key` (articles added for every slot), chosen by a stream keyed
    on the question's content, so the wording does not depend on what other rules asked."""
    phrasings = TEMPLATES[key]
    idx = rng.fork("phrasing", key, answer, *sorted(slots.values())).randrange(len(phrasings))
    values = {f"{k}_article": article(v) for k, v in slots.items()}
    values.update(slots)  # an explicit "<slot>_article" (e.g. "" before a mass noun) wins
    question = " ".join(phrasings[idx].format(**values).split())
    question = question[0].upper() + question[1:]
    return Candidate(
        record=rec,
        question=question,
        answer=answer,
        answer_type=answer_type,
        question_type=qtype,
        generator="rules",
        template_id=f"{key}#{idx}",
        prompt_version=RULES_VERSION,
        source_field=field,
        source_text=span,
        span_start=span_start,
        span_end=span_end,
    )


def reject(
    rec: ImageRecord, qtype: str, key: str, reason: str, field: str, text: str | None
) -> Candidate:
    """A candidate the rules could not produce, kept (with `reason`) for the rejects table."""
    return Candidate(
        record=rec,
        question="",
        answer="",
        answer_type=OPEN,
        question_type=qtype,
        generator="rules",
        template_id=key,
        prompt_version=RULES_VERSION,
        source_field=field,
        source_text=(text or "")[:500],
        reject_reason=reason,
    )


def finding_slots(norm: str) -> dict[str, str]:
    """Template slots for a finding, with no article before a mass noun ("Is there edema?")."""
    return {"f": norm, "f_article": "" if norm in MASS_NOUNS else article(norm)}


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


def span_of(u: Unit | Entity) -> dict[str, int]:
    """`make` keywords citing the characters of a unit or entity."""
    return {"span_start": u.start, "span_end": u.end}
