"""What a question asks about: its lexicon terms, numbers and negation (entity-aware paraphrases).

Two questions about one image can differ in one word and still be near-identical as text:
"Is the edema large or small?" / "Is the mass large or small?" score 90 with rapidfuzz, yet ask
about different findings. A paraphrase pair must therefore also *agree on its terms*: every
finding, anatomy, side, attribute, size, modality, sequence, plane and contrast term (the shipped
lexicon, read through `radvqa_data.lexicon`, so a lexicon change applies here at once), every
number and every negation word of one question must be in the other, as the same concept (a
synonym counts: "lesion" and "mass" are both `mass`), with its words in another order or split
("Is the heart size normal?" / "Is the heart a normal size?"; "white or gray matter"), or as a
misspelling of one of its surface forms ("lesoin" for "lesion": a typo is what near-duplicate
detection is for).

Matching follows the entity ruler (`entities.pipeline`): lower-cased surface forms on word
boundaries, longest match first, then leftmost, no overlaps; here on the audit's normalized text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from radvqa_data.audit.normalize import normalize_text

#: words that turn a question into its opposite ("Is there no mass?"); single-word negation
#: triggers of the entity rules' ConText set, plus the contracted "n't" that normalization
#: leaves as a bare "t"
NEGATIONS = frozenset(
    {
        "no",
        "not",
        "without",
        "absent",
        "absence",
        "negative",
        "never",
        "neither",
        "nor",
        "none",
        "t",
    }
)
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
#: a misspelled surface form still counts when rapidfuzz's ratio with it reaches this
TYPO_SCORE = 80.0


@dataclass(frozen=True)
class Terms:
    """A question's terms, as (label, norm) pairs, and the words no term covers."""

    terms: frozenset[tuple[str, str]]
    rest: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _surfaces() -> tuple[
    dict[tuple[str, ...], tuple[str, str]], dict[tuple[str, str], tuple[str, ...]], int
]:
    """Normalized surface (as words) -> (label, norm); (label, norm) -> its normalized surfaces."""
    from radvqa_data.lexicon import surface_index

    index: dict[tuple[str, ...], tuple[str, str]] = {}
    forms: dict[tuple[str, str], list[str]] = {}
    for surface, entry in surface_index().items():
        words = tuple(normalize_text(surface).split())
        if not words:
            continue
        key = (entry.label, entry.norm)
        index.setdefault(words, key)
        forms.setdefault(key, []).append(" ".join(words))
    longest = max((len(w) for w in index), default=1)
    return index, {k: tuple(dict.fromkeys(v)) for k, v in forms.items()}, longest


@functools.lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    return frozenset(w[0] for w in _surfaces()[0])


@functools.lru_cache(maxsize=65536)
def question_terms(text: str, normalized: bool = False) -> Terms:
    """Terms of one question (`normalized`: `text` is `normalize_text`'s output already)."""
    index, _, longest = _surfaces()
    firsts = _first_words()
    words = (text if normalized else normalize_text(text)).split()
    found = []
    for i in range(len(words)):
        if words[i] not in firsts:
            continue
        for n in range(1, min(longest, len(words) - i) + 1):
            key = index.get(tuple(words[i : i + n]))
            if key is not None:
                found.append((n, i, key))
    taken: set[int] = set()
    terms: set[tuple[str, str]] = set()
    for n, i, key in sorted(found, key=lambda f: (-f[0], f[1])):
        if taken.isdisjoint(range(i, i + n)):
            taken.update(range(i, i + n))
            terms.add(key)
    rest = []
    for i, w in enumerate(words):
        if i in taken:
            continue
        if _DIGIT.search(w):  # the digits decide: "5cm" and "5" say the same, "3x2" and "32" do not
            terms.add(("NUMBER", " ".join(_DIGITS.findall(w))))
        elif w in NEGATIONS:
            terms.add(("NEGATION", "not"))
        else:
            rest.append(w)
    return Terms(frozenset(terms), tuple(rest))


def _present_in(term: tuple[str, str], other: Terms, words: frozenset[str]) -> bool:
    """True when the other question has `term` after all, in a form the matcher does not see:
    every word of one of its surface forms occurs in the other question (word order changed,
    "white or gray matter" for "white matter", "size normal" for "normal size", a surface
    inside a longer one), or some run of the other's unmatched words is a misspelling of one."""
    from rapidfuzz import fuzz

    if term[0] in ("NUMBER", "NEGATION"):
        return False  # "3" vs "5" or a dropped "no" is a different question, not a typo
    for form in _surfaces()[1].get(term, (term[1].lower(),)):
        fw = form.split()
        if all(w in words for w in fw):
            return True
        for i in range(len(other.rest) - len(fw) + 1):
            run = " ".join(other.rest[i : i + len(fw)])
            if max(fuzz.ratio(form, run), fuzz.token_sort_ratio(form, run)) >= TYPO_SCORE:
                return True
    return False


def same_terms(a: str, b: str, normalized: bool = False) -> bool:
    """True when two questions ask about the same things (see the module docstring)."""
    ta, tb = question_terms(a, normalized), question_terms(b, normalized)
    if ta.terms == tb.terms:
        return True
    if not normalized:
        a, b = normalize_text(a), normalize_text(b)
    wa, wb = frozenset(a.split()), frozenset(b.split())
    return all(_present_in(t, tb, wb) for t in ta.terms - tb.terms) and all(
        _present_in(t, ta, wa) for t in tb.terms - ta.terms
    )
