"""Turn raw model text into QA items, coping with what models really return.

`parse_response(text)` tries, in order: JSON (whole text, inside code fences, after a preamble,
with trailing commas, smart quotes or Python literals, or cut off by the token limit: every
complete `{...}` object that has a question and an answer is kept), then labelled text
("Q: ... A: ...", "Question 1: / Answer:" blocks, bold markdown labels) and numbered lists
("1. What ...? - CT"). Text that yields no pair becomes a reject with a reason code.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from radvqa_data.schema import ANSWER_TYPES, QUESTION_TYPES

#: Reject reasons produced here (the generator records them on the Candidate).
EMPTY = "empty_response"
UNPARSEABLE = "unparseable_response"
NO_PAIRS = "no_pairs_in_response"

_Q_KEYS = ("question", "q", "query", "prompt")
_A_KEYS = ("answer", "a", "response", "short_answer")
_LIST_KEYS = ("pairs", "qa_pairs", "qa", "questions", "items", "results", "data", "vqa")


@dataclass(frozen=True)
class ParsedItem:
    """One QA pair as the model wrote it (fields normalized, not yet verified)."""

    question: str
    answer: str
    answer_type: str | None = None  # closed | open, when the model said so
    question_type: str | None = None  # one of QUESTION_TYPES, when the model said so
    evidence: str | None = None  # words the model quoted from the source as support


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
    result = _parse_json(cleaned)
    if result is not None and result.items:
        return result
    text_result = _parse_text(cleaned)
    if text_result.items:
        return text_result
    if result is not None:  # valid JSON, but nothing in it was a pair
        return ParseResult(reject_reason=NO_PAIRS, fmt="json", skipped=result.skipped)
    return ParseResult(reject_reason=UNPARSEABLE, skipped=text_result.skipped)


def _strip_reasoning(text: str) -> str:
    # Reasoning models (Qwen3, DeepSeek-R1) prepend <think>...</think>; an unclosed one was cut off.
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I)
    return re.sub(r"<think>.*", "", text, flags=re.S | re.I).strip()


# --- JSON -------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|js|javascript)?[ \t]*\n?(.*?)```", re.S)


def _json_candidates(text: str) -> list[str]:
    out = [m.group(1) for m in _FENCE.finditer(text)]
    # An unclosed fence (the token limit hit mid-block).
    if text.count("```") % 2 == 1:
        out.append(text.rsplit("```", 1)[1].split("\n", 1)[-1])
    out.append(text)
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if starts:
        out.append(text[min(starts) :])
    return out


def _loads_lenient(blob: str) -> Any:
    blob = blob.strip()
    for attempt in (blob, _repair(blob)):
        try:
            return json.loads(attempt)
        except ValueError:
            pass
        span = _balanced_prefix(attempt)
        if span and span != attempt:
            try:
                return json.loads(span)
            except ValueError:
                pass
    try:  # Python-literal style: single quotes, True/None
        return ast.literal_eval(_balanced_prefix(blob) or blob)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _repair(blob: str) -> str:
    blob = blob.translate({0x201C: '"', 0x201D: '"', 0x2018: "'", 0x2019: "'"})
    blob = re.sub(r"//[^\n\"]*$", "", blob, flags=re.M)  # line comments outside strings
    return re.sub(r",\s*([}\]])", r"\1", blob)  # trailing commas


def _balanced_prefix(text: str) -> str | None:
    """The first complete {...} or [...] in `text` (string-aware), if any."""
    start = next((i for i, c in enumerate(text) if c in "{["), None)
    if start is None:
        return None
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            esc = (c == "\\") and not esc
            if c == '"' and not esc:
                in_str = False
            continue
        if c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _flat_objects(text: str) -> list[Any]:
    """Every innermost complete {...} object: recovers pairs from truncated or broken JSON."""
    found = []
    for m in re.finditer(r"\{[^{}]*\}", _repair(text)):
        try:
            found.append(json.loads(m.group(0)))
        except ValueError:
            try:
                found.append(ast.literal_eval(m.group(0)))
            except (ValueError, SyntaxError):
                continue
    return found


def _parse_json(text: str) -> ParseResult | None:
    parsed_any = False
    for blob in _json_candidates(text):
        value = _loads_lenient(blob)
        if value is None or isinstance(value, (str, int, float, bool)):
            continue
        parsed_any = True
        items, skipped = _items_from_value(value)
        if items:
            return ParseResult(items=items, fmt="json", skipped=skipped)
    if "{" in text:
        items, skipped = _items_from_value(_flat_objects(text))
        if items:
            return ParseResult(items=items, fmt="json", skipped=skipped)
    return ParseResult(fmt="json") if parsed_any else None


def _items_from_value(value: Any) -> tuple[list[ParsedItem], int]:
    if isinstance(value, dict):
        low = {str(k).lower(): v for k, v in value.items()}
        if any(k in low for k in _Q_KEYS):
            return _items_from_value([value])
        for key in _LIST_KEYS:
            if isinstance(low.get(key), (list, dict)):
                return _items_from_value(low[key])
        nested = [v for v in value.values() if isinstance(v, (list, dict))]
        return _items_from_value(nested[0]) if len(nested) == 1 else ([], 0)
    if not isinstance(value, list):
        return [], 0
    items: list[ParsedItem] = []
    skipped = 0
    for entry in value:
        if isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry):
            entry = {"question": entry[0], "answer": entry[1]}
        if not isinstance(entry, dict):
            continue
        low = {str(k).lower().replace(" ", "_"): v for k, v in entry.items()}
        q = next((low[k] for k in _Q_KEYS if k in low), None)
        a = next((low[k] for k in _A_KEYS if k in low), None)
        item = make_item(
            q,
            a,
            low.get("answer_type"),
            low.get("question_type") or low.get("type"),
            low.get("evidence"),
        )
        if item is None:
            skipped += 1
        else:
            items.append(item)
    return items, skipped


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


# --- normalization ----------------------------------------------------------------------------


def _clean(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    s = re.sub(r"\s+", " ", str(value)).strip()
    s = s.strip("\"'“”‘’` ")
    return s


def make_item(
    question: Any, answer: Any, answer_type: Any, question_type: Any, evidence: Any
) -> ParsedItem | None:
    """Normalize one pair; None when the question or the answer is missing."""
    q = _clean(question)
    a = _clean(answer).rstrip(".;,").strip()
    if isinstance(answer, bool):
        a = "yes" if answer else "no"
    if not q or not a:
        return None
    at = _clean(answer_type).lower() or None
    qt = _clean(question_type).upper() or None
    at = at if at in ANSWER_TYPES else None
    qt = {
        "ABNORMALITY": "ABN",
        "PRESENCE": "PRES",
        "POSITION": "POS",
        "ATTRIBUTE": "ATTRIB",
        "ORGAN SYSTEM": "ORGAN",
    }.get(qt or "", qt)
    qt = qt if qt in QUESTION_TYPES else None
    return ParsedItem(
        question=q, answer=a, answer_type=at, question_type=qt, evidence=_clean(evidence) or None
    )
