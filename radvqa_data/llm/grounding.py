"""Locate the source span behind an LLM answer (rapidfuzz), so the shared filters can judge it.

A rules template knows where its answer came from; an LLM does not say. Here the answer (open
questions; also its lexicon synonyms) or the quoted evidence (yes/no questions) is looked up in
the caption/findings (exactly, or fuzzily at word boundaries), the structured metadata and the
extracted entities; for a multi-word answer every content word must be supported. The span found
becomes `source_field` / `source_text` / `span_start` / `span_end`. Nothing is rejected here:
`radvqa_data.filters.GroundingFilter` rejects candidates without a span (`ungrounded`) or whose
span does not support the answer, and `LengthFilter` rejects long answers. What is LLM-specific
is shortening: a long answer becomes an entity mention inside it, when that mention is in the
source and not in the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radvqa_data.core.pipeline_records import ImageRecord
from radvqa_data.lexicon import synonyms_of

MAX_ANSWER_WORDS = (
    5  # longer answers are shortened to a grounded entity span (else LengthFilter rejects)
)
FUZZY_CUTOFF = (
    88.0  # rapidfuzz score (0-100) for a fuzzy span / word match; lower admits paraphrase
)
SHORT_EXACT = 4  # answers this short must match whole words exactly ("CT" must not match "aCTive")

_STOP = frozenset(
    "a an the of in on at to and or with without is are was were be this that these there "
    "which what where how image shown seen visible present does do any demonstrated noted".split()
)
_YES_NO = {"yes", "no"}
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Grounding:
    """Where the answer was found (all None when it was not); `answer` may be a shortened form."""

    answer: str
    source_field: str | None = None
    source_text: str | None = None
    span_start: int | None = None
    span_end: int | None = None


def content_words(text: str) -> list[str]:
    """Lower-case words of `text` that carry meaning (no stopwords, no 1-letter tokens)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def find_span(phrase: str, record: ImageRecord) -> Grounding | None:
    """Locate `phrase` (or a lexicon synonym: "MRI" -> "MR") in the record; None if absent."""
    for form in synonyms_of(phrase.strip()):
        hit = _find_form(form, record)
        if hit:
            return Grounding(
                phrase, hit.source_field, hit.source_text, hit.span_start, hit.span_end
            )
    return None


def _find_form(phrase: str, record: ImageRecord) -> Grounding | None:
    """Exact word match in a text, metadata value, entity norm, then a fuzzy span."""
    needle = phrase.strip().lower()
    if not needle:
        return None
    pattern = re.compile(r"(?<![a-z0-9])" + re.escape(needle) + r"(?![a-z0-9])")
    for name, text in record.texts.items():
        m = pattern.search(text.lower())
        if m:
            return Grounding(phrase, name, text[m.start() : m.end()], m.start(), m.end())
    for key in ("modality", "modality_raw", "plane", "organ", "organ_raw", "laterality"):
        value = getattr(record, key)
        if value and (needle == value.lower() or pattern.search(value.lower())):
            return Grounding(phrase, f"metadata.{key.removesuffix('_raw')}", value)
    for e in record.entities:
        if needle in (e.norm.lower(), e.text.lower()):
            return Grounding(phrase, e.field, e.text, e.start, e.end)
    if len(needle) > SHORT_EXACT:
        return _fuzzy_span(phrase, record)
    return None


def _fuzzy_span(phrase: str, record: ImageRecord) -> Grounding | None:
    from rapidfuzz import fuzz

    best: Grounding | None = None
    best_score = FUZZY_CUTOFF
    for name, text in record.texts.items():
        hit = fuzz.partial_ratio_alignment(phrase.lower(), text.lower(), score_cutoff=FUZZY_CUTOFF)
        if hit is None:
            continue
        start, end = _widen(text, hit.dest_start, hit.dest_end)
        # Re-score the word-aligned span: partial_ratio alone would accept a fragment of a word.
        score = fuzz.ratio(phrase.lower(), text[start:end].lower())
        if score >= best_score:
            best, best_score = Grounding(phrase, name, text[start:end], start, end), score
    return best


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def words_supported(phrase: str, record: ImageRecord) -> Grounding | None:
    """Every content word of `phrase` appears (fuzzily) in one source text; the sentence is the
    span."""
    from rapidfuzz import fuzz, process

    words = content_words(phrase)
    if not words:
        return None
    for name, text in record.texts.items():
        vocab = set(_WORD.findall(text.lower()))
        if all(
            w in vocab or process.extractOne(w, vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            for w in words
        ):
            for m in re.finditer(r"[^.;\n]+", text):  # the sentence holding the first word
                if words[0] in m.group(0).lower():
                    start, end = _strip_span(text, m.start(), m.end())
                    return Grounding(phrase, name, text[start:end], start, end)
            return Grounding(phrase, name, text, 0, len(text))
    return None


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def shorten(answer: str, question: str, record: ImageRecord) -> Grounding | None:
    """The longest entity mention inside a long answer, when it is in the source and not in the
    question."""
    low_answer, low_question = answer.lower(), question.lower()
    mentions = sorted(record.entities, key=lambda e: len(e.text), reverse=True)
    for e in mentions:
        t = e.text.lower()
        if len(t.split()) <= MAX_ANSWER_WORDS and t in low_answer and t not in low_question:
            return Grounding(e.text, e.field, e.text, e.start, e.end)
    return None


def ground(question: str, answer: str, evidence: str | None, record: ImageRecord) -> Grounding:
    """The span of `record` that supports one LLM pair (fields None when there is none)."""
    if answer.lower() in _YES_NO:
        # A yes/no answer has no words to find: the quoted evidence (or, for "yes", the question's
        # own content words) must be in the source.
        hit = None
        if evidence:
            hit = find_span(evidence, record) or words_supported(evidence, record)
        if hit is None and answer.lower() == "yes":
            hit = words_supported(question, record)
        return Grounding(answer, *_where(hit))
    if len(answer.split()) > MAX_ANSWER_WORDS:
        return shorten(answer, question, record) or Grounding(answer)
    hit = find_span(answer, record) or words_supported(answer, record)
    return Grounding(answer, *_where(hit))


def _where(hit: Grounding | None) -> tuple[str | None, str | None, int | None, int | None]:
    return (
        (hit.source_field, hit.source_text, hit.span_start, hit.span_end)
        if hit
        else (None, None, None, None)
    )
