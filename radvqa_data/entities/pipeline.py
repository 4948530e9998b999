"""The entity pipeline: spaCy + scispaCy abbreviations + the shipped lexicon + ConText rules.

Components: `abbreviation_detector` then `entity_ruler` (the lexicon). Sentences are split by
the negation rules themselves, only where a finding needs a scope.

By default it runs on `spacy.blank("en")` so that no model download is ever needed; with
`model=NAME` it loads an installed trained pipeline (e.g. `en_core_sci_sm`) and puts the lexicon
ruler before its NER, so lexicon labels win where both match. spaCy and scispaCy are imported
inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.core.pipeline_records import Entity
from radvqa_data.lexicon import BLOCKING_LABELS, ruler_patterns, surface_index

from .context import TRIGGER_FIRST_WORDS, context_flags

#: Labels whose mentions can be negated or uncertain. Anatomy, side and technique words inside a
#: negated phrase ("no dominant prostate mass") locate the absent finding; they are not absent.
CONTEXT_LABELS = frozenset({"FINDING", "ATTRIBUTE", "SIZE", "ENTITY"})


def silence_spacy_warnings() -> None:
    """scispaCy's AbbreviationDetector warns W036 on every doc of a blank pipeline: harmless."""
    warnings.filterwarnings("ignore", message=r".*W036.*")
    warnings.filterwarnings("ignore", message=r".*\[W108\].*")


def build_pipeline(model: str | None = None) -> Any:
    """Return the spaCy `Language` used for entities (blank + lexicon unless `model`)."""
    import spacy
    from scispacy.abbreviation import AbbreviationDetector  # noqa: F401  registers the factory

    silence_spacy_warnings()
    if model:
        try:
            nlp = spacy.load(model, exclude=["parser", "lemmatizer", "tagger"])
        except OSError as exc:
            raise ConfigError(
                f"spaCy model '{model}' is not installed; install its package, or leave out "
                "--model to use the shipped lexicon pipeline"
            ) from exc
    else:
        nlp = spacy.blank("en")
    abbrev = nlp.add_pipe("abbreviation_detector")
    # Its per-doc matcher starts empty and spaCy warns W036 on every doc (warning filters do not
    # survive pytest or worker processes): one pattern that can never match keeps it quiet.
    abbrev.global_matcher.add("__radvqa_never__", [[{"ORTH": "\u0000radvqa\u0000never\u0000"}]])
    where = {"before": "ner"} if "ner" in nlp.pipe_names else {}
    ruler = nlp.add_pipe(
        "entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": False}, **where
    )
    ruler.add_patterns(ruler_patterns())
    return nlp


#: A matched mention before normalization: token start/end, char start/end, label, entity id.
RawMention = tuple[int, int, int, int, str, str]


def doc_entities(
    doc: Any, field: str, text: str | None = None, mentions: list[RawMention] | None = None
) -> list[Entity]:
    """Entities of one processed doc, with normalized form, negation, uncertainty and CUI.

    `text` is the doc's text when the caller has it (spaCy rebuilds `doc.text` from tokens);
    `mentions` are the ruler's selected matches when the caller did not set `doc.ents`
    (see `entities.extract`); by default they are read from `doc.ents`.
    """
    return [Entity(*row) for row in doc_entity_rows(doc, field, text, mentions)]


#: An Entity's fields in declaration order (a plain tuple: what worker processes send back).
EntityRow = tuple[str, int, int, str, str, str, bool, bool, "str | None"]


def doc_entity_rows(
    doc: Any, field: str, text: str | None = None, mentions: list[RawMention] | None = None
) -> list[EntityRow]:
    """`doc_entities` as tuples `Entity(*row)` takes (cheaper to build and to pickle)."""
    index = surface_index()
    text = doc.text if text is None else text  # Doc.text and Span.text rebuild from tokens: slow
    if mentions is None:  # `doc.ents` walks every token: read it once
        mentions = [
            (e.start, e.end, e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents
        ]
    found: list[
        tuple[int, int, int, int, str, str, str | None]
    ] = []  # tok s/e, char s/e, label, norm, cui
    for start, end, start_char, end_char, ent_label, ent_id in mentions:
        surface = text[start_char:end_char].lower()
        if "|" in ent_id:
            label, norm = ent_id.split("|", 1)
        else:
            label, norm = ent_label, surface
        entry = index.get(surface)
        cui = entry.cui if entry is not None and entry.norm == norm else None
        found.append((start, end, start_char, end_char, label, norm, cui))
    # A short form the AbbreviationDetector resolved ("LUL" -> "left upper lobe") takes the
    # lexicon entry of its long form when the ruler did not already tag it. The extension
    # lives in `doc.user_data`: empty there means the detector set nothing (cheap to check).
    abbreviations = getattr(doc._, "abbreviations", []) if doc.user_data else []
    if abbreviations:
        taken = {i for f in found for i in range(f[0], f[1])}
        for short in abbreviations:
            long_form = short._.long_form
            entry = index.get(text[long_form.start_char : long_form.end_char].lower())
            if entry is None or taken.intersection(range(short.start, short.end)):
                continue
            found.append(
                (
                    short.start,
                    short.end,
                    short.start_char,
                    short.end_char,
                    entry.label,
                    entry.norm,
                    entry.cui,
                )
            )
            taken.update(range(short.start, short.end))
    # A blocking phrase ("neck dissection") has done its job by winning over the shorter match.
    found = [f for f in found if f[4] not in BLOCKING_LABELS]
    if not found:
        return []
    found.sort(key=lambda f: f[0])
    flags = None
    if any(f[4] in CONTEXT_LABELS for f in found):
        words_sents = _words_and_sentences(doc)
        if words_sents is not None:  # None: no trigger word, so nothing is negated or uncertain
            flags = context_flags(*words_sents, [(f[0], f[1]) for f in found])
    if flags is None:
        return [
            (field, cs, ce, text[cs:ce], label, norm, False, False, cui)
            for _, _, cs, ce, label, norm, cui in found
        ]
    out = []
    for (_, _, cs, ce, label, norm, cui), (neg, unc) in zip(found, flags, strict=False):
        in_scope = label in CONTEXT_LABELS
        out.append(
            (field, cs, ce, text[cs:ce], label, norm, neg and in_scope, unc and in_scope, cui)
        )
    return out


_SENTENCE_END = frozenset({".", "!", "?"})


def _words_and_sentences(doc: Any) -> tuple[list[str], list[int]] | None:
    """Lower-cased tokens and sentence numbers (a sentence ends after ".", "!" or "?"), or None
    when no token can start a negation/uncertainty trigger (most captions: then no flags).

    Only the negation scope needs sentences, and only in docs with a finding: splitting here is
    cheaper than a sentencizer over every doc. Read as an array (iterating Tokens is slow).
    """
    from spacy.attrs import LOWER

    lowers = doc.to_array(LOWER).tolist()
    if _trigger_hashes().isdisjoint(lowers):
        return None
    strings = doc.vocab.strings
    words = [strings[h] for h in lowers]
    sent_ids, n = [], 0
    for w in words:
        sent_ids.append(n)
        if w in _SENTENCE_END:
            n += 1
    return words, sent_ids


@functools.lru_cache(maxsize=1)
def _trigger_hashes() -> frozenset[int]:
    """spaCy's hashes (the LOWER attribute's values) of the words that can start a trigger."""
    from spacy.strings import hash_string

    return frozenset(hash_string(w) for w in TRIGGER_FIRST_WORDS)
