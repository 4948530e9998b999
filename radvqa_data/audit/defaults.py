"""Audit defaults the CLI shows and the check configs use: one place, no imports, so that
`radvqa-data audit --help` prints them without loading polars or rapidfuzz."""

from __future__ import annotations

#: rapidfuzz score (0-100) a near-duplicate pair needs; lower: more paraphrases, more noise.
NEAR_DUP_THRESHOLD = 90.0
#: Cases a long answer must recur in to be boilerplate when no text of its rows can be checked
#: (real tables: docs/audit.md).
BOILERPLATE_MAX_CASES = 5
