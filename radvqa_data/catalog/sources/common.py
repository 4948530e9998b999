"""Helpers shared by the source readers: strict JSON / JSONL / CSV loading with one-line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import InputError

#: Values some publishers use for "no value".
NULLS = {"", "n/a", "na", "null", "none", "nan", "left blank"}


def clean(value: Any) -> str | None:
    """A stripped string, or None for empty / N/A / NULL placeholders."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in NULLS else text


def require_file(path: Path, what: str) -> Path:
    """`path` if it is a file, else an InputError saying what was expected there."""
    if not path.is_file():
        raise InputError(f"{path}: file not found; expected {what}")
    return path


def load_json(path: Path, expected: str) -> Any:
    """Parse a whole JSON file; a parse error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason}); expected {expected}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}); "
            f"expected {expected}"
        ) from exc


def load_json_list(path: Path, expected: str) -> list[Any]:
    """Like `load_json`, and the top level must be a list."""
    data = load_json(path, expected)
    if not isinstance(data, list):
        raise InputError(
            f"{path}: line 1: top level is a {type(data).__name__}; expected {expected}"
        )
    return data


def iter_jsonl(path: Path, expected: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file; a bad line is an
    InputError."""
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}: line {lineno}: invalid JSON ({exc.msg}); expected {expected}"
                ) from exc
            if not isinstance(obj, dict):
                raise InputError(
                    f"{path}: line {lineno}: a {type(obj).__name__}; expected {expected}"
                )
            yield lineno, obj


def read_csv(
    path: Path, required: list[str], expected: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV with a header; missing required columns is an InputError."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"{path}: line 1: header {','.join(header) or '(empty)'} lacks column(s) "
                f"{', '.join(missing)}; expected {expected}"
            )
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: {exc}; expected {expected}") from exc
