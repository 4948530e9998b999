"""Nothing the image cannot show: age, dates, history, figure-panel or arrow references."""

from __future__ import annotations

import functools
import re

from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter

#: reason -> pattern (lower-cased text). Order matters: the first match names the reason.
PATTERNS: dict[str, re.Pattern[str]] = {
    "non_visual_age": re.compile(
        r"\b(\d+[- ]?(year|yr|month|week|day)s?[- ]old|years? old|\d+ ?y/?o|yo|aged?|elderly|"
        r"infant|newborn|neonate)\b"
    ),
    "non_visual_date": re.compile(
        r"\b((19|20)\d\d|\d{1,2}/\d{1,2}/\d{2,4}|"
        r"(jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}|"
        r"(days?|weeks?|months?|years?) (ago|later|after|before)|postoperative day)\b"
    ),
    "non_visual_history": re.compile(
        r"\b(history|presented|presenting|presents|complain\w*|symptoms?|diagnosed|prior|previous(ly)?|"
        r"follow[- ]?up|treated|treatment|surgery|underwent|admitted|biopsy[- ]proven|family)\b"
    ),
    "non_visual_figure_ref": re.compile(
        r"\b(fig(ure)?s?\.?|panels?|arrows?|arrowheads?|asterisks?|insets?|"
        r"(left|right|upper|lower|top|bottom) (image|panel)|"
        r"images? [a-h]\b|\([a-h]\)|[a-h]\))"
    ),
}


@functools.lru_cache(maxsize=65536)  # template questions repeat: one regex pass per string
def non_visual_reason(text: str) -> str | None:
    """The non-visual reason (`non_visual_age`, ...) of the first pattern that matches `text`."""
    low = text.lower()
    for reason, pattern in PATTERNS.items():
        if pattern.search(low):
            return reason
    return None


class NonVisualFilter(Filter):
    """Reject candidates whose question or answer is about something the pixels cannot show.

    `allowed_types` lists question types that may ask about it explicitly (e.g. an `OTHER`
    type about the patient's age when a project wants that); none by default.
    """

    name = "non_visual"

    def __init__(self, allowed_types: frozenset[str] = frozenset()) -> None:
        self.allowed_types = allowed_types

    def __call__(self, cand: Candidate) -> str | None:
        if cand.question_type in self.allowed_types:
            return None
        return non_visual_reason(cand.question) or non_visual_reason(cand.answer)
