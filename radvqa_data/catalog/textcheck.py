"""A cheap "is this caption English?" check (ROCO captions come from papers in many languages).

Two signals, no model: the share of ASCII letters among all letters (catches Chinese, Greek,
Cyrillic, heavily accented text), and, for longer captions, English function words against
common Romance / Germanic ones. A flagged caption is recorded as an issue; the row is kept.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z]+")
_EN = frozenset(
    "the of and with in a an is are was were on at to from for by or showing shows shown "
    "demonstrates which that there this no not left right arrow image".split()
)
_FOREIGN = (
    frozenset(
        "de la el los las del en con por para una que se y und der die das mit ein eine ist "
        "von im auf les des une est avec dans et le du au com em do da dos uma het van een "
        "zijn".split()
    )
    - _EN
)


def non_english_reason(text: str) -> str | None:
    """Why `text` looks non-English, or None when it looks English (or is too short to tell)."""
    if text.isascii():  # fast path: most captions are plain ASCII
        words = _ASCII_WORD.findall(text.lower())
    else:
        words = _WORD.findall(text.lower())
        letters = sum(map(len, words))
        if letters >= 12:
            ascii_share = sum(c.isascii() for c in "".join(words)) / letters
            if ascii_share < 0.8:
                return f"only {ascii_share:.0%} of letters are ASCII"
    if len(words) >= 6:
        en = sum(w in _EN for w in words)
        foreign = sum(w in _FOREIGN for w in words)
        if foreign >= 2 and foreign > en:
            return f"{foreign} non-English function words, {en} English"
    return None
