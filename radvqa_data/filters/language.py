"""Questions and answers in English (the source text is checked by `source_text_reason`)."""

from __future__ import annotations

from radvqa_data.catalog.textcheck import non_english_reason
from radvqa_data.synth.types import Candidate


class LanguageFilter:
    """Reject a candidate whose question or answer does not look English."""

    name = "language"

    def __call__(self, cand: Candidate) -> str | None:
        if non_english_reason(cand.question) or non_english_reason(cand.answer):
            return "non_english"
        return None
