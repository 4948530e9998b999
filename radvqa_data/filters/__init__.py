"""Filters every synthesized candidate passes through (rules and LLM backends alike).

One step shape: a filter is a callable `filter(candidate) -> reason | None` (None = keep) with a
`name`; `FilterChain` runs them in order, stops at the first reason and counts kept/dropped per
reason, so the driver can write every rejected row with its reason.

The registry of the standard chain (`default_filters`) lives here, beside the filters it names;
`base.py` holds only the step shape, so no filter module imports its own registry. Whether a
caption is usable at all is the rules backend's own precondition
(`radvqa_data.synth.rules.caption_check`), not a filter.
"""

from __future__ import annotations

from radvqa_data.filters.answer_leak import AnswerInQuestionFilter, answer_in_question
from radvqa_data.filters.balance import YesNoBalancer
from radvqa_data.filters.base import Filter, FilterChain
from radvqa_data.filters.duplicates import ImageDuplicateFilter
from radvqa_data.filters.grounding import GroundingFilter
from radvqa_data.filters.language import LanguageFilter
from radvqa_data.filters.length import LengthFilter
from radvqa_data.filters.non_visual import NonVisualFilter, non_visual_reason


def default_filters(
    *, max_answer_words: int = 5, grounding_threshold: float = 85.0
) -> list[Filter]:
    """The standard chain: cheap structural checks first, fuzzy grounding last but one."""
    return [
        LengthFilter(max_answer_words=max_answer_words),
        LanguageFilter(),
        NonVisualFilter(),
        AnswerInQuestionFilter(),
        GroundingFilter(threshold=grounding_threshold),
        ImageDuplicateFilter(),
    ]


__all__ = [
    "AnswerInQuestionFilter",
    "Filter",
    "FilterChain",
    "GroundingFilter",
    "ImageDuplicateFilter",
    "LanguageFilter",
    "LengthFilter",
    "NonVisualFilter",
    "YesNoBalancer",
    "answer_in_question",
    "default_filters",
    "non_visual_reason",
]
