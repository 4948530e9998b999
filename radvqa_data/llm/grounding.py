"""Ground an LLM answer in the record's own texts and metadata (rapidfuzz), or reject it.

What a model writes is kept only when the source supports it: the answer (open questions) or the
quoted evidence (yes/no questions) must be found in the caption/findings (exactly, or fuzzily at
word boundaries), in the structured metadata, or among the extracted entities; for a multi-word
answer every content word must be supported. A long answer is shortened only to an entity
mention inside it that is itself in the source; otherwise it is rejected. The located span is
recorded as `source_field` / `source_text` / `span_start` / `span_end`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radvqa_data.synth.types import ImageRecord

MAX_ANSWER_WORDS = 5  # longer answers are shortened to a grounded entity span, or rejected
FUZZY_CUTOFF = (
    88.0  # rapidfuzz score (0-100) for a fuzzy span / word match; lower admits paraphrase
)
SHORT_EXACT = 4  # answers this short must match whole words exactly ("CT" must not match "aCTive")

UNGROUNDED = "ungrounded_answer"
TOO_LONG = "answer_too_long"
NO_EVIDENCE = "closed_answer_without_evidence"

_STOP = frozenset(
    "a an the of in on at to and or with without is are was were be this that these there which what "
    "where how image shown seen visible present does do any demonstrated noted".split()
)
_YES_NO = {"yes", "no"}
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Grounding:
    """Where the answer was found, or why it was not; `answer` may be a shortened form."""

    answer: str
    source_field: str | None = None
    source_text: str | None = None
    span_start: int | None = None
    span_end: int | None = None
    reject_reason: str | None = None


def content_words(text: str) -> list[str]:
    """Lower-case words of `text` that carry meaning (no stopwords, no 1-letter tokens)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def find_span(phrase: str, record: ImageRecord) -> Grounding | None:
    """Locate `phrase` in the record: exact word match, metadata value, entity norm, fuzzy span."""
    needle = phrase.strip().lower()
    if not needle:
        return None
    pattern = re.compile(r"(?<![a-z0-9])" + re.escape(needle) + r"(?![a-z0-9])")
    for name, text in record.texts.items():
        m = pattern.search(text.lower())
        if m:
            return Grounding(phrase, name, text[m.start() : m.end()], m.start(), m.end())
    for key in ("modality", "modality_raw", "plane", "region", "region_raw", "laterality"):
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
    """Every content word of `phrase` appears (fuzzily) in one source text; the sentence is the span."""
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
                    return Grounding(phrase, name, m.group(0).strip(), m.start(), m.end())
            return Grounding(phrase, name, None)
    return None


def shorten(answer: str, question: str, record: ImageRecord) -> Grounding | None:
    """The longest entity mention inside a long answer, when it is in the source and not in the question."""
    low_answer, low_question = answer.lower(), question.lower()
    mentions = sorted(record.entities, key=lambda e: len(e.text), reverse=True)
    for e in mentions:
        t = e.text.lower()
        if len(t.split()) <= MAX_ANSWER_WORDS and t in low_answer and t not in low_question:
            return Grounding(e.text, e.field, e.text, e.start, e.end)
    return None


def ground(
    question: str, answer: str, answer_type: str, evidence: str | None, record: ImageRecord
) -> Grounding:
    """Ground one LLM pair in `record`; a `Grounding` with `reject_reason` set when it is not."""
    if answer.lower() in _YES_NO:
        # A yes/no answer has no words to ground: the quoted evidence (or, for "yes", the
        # question's own content words) must be in the source.
        if evidence:
            hit = find_span(evidence, record) or words_supported(evidence, record)
            if hit:
                return Grounding(
                    answer, hit.source_field, hit.source_text, hit.span_start, hit.span_end
                )
        if answer.lower() == "yes":
            hit = words_supported(question, record)
            if hit:
                return Grounding(
                    answer, hit.source_field, hit.source_text, hit.span_start, hit.span_end
                )
        return Grounding(answer, reject_reason=NO_EVIDENCE if not evidence else UNGROUNDED)
    if len(answer.split()) > MAX_ANSWER_WORDS:
        short = shorten(answer, question, record)
        return short if short else Grounding(answer, reject_reason=TOO_LONG)
    hit = find_span(answer, record) or words_supported(answer, record)
    return hit if hit else Grounding(answer, reject_reason=UNGROUNDED)
