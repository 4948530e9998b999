"""Turn raw model text into QA items, coping with what models really return.

`parse_response(text)` tries, in order: JSON (whole text, inside code fences, after a preamble,
with trailing commas, smart quotes or Python literals, or cut off by the token limit: every
complete `{...}` object that has a question and an answer is kept), then labelled text
("Q: ... A: ...", "Question 1: / Answer:" blocks, bold markdown labels) and numbered lists
("1. What ...? - CT"). Text that yields no pair becomes a reject with a reason code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from radvqa_data.core.answers import ANSWER_TYPES
from radvqa_data.core.schema import QUESTION_TYPES
from radvqa_data.llm.items import ParsedItem, make_item
from radvqa_data.llm.parse_json import read_json

__all__ = ["EMPTY", "NO_PAIRS", "UNPARSEABLE", "ParseResult", "ParsedItem", "parse_response"]

#: Reject reasons produced here (the generator records them on the Candidate).
EMPTY = "empty_response"
UNPARSEABLE = "unparseable_response"
NO_PAIRS = "no_pairs_in_response"


@dataclass
class ParseResult:
    """What `parse_response` found: the items, or why there are none."""

    items: list[ParsedItem] = field(default_factory=list)
    reject_reason: str | None = None
    fmt: str | None = None  # json | text: which reader produced the items
    skipped: int = 0  # entries that looked like pairs but lacked a question or an answer


def parse_response(text: str | None) -> ParseResult:
    """Extract QA pairs from one raw model response; never raises on bad text."""
    if text is None or not text.strip():
        return ParseResult(reject_reason=EMPTY)
    cleaned = _strip_reasoning(text)
    found = read_json(cleaned)
    if found is not None and found[0]:
        return ParseResult(items=found[0], fmt="json", skipped=found[1])
    text_result = _parse_text(cleaned)
    if text_result.items:
        return text_result
    if found is not None:  # valid JSON, but nothing in it was a pair
        return ParseResult(reject_reason=NO_PAIRS, fmt="json", skipped=found[1])
    return ParseResult(reject_reason=UNPARSEABLE, skipped=text_result.skipped)


def _strip_reasoning(text: str) -> str:
    # Reasoning models (Qwen3, DeepSeek-R1) prepend <think>...</think>; an unclosed one was cut off.
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I)
    return re.sub(r"<think>.*", "", text, flags=re.S | re.I).strip()


# --- labelled text and numbered lists ---------------------------------------------------------

_NUM = r"(?:\(?\d{1,3}[.):]\s*|[-*•]\s+)?"
_Q_LABEL = re.compile(
    rf"^\s*{_NUM}(?:Q(?:uestion)?\s*\d{{0,3}}\s*[:.)\-–]|Q\d{{1,3}}\b\s*[:.)\-–]?)\s*(.*)$", re.I
)
_A_LABEL = re.compile(
    rf"^\s*{_NUM}(?:A(?:nswer)?\s*\d{{0,3}}\s*[:.)\-–]|A\d{{1,3}}\b\s*[:.)\-–]?)\s*(.*)$", re.I
)
_INLINE_A = re.compile(r"\s(?:\||;|,|-|–|—)?\s*\bA(?:nswer)?\s*\d{0,3}\s*:\s*", re.I)
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s+(.+?\?)\s*(?:(?:[-–—:=]|->|=>)\s*)?(.*)$")
_TYPE_TAG = re.compile(
    r"\s*[\[(]\s*(?:type\s*[:=]\s*)?([A-Za-z]+)(?:\s*[,/]\s*([A-Za-z]+))?\s*[\])]\s*$"
)


def _parse_text(text: str) -> ParseResult:
    # Markdown emphasis around labels ("**Question 1:**") would hide the label.
    lines = [re.sub(r"[*_`]{1,3}", "", ln).rstrip() for ln in text.splitlines()]
    items: list[ParsedItem] = []
    skipped = 0
    pending_q: str | None = None
    for line in lines:
        if not line.strip():
            continue
        qm, am = _Q_LABEL.match(line), _A_LABEL.match(line)
        if qm and not am:
            if pending_q is not None:
                skipped += 1
            body = qm.group(1).strip()
            inline = _INLINE_A.split(body, maxsplit=1)
            if len(inline) == 2:
                skipped += _add(items, inline[0], inline[1])
                pending_q = None
            else:
                pending_q = body or None
            continue
        if am:
            if pending_q is not None:
                skipped += _add(items, pending_q, am.group(1))
                pending_q = None
            continue
        nm = _NUMBERED.match(line)
        if nm:
            if pending_q is not None:
                skipped += 1
            question, rest = nm.group(1), nm.group(2).strip()
            if rest:
                skipped += _add(items, question, rest)
                pending_q = None
            else:
                pending_q = question  # answer on the next line
            continue
        if (
            pending_q is not None
            and pending_q.endswith("?")
            and line.startswith((" ", "\t", "-", "→"))
        ):
            skipped += _add(items, pending_q, line.strip().lstrip("-→ ").strip())
            pending_q = None
    return ParseResult(items=items, fmt="text" if items else None, skipped=skipped)


def _add(items: list[ParsedItem], question: str, answer: str) -> int:
    answer_type = question_type = None
    tag = _TYPE_TAG.search(answer)
    if tag:  # "CT (MODALITY, open)"
        words = [w for w in tag.groups() if w]
        if any(w.upper() in QUESTION_TYPES or w.lower() in ANSWER_TYPES for w in words):
            answer = answer[: tag.start()]
            for w in words:
                if w.upper() in QUESTION_TYPES:
                    question_type = w.upper()
                elif w.lower() in ANSWER_TYPES:
                    answer_type = w.lower()
    item = make_item(question, answer, answer_type, question_type, None)
    if item is None:
        return 1
    items.append(item)
    return 0
