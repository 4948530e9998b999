"""Grounding: the cited span is really in the source, and the answer is supported by it.

Two checks (rapidfuzz, case-insensitive):
1. the candidate's `source_text` occurs in the record: at `span_start:span_end` of the named text
   field, anywhere in that field, or as the metadata value named by `source_field`
   (`metadata.modality` -> the record's modality or raw modality);
2. an open or choice answer (not yes/no) matches the span, directly or through a lexicon synonym
   ("MRI" is supported by "MR - T2 weighted"), with `partial_ratio >= threshold`.
Yes/no answers are claims about the span (present, negated, absent); check 1 covers them.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter
from radvqa_data.lexicon import NUMBER_WORDS, synonyms_of

YES_NO = frozenset({"yes", "no"})
_NUMBERS = {
    "one": "1",
    "single": "1",
    "solitary": "1",
    **NUMBER_WORDS,
    "several": "multiple",
    "numerous": "multiple",
}


def _canon(text: str) -> str:
    """Lower case, number words as digits, no spaces, the sign × as x ("Two" -> "2",
    "3 × 2 cm" -> "3x2cm")."""
    words = [_NUMBERS.get(w, w) for w in text.lower().replace("\u00d7", "x").split()]
    return "".join(words)


class GroundingFilter(Filter):
    """Reject candidates whose span is not in the source (`span_not_in_source`) or whose answer
    the span does not support (`answer_not_grounded`); `ungrounded` when no span is given."""

    name = "grounding"

    def __init__(self, threshold: float = 85.0) -> None:
        self.threshold = threshold  # higher: fewer paraphrased answers pass

    def _span_in_source(self, cand: Candidate) -> bool:
        rec, fld, span = cand.record, cand.source_field or "", cand.source_text or ""
        if fld.startswith(("metadata.", "label_model.")):  # label_model: a corrected value
            attr = fld.split(".", 1)[1]
            values = [getattr(rec, attr, None), getattr(rec, attr + "_raw", None)]
            return any(v is not None and str(v).lower() == span.lower() for v in values)
        text = rec.texts.get(fld)
        if text is None:
            return False
        if cand.span_start is not None and cand.span_end is not None:
            return text[cand.span_start : cand.span_end] == span
        if span in text:
            return True
        return fuzz.partial_ratio(span.lower(), text.lower()) >= self.threshold

    def supports(self, answer: str, span: str) -> bool:
        """True when `span` supports `answer` (directly or via a lexicon synonym)."""
        low, canon = span.lower(), _canon(span)
        return any(
            fuzz.partial_ratio(form.lower(), low) >= self.threshold
            or fuzz.partial_ratio(_canon(form), canon) >= self.threshold
            for form in synonyms_of(answer.strip())
            if len(_canon(form)) <= len(canon)
        )

    def __call__(self, cand: Candidate) -> str | None:
        if not cand.source_text or not cand.source_field:
            return "ungrounded"
        if not self._span_in_source(cand):
            return "span_not_in_source"
        if cand.answer.strip().lower() in YES_NO:
            return None
        if not self.supports(cand.answer, cand.source_text):
            return "answer_not_grounded"
        return None
