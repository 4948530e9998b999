"""No question that gives its own answer away ("Is the mass in the liver? ... liver")."""

from __future__ import annotations

import functools
import re

from radvqa_data.core.answers import OPEN
from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter
from radvqa_data.lexicon import synonyms_of

_NON_WORD = re.compile(r"[^a-z0-9*+-]+")


def _words(text: str) -> str:
    return " " + _NON_WORD.sub(" ", text.lower()).strip() + " "


@functools.lru_cache(maxsize=65536)
def answer_in_question(question: str, answer: str, *, with_synonyms: bool = True) -> bool:
    """True when the answer (or, with `with_synonyms`, a lexicon synonym of it) occurs in the
    question as whole words, ignoring case and punctuation."""
    q = _words(question)
    forms = synonyms_of(answer.strip()) if with_synonyms else (answer,)
    for form in forms:
        w = _words(form)
        if w.strip() and w in q:
            return True
    return False


class AnswerInQuestionFilter(Filter):
    """Reject open questions that contain their answer.

    Closed questions name their options by design ("Is this a CT or an MRI?"), so only open
    answers are checked.
    """

    name = "answer_in_question"

    def __init__(self, with_synonyms: bool = True) -> None:
        self.with_synonyms = with_synonyms  # also catch "computed tomography" for answer "CT"

    def __call__(self, cand: Candidate) -> str | None:
        if cand.answer_type != OPEN:
            return None
        if answer_in_question(cand.question, cand.answer, with_synonyms=self.with_synonyms):
            return "answer_in_question"
        return None
