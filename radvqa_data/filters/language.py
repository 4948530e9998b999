"""Questions and answers in English (the caption itself is checked by the rules backend:
`synth.rules.caption_check`)."""

from __future__ import annotations

import functools

from radvqa_data.catalog.textcheck import non_english_reason
from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter

# Template questions repeat thousands of times: remember the verdict per string.
_cached_reason = functools.lru_cache(maxsize=65536)(non_english_reason)


class LanguageFilter(Filter):
    """Reject a candidate whose question or answer does not look English."""

    name = "language"

    def __call__(self, cand: Candidate) -> str | None:
        if _cached_reason(cand.question) or _cached_reason(cand.answer):
            return "non_english"
        return None
