"""Text normalization for duplicate detection: two texts that a reader calls "the same" map to
one string (case, Unicode forms, punctuation, spacing and a trailing period do not matter)."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str | None) -> str:
    """Lowercased NFKC text with punctuation folded to single spaces ("" for None).

    Digits are kept: "T2" and "T1" must stay different, as must "3 cm" and "5 cm".
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", str(text)).casefold()
    t = _NON_WORD.sub(" ", t).replace("_", " ")
    return _SPACE.sub(" ", t).strip()


def normalize_many(texts: list[str | None]) -> list[str]:
    """`normalize_text` over a list (kept as a function so a faster path can replace it)."""
    return [normalize_text(t) for t in texts]
