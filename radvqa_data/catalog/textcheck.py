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


# Template and placeholder texts: an authoring tool's prompt left in place ("Replace this -
# DESCRIPTION OF THE IMAGE OR FINDINGS.", 21 MedPix 2.0 captions), or a text with nothing in it
# but a heading or a figure label ("Findings:", "Figure 1"). Only short texts are checked: a
# prompt left in place is short, and a long text that quotes one is still a text. Plain substring
# tests come first: one regex search over every text cost ~26 us each (0.3 s for MedPix's 11,700
# short texts), the substring tests and the rare regex ~2 us.
_PROMPTS = ("replace this", "description of the image or findings", "lorem ipsum", "click here")
_PROMPT_WORDS = ("caption", "description", "legend", "text")
_PROMPT = re.compile(
    r"\b(insert|enter|type|add) (the |a |your )?(caption|description|text|legend)\b"
    r"|\b(caption|description|legend|text) (goes )?here\b"
)
_BARE = re.compile(r"\W*((no|missing) (caption|description|legend)|tbd|todo|xxx+|\?+)\W*")
_EMPTY_TEMPLATE = re.compile(
    r"^(\W|\b\d+[a-h]?\b|\b(fig(ure)?|image|panel|plate|caption|description|legend|findings?"
    r"|impression|[a-h])\b)*$",
    re.IGNORECASE,
)
# an empty template names a heading ("Figure 1", "Findings:") or has no letter at all; a lone
# letter and number ("e+1", a DICOM StudyDescription) is a value, not a template
_HEADING = re.compile(r"fig|image|panel|plate|caption|description|legend|finding|impression")
_LETTER = re.compile(r"[^\W\d_]")
PLACEHOLDER_MAX_CHARS = 300


def placeholder_reason(text: str) -> str | None:
    """Why `text` is a template or placeholder rather than a text (None when it is a text)."""
    if len(text) > PLACEHOLDER_MAX_CHARS:
        return None
    low = text.lower()
    for phrase in _PROMPTS:
        if phrase in low:
            return f"template text '{phrase}'"
    if any(w in low for w in _PROMPT_WORDS):
        m = _PROMPT.search(low)
        if m:
            return f"template text '{m.group(0)}'"
    if len(low) < 40 and _BARE.fullmatch(low):
        return f"template text '{low.strip()}'"
    if _EMPTY_TEMPLATE.match(text.strip()) and (_HEADING.search(low) or not _LETTER.search(low)):
        return "an empty template (only headings, figure labels or punctuation)"
    return None
