"""Answer types and answer normalization: one definition for the scorer, the experiment's
statistics, diag's paraphrase check and the generators.

`normalize_answer` is what "the same answer" means everywhere: the metric's exact match and
diag's "a paraphrase pair got different answers" flag cannot disagree about it.
"""

from __future__ import annotations

import re
from typing import Final, Literal

#: `closed`: yes/no or a choice among options named in the question; `open`: short free answer.
CLOSED: Final = "closed"
OPEN: Final = "open"
ANSWER_TYPES: Final = (CLOSED, OPEN)
AnswerType = Literal["closed", "open"]

_PUNCT = re.compile(r"[^\w\s]")
_ARTICLES = frozenset({"a", "an", "the"})


def answer_type_of(raw: str | None) -> str | None:
    """The answer type of a raw value ("CLOSED", "closed " -> "closed"); None if it is none."""
    value = (raw or "").strip().lower()
    return value if value in ANSWER_TYPES else None


def is_closed(raw: str | None) -> bool:
    """True for a closed answer type, however it is written."""
    return answer_type_of(raw) == CLOSED


def normalize_answer(text: str | None) -> str:
    """Lowercase, no punctuation, no articles, single spaces."""
    words = _PUNCT.sub(" ", (text or "").lower()).split()
    return " ".join(w for w in words if w not in _ARTICLES)
