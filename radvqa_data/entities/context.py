"""Negation and uncertainty of entity mentions: a small NegEx/ConText-style rule set.

A *pre* trigger ("no", "without", "suspicious for") governs the entities that follow it, a
*post* trigger ("is not seen", "cannot be excluded") the entities before it; the scope ends at
the sentence end, a termination word ("but", "however", ...), or after `WINDOW` tokens
(NegEx's window, widened a little for lists: "no effusion, pneumothorax or consolidation").
Pseudo-triggers ("no change", "not only") are skipped. Rules work on lower-cased tokens, so
they run on any spaCy pipeline, blank or trained.
"""

from __future__ import annotations

from collections.abc import Sequence

WINDOW = 8

PRE_NEGATION = (
    "no", "not", "without", "absence of", "absent", "negative for", "no evidence of",
    "no sign of", "no signs of", "free of", "denies", "resolution of", "neither", "nor",
    "never", "non", "rather than",
)
POST_NEGATION = (
    "is not seen", "are not seen", "was not seen", "were not seen", "not seen", "not identified",
    "not evident", "not present", "not visualized", "is absent", "are absent", "was excluded",
    "ruled out", "has resolved", "have resolved", "resolved", "is excluded",
)
PRE_UNCERTAIN = (
    "possible", "possibly", "probable", "probably", "likely", "suspicious for", "suspicion of",
    "suspect", "suspected", "concerning for", "cannot exclude", "can not exclude",
    "could not exclude", "cannot rule out", "may represent", "might represent",
    "could represent", "may be", "might be", "could be", "questionable", "question of",
    "rule out", "presumed", "presumably", "differential diagnosis", "differential includes",
    "versus", "vs", "equivocal", "indeterminate",
)
POST_UNCERTAIN = (
    "cannot be excluded", "can not be excluded", "not excluded", "cannot be ruled out",
    "is suspected", "are suspected", "is possible", "is questioned", "is likely", "not excluded",
)
PSEUDO = (
    "no change", "no significant change", "no interval change", "not only", "no increase",
    "without change", "not necessarily", "no further", "not certain whether", "gram negative",
    "not cause", "non contrast", "non-contrast", "no longer",
)
TERMINATORS = frozenset(
    {"but", "however", "although", "though", "except", "which", "whereas", "yet", ";", ":",
     "aside", "apart", "nevertheless", "still"}
)


def _index(phrases: Sequence[str], kind: str) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for p in phrases:
        toks = tuple(p.split())
        out.setdefault(toks[0], []).append((toks, kind))
    return out


def _merge(*indexes: dict[str, list[tuple[tuple[str, ...], str]]]) -> dict[str, list]:
    merged: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for idx in indexes:
        for k, v in idx.items():
            merged.setdefault(k, []).extend(v)
    for v in merged.values():
        v.sort(key=lambda item: -len(item[0]))  # longest trigger first
    return merged


_TRIGGERS = _merge(
    _index(PSEUDO, "pseudo"),
    _index(PRE_NEGATION, "pre_neg"),
    _index(POST_NEGATION, "post_neg"),
    _index(PRE_UNCERTAIN, "pre_unc"),
    _index(POST_UNCERTAIN, "post_unc"),
)

#: Every word a trigger (or pseudo-trigger) starts with: a text without one has no trigger.
TRIGGER_FIRST_WORDS = frozenset(_TRIGGERS)


def find_triggers(words: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every trigger in lower-cased `words`, left to right, no overlaps."""
    found: list[tuple[int, int, str]] = []
    i, n = 0, len(words)
    while i < n:
        for toks, kind in _TRIGGERS.get(words[i], ()):
            if tuple(words[i : i + len(toks)]) == toks:
                found.append((i, i + len(toks), kind))
                i += len(toks) - 1
                break
        i += 1
    return found


def context_flags(
    words: Sequence[str], sent_ids: Sequence[int], spans: Sequence[tuple[int, int]]
) -> list[tuple[bool, bool]]:
    """(negated, uncertain) for each entity token span [start, end) of a tokenized text.

    `words` are lower-cased tokens and `sent_ids[i]` the sentence number of token i.
    """
    triggers = [t for t in find_triggers(words) if t[2] != "pseudo"]
    flags = [[False, False] for _ in spans]
    for t_start, t_end, kind in triggers:
        slot = 0 if kind.endswith("neg") else 1
        if kind.startswith("pre"):
            lo, hi = t_end, t_end
            while hi < len(words) and hi - t_end < WINDOW and sent_ids[hi] == sent_ids[t_start]:
                if words[hi] in TERMINATORS:
                    break
                hi += 1
        else:
            lo, hi = t_start, t_start
            while lo > 0 and t_start - lo < WINDOW and sent_ids[lo - 1] == sent_ids[t_start]:
                if words[lo - 1] in TERMINATORS:
                    break
                lo -= 1
        for k, (s, e) in enumerate(spans):
            if s >= lo and e <= hi:
                flags[k][slot] = True
    return [(n, u) for n, u in flags]
