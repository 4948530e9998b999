"""Read files of raw model replies and write the pairs parsed from them
(`radvqa-data parse-responses`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from radvqa_data.core.errors import InputError
from radvqa_data.llm.parse import parse_response

TEXT_KEYS = ("text", "response", "content", "output", "completion")


def read_responses(path: Path) -> Iterator[tuple[str, str | None]]:
    """Yield (id, raw text) from a JSON list of strings or JSON lines; InputError on bad shape."""
    if not path.is_file():
        raise InputError(
            f"{path}: file not found (expected JSON lines of raw replies or a JSON list)"
        )
    raw = path.read_text(encoding="utf-8", errors="replace")
    stripped = raw.lstrip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except ValueError as exc:
            raise InputError(f"{path}: starts with '[' but is not a JSON list ({exc})") from None
        for i, value in enumerate(values):
            yield str(i), _text_of(value, path, i + 1)
        return
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise InputError(
                f"{path}:{lineno}: not JSON; expected one JSON string or object with a 'text' "
                "field per line"
            ) from None
        rid = str(value.get("id", lineno)) if isinstance(value, dict) else str(lineno)
        yield rid, _text_of(value, path, lineno)


def _text_of(value: Any, path: Path, where: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in TEXT_KEYS:
            if key in value:
                return None if value[key] is None else str(value[key])
        # An OpenAI chat-completions reply saved whole.
        try:
            return value["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            pass
    raise InputError(
        f"{path}: entry {where} has no text; expected a string or an object with one of {TEXT_KEYS}"
    )


def parse_file(path: Path, out: TextIO) -> dict[str, Any]:
    """Parse every reply in `path`; write one JSON line per extracted pair to `out`; return
    counts."""
    rejected: Counter[str] = Counter()
    responses = with_pairs = pairs = 0
    for rid, text in read_responses(path):
        responses += 1
        result = parse_response(text)
        if result.reject_reason:
            rejected[result.reject_reason] += 1
            continue
        with_pairs += 1
        for item in result.items:
            pairs += 1
            row = {"response_id": rid, "format": result.fmt, **item.__dict__}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return {
        "responses": responses,
        "with_pairs": with_pairs,
        "pairs": pairs,
        "rejected": dict(rejected),
    }
