"""Filters every synthesized candidate passes through (rules and LLM backends alike).

One step shape: a filter is a callable `filter(candidate) -> reason | None` (None = keep) with a
`name`; `FilterChain` runs them in order, stops at the first reason and counts kept/dropped per
reason, so the driver can write every rejected row with its reason.
"""

from radvqa_data.filters.answer_leak import AnswerInQuestionFilter, answer_in_question
from radvqa_data.filters.balance import YesNoBalancer
from radvqa_data.filters.base import Filter, FilterChain, default_filters
from radvqa_data.filters.duplicates import ImageDuplicateFilter
from radvqa_data.filters.grounding import GroundingFilter
from radvqa_data.filters.language import LanguageFilter
from radvqa_data.filters.length import LengthFilter
from radvqa_data.filters.non_visual import NonVisualFilter, non_visual_reason
from radvqa_data.filters.source_text import source_text_reason

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
    "source_text_reason",
]
