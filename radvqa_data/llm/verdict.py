"""`parse_verdict`: a model's yes/no verdict, read robustly from whatever it replied.

One parser for every yes/no question put to a model: synthesis's verifier pass
(`llm/generator.py`) and the trainer's judge of open answers (`radvqa_train.judge`).
"""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)  # reasoning models' scratchpad
_KEYED = re.compile(
    r"""["']?\b(?:verdict|same_meaning|same|match(?:es)?|equivalent|correct)\b["']?\s*[:=]\s*"""
    r"""["'*]*\s*(yes|no|true|false|same|different|correct|incorrect)\b""",
    re.I,
)
_FIRST_WORD = re.compile(r"^[\s*_`\"'#>-]*(yes|no|true|false|correct|incorrect)\b", re.I)
_TRUE = {"yes", "true", "same", "correct"}


def parse_verdict(text: str | None) -> bool | None:
    """True (same meaning), False (different) or None (no readable verdict).

    Reads a keyed verdict anywhere (``{"verdict": "yes"}``, fenced or after a preamble,
    ``Verdict: no``, ``{"same": true}``, single quotes); keyed verdicts that disagree give None.
    Without one, a reply that starts with yes/no/true/false/correct/incorrect counts. Reasoning
    blocks (``<think>...</think>``) are ignored.
    """
    if not text:
        return None
    text = _THINK.sub(" ", text)
    found = {m.group(1).lower() in _TRUE for m in _KEYED.finditer(text)}
    if len(found) == 1:
        return found.pop()
    if found:  # "yes" and "no" both claimed: not a verdict
        return None
    m = _FIRST_WORD.match(text)
    return None if m is None else m.group(1).lower() in _TRUE
