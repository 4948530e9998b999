"""Text normalization for duplicate detection: two texts that a reader calls "the same" map to
one string (case, Unicode forms, punctuation, spacing and a trailing period do not matter)."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

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
    """`normalize_text` over a list."""
    return normalize_series(pl.Series(texts, dtype=pl.String)).to_list()


def normalize_series(s: pl.Series) -> pl.Series:
    """`normalize_text` over a string column, the same strings ~10x faster: ASCII texts (almost
    all) in Polars, where NFKC changes nothing, casefold is lowercasing and a word character is
    [a-z0-9_]; the others one by one in Python."""
    s = s.cast(pl.String).fill_null("")
    fast = s.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars(" ")
    other = (~s.str.contains(r"^[\x00-\x7F]*$")).arg_true()
    if len(other):
        slow = pl.Series([normalize_text(t) for t in s.gather(other).to_list()], dtype=pl.String)
        fast = fast.scatter(other, slow)
    return fast
