"""One parsed QA item and its normalization (shared by the JSON and the text readers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from radvqa_data.core.answers import ANSWER_TYPES
from radvqa_data.core.schema import QUESTION_TYPES

_QTYPE_ALIASES = {
    "ABNORMALITY": "ABN",
    "PRESENCE": "PRES",
    "POSITION": "POS",
    "ATTRIBUTE": "ATTRIB",
    "ORGAN SYSTEM": "ORGAN",
}


@dataclass(frozen=True)
class ParsedItem:
    """One QA pair as the model wrote it (fields normalized, not yet verified)."""

    question: str
    answer: str
    answer_type: str | None = None  # closed | open, when the model said so
    question_type: str | None = None  # one of QUESTION_TYPES, when the model said so
    evidence: str | None = None  # words the model quoted from the source as support


def _clean(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    s = re.sub(r"\s+", " ", str(value)).strip()
    s = s.strip("\"'“”‘’` ")
    return s


def make_item(
    question: Any, answer: Any, answer_type: Any, question_type: Any, evidence: Any
) -> ParsedItem | None:
    """Normalize one pair; None when the question or the answer is missing."""
    q = _clean(question)
    a = _clean(answer).rstrip(".;,").strip()
    if isinstance(answer, bool):
        a = "yes" if answer else "no"
    if not q or not a:
        return None
    at = _clean(answer_type).lower() or None
    qt = _clean(question_type).upper() or None
    at = at if at in ANSWER_TYPES else None
    qt = _QTYPE_ALIASES.get(qt or "", qt)
    qt = qt if qt in QUESTION_TYPES else None
    return ParsedItem(
        question=q, answer=a, answer_type=at, question_type=qt, evidence=_clean(evidence) or None
    )
