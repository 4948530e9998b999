"""The JSON reader of `parse_response`: fenced, preambled, trailing commas, smart quotes,
Python literals, truncated replies (every complete `{...}` with a question and an answer)."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from radvqa_data.llm.items import ParsedItem, make_item

_Q_KEYS = ("question", "q", "query", "prompt")
_A_KEYS = ("answer", "a", "response", "short_answer")
_LIST_KEYS = ("pairs", "qa_pairs", "qa", "questions", "items", "results", "data", "vqa")


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


def read_json(text: str) -> tuple[list[ParsedItem], int] | None:
    """(items, skipped entries) from the JSON in `text`; None when no JSON value was found."""
    parsed_any = False
    for blob in _json_candidates(text):
        value = _loads_lenient(blob)
        if value is None or isinstance(value, (str, int, float, bool)):
            continue
        parsed_any = True
        items, skipped = _items_from_value(value)
        if items:
            return items, skipped
    if "{" in text:
        items, skipped = _items_from_value(_flat_objects(text))
        if items:
            return items, skipped
    return ([], 0) if parsed_any else None


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
