"""Negation and uncertainty of entity mentions: a small NegEx/ConText-style rule set.

A *pre* trigger ("no", "without", "suspicious for") governs the entities that follow it, a
*post* trigger ("is not seen", "cannot be excluded") the entities before it; the scope ends at
the sentence end, a termination word ("but", "however", "there", a verb that opens a new clause:
"is", "shows", ...), or after `WINDOW` tokens (NegEx's window of 5, widened for radiology lists:
"no free air or abnormal fluid collections to suggest abscess formation" negates the abscess).
The prefix "non" ("non-enhancing", "non hemorrhagic") negates only the next word. Pseudo-triggers
("no change", "no other", "without contrast") are skipped: "no other mass" does not deny the
mass. A finding under a *historical* trigger ("history of", "status post", "prior", "diagnosed
with", "in the setting of", "known") is not asserted for this image and is flagged uncertain.
Rules work on lower-cased tokens, so they run on any spaCy pipeline, blank or trained.
"""

from __future__ import annotations

from collections.abc import Sequence

WINDOW = 12  # tokens: 8 cut "no free air or abnormal fluid collections to suggest abscess"

PRE_NEGATION = (
    "no",
    "not",
    "without",
    "absence of",
    "absent",
    "negative for",
    "no evidence of",
    "no sign of",
    "no signs of",
    "free of",
    "denies",
    "resolution of",
    "neither",
    "nor",
    "never",
    "rather than",
)
#: Negating prefixes written as a word ("non enhancing") or hyphenated ("non-hemorrhagic"):
#: they negate the next word only, not the noun phrase after it.
PREFIX_NEGATION = ("non",)
POST_NEGATION = (
    "is not seen",
    "are not seen",
    "was not seen",
    "were not seen",
    "not seen",
    "not identified",
    "not evident",
    "not present",
    "not visualized",
    "is absent",
    "are absent",
    "was excluded",
    "ruled out",
    "has resolved",
    "have resolved",
    "resolved",
    "is excluded",
)
PRE_UNCERTAIN = (
    "possible",
    "possibly",
    "probable",
    "probably",
    "likely",
    "suspicious for",
    "suspicion of",
    "suspect",
    "suspected",
    "concerning for",
    "cannot exclude",
    "can not exclude",
    "could not exclude",
    "cannot rule out",
    "may represent",
    "might represent",
    "could represent",
    "may be",
    "might be",
    "could be",
    "questionable",
    "question of",
    "rule out",
    "presumed",
    "presumably",
    "differential diagnosis",
    "differential includes",
    "versus",
    "vs",
    "equivocal",
    "indeterminate",
    "suggestive of",
    "suggesting",
    "suggests",
    "suggest",
    "worrisome for",
    "thought to represent",
    "thought to be",
    "raising the possibility",
    "differential considerations",
    "consider",
    "considered",
)
#: Not asserted for this image: the finding was there before, or was removed.
PRE_HISTORICAL = (
    "history of",
    "h / o",
    "status post",
    "status - post",
    "s / p",
    "previously",
    "previous",
    "prior",
    "resection of",
    "removal of",
    "presenting with",
    "presented with",
    "presents with",
    "complaining of",
    "complains of",
    "visit for",
    "admitted for",
    "admitted with",
    "referred for",
    "evaluation for",
    "evaluate for",
    "work - up for",
    "workup for",
    # a diagnosis the patient has, not what this picture shows ("diagnosed with systemic
    # sclerosis 7 years ago", "effusion in the setting of metastatic thyroid carcinoma")
    "diagnosed with",
    "in the setting of",
    "known",
)
POST_HISTORICAL = (
    "was removed",
    "were removed",
    "was resected",
    "were resected",
    "was excised",
    "were excised",
    "was dissected",
    "were dissected",
    "removed",
    "resected",
    "excised",
)
POST_UNCERTAIN = (
    "cannot be excluded",
    "can not be excluded",
    "not excluded",
    "cannot be ruled out",
    "is suspected",
    "are suspected",
    "is possible",
    "is questioned",
    "is likely",
    "not excluded",
)
PSEUDO = (
    "no change",
    "no significant change",
    "no interval change",
    "not only",
    "no increase",
    "without change",
    "not necessarily",
    "no further",
    "not certain whether",
    "gram negative",
    "not cause",
    "non contrast",
    "non - contrast",
    "no longer",
    "without contrast",
    "without iv contrast",
    "without intravenous contrast",
    "with and without",
    "no contrast",
    "no iv contrast",
    "no new",
    "no other",
    "no additional",
    "no more",
    "no second",
    "not the only",
    "no interval",
    "no significant interval",
    "without other",
    "non - enhanced",
    "non enhanced",
    "prior to",
)
#: Words that close an uncertainty trigger's scope (it runs through ";" and ":").
CONTRASTS = frozenset(
    {"but", "however", "although", "though", "whereas", "yet", "nevertheless", "except"}
)
#: Words that close a pre-trigger's scope: contrast words, and words that open a new clause.
TERMINATORS = frozenset(
    {
        "but",
        "however",
        "although",
        "though",
        "except",
        "which",
        "whereas",
        "yet",
        ";",
        ":",
        "aside",
        "apart",
        "nevertheless",
        "still",
        "there",
        "is",
        "are",
        "was",
        "were",
        "shows",
        "show",
        "showing",
        "demonstrates",
        "demonstrating",
        "reveals",
        "revealing",
        "now",
        "showed",
        "shown",
        "demonstrated",
        "revealed",
    }
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
    _index(PREFIX_NEGATION, "prefix_neg"),
    _index(PRE_HISTORICAL, "pre_hist"),
    _index(POST_HISTORICAL, "post_unc"),
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
        if kind == "prefix_neg":  # "non" "-"? word: the next word only
            lo = t_end
            hi = lo + (2 if lo < len(words) and words[lo] == "-" else 1)
        elif kind.startswith("pre"):
            # Uncertainty runs to the sentence end through lists of differentials ("may represent
            # a variety of lesions: ischemia; multiple sclerosis"); only a contrast word ends it.
            stops, window = (CONTRASTS, len(words)) if kind == "pre_unc" else (TERMINATORS, WINDOW)
            lo, hi = t_end, t_end
            while hi < len(words) and hi - t_end < window and sent_ids[hi] == sent_ids[t_start]:
                if words[hi] in stops:
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
