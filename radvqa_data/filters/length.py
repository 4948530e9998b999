"""Answers short (a word or a short phrase), questions of a sensible length."""

from __future__ import annotations

from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter


class LengthFilter(Filter):
    """Reject empty answers/questions, answers over `max_answer_words`, overlong questions."""

    name = "length"

    def __init__(
        self, max_answer_words: int = 5, min_question_chars: int = 8, max_question_chars: int = 200
    ) -> None:
        self.max_answer_words = max_answer_words  # higher: allows descriptive answers
        self.min_question_chars = min_question_chars
        self.max_question_chars = max_question_chars

    def __call__(self, cand: Candidate) -> str | None:
        answer, question = cand.answer.strip(), cand.question.strip()
        if not answer:
            return "empty_answer"
        if len(question) < self.min_question_chars:
            return "question_too_short"
        if len(question) > self.max_question_chars:
            return "question_too_long"
        if len(answer.split()) > self.max_answer_words:
            return "answer_too_long"
        return None
