"""Run the entity pipeline over many texts: batched `nlp.pipe`, optionally in worker processes.

Locally, workers are forked after the pipeline is built in the parent, so each starts in
milliseconds with the lexicon already compiled; on Ray, each worker process builds the pipeline
once (`process_rows_remote`) and keeps it for every later chunk. Either way a worker returns
plain tuples (no Doc objects cross processes). Identical texts (ROCO repeats many captions)
are processed once per batch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from radvqa_data.core.pipeline_records import Entity
from radvqa_data.executor import Executor, make_executor
from radvqa_data.lexicon import surface_index

from .pipeline import EntityRow, RawMention, build_pipeline, doc_entity_rows, silence_spacy_warnings

#: (key, field, text): key is any picklable id of the text's owner (e.g. (source, image_id)).
TextItem = tuple[Any, str, str]

_NLP: Any = None  # the pipeline of this process (set in the parent before forking)


def _ruler_mentions(doc: Any, ruler: Any) -> list[RawMention]:
    """The mentions `EntityRuler.__call__` would set as `doc.ents`, without its overhead.

    The stock component recounts all its patterns on every doc (`len(self)`, ~180 dict values
    here), builds Token and Span objects, and sets `doc.ents`; the phrase matching itself is a
    tenth of its time. Same matches, same selection (longest first, then leftmost; no overlap);
    char offsets come from the tokens. Only valid for a blank doc (no prior entities) and
    a ruler with phrase patterns only; `_pipe` checks that.
    """
    found = {(m_id, start, end) for m_id, start, end in ruler.phrase_matcher(doc) if start != end}
    if not found:
        return []
    strings = doc.vocab.strings
    mentions: list[RawMention] = []
    seen: set[int] = set()
    for m_id, start, end in sorted(found, key=lambda m: (m[2] - m[1], -m[1]), reverse=True):
        if start in seen or end - 1 in seen:
            continue
        label, ent_id = ruler._ent_ids[m_id] if m_id in ruler._ent_ids else (strings[m_id], "")
        last = doc[end - 1]  # a few Token objects cost less than a `to_array` (numpy) per doc
        mentions.append((start, end, doc[start].idx, last.idx + len(last), label, ent_id))
        seen.update(range(start, end))
    mentions.sort()
    return mentions


@functools.lru_cache(maxsize=1)
def _surfaces() -> tuple[frozenset[str], tuple[int, ...], int] | None:
    """The lexicon's lower-cased surfaces, their lengths and the longest; None if a surface
    ends in whitespace (`_may_define` relies on it not doing so)."""
    keys = frozenset(surface_index())
    if not keys or any(k != k.rstrip() for k in keys):
        return None
    return keys, tuple(sorted({len(k) for k in keys})), max(map(len, keys))


def _may_define(text: str) -> bool:
    """False only where scispaCy's AbbreviationDetector cannot change `doc_entities`' result.

    The detector's long forms end right before a "(" token ("left upper lobe (LUL)") or a ")"
    token ("LUL (left upper lobe)"), and `doc_entities` uses an abbreviation only when
    `text[long.start_char:long.end_char].lower()` is a lexicon surface. A surface ends in a
    non-space character, so that long form is a suffix of the text before the parenthesis with
    the whitespace stripped: if no parenthesis has a surface there, skipping the detector gives
    the same entities. `str.lower` never shortens a string, so in a non-ASCII text every suffix
    up to the longest surface's length is tried (in an ASCII one, only the surfaces' lengths).
    """
    if "(" not in text:  # the detector's matcher needs "(" ... ")"
        return False
    surfaces = _surfaces()
    if surfaces is None:
        return True
    keys, lengths, longest = surfaces
    if text.isascii():  # lower() maps char to char: lower once, compare slices
        low = text.lower()
        for paren in "()":
            i = low.find(paren)
            while i != -1:
                before = low[:i].rstrip()
                if any(before[-n:] in keys for n in lengths):
                    return True
                i = low.find(paren, i + 1)
        return False
    for paren in "()":
        i = text.find(paren)
        while i != -1:
            before = text[:i].rstrip()
            if any(before[-n:].lower() in keys for n in range(1, longest + 1)):
                return True
            i = text.find(paren, i + 1)
    return False


def _pipe(
    texts: list[str], disable: list[str], batch_size: int
) -> Iterator[tuple[Any, list[RawMention] | None]]:
    """(doc, mentions) per text; mentions None means "read doc.ents" (the stock path)."""
    ruler = _NLP.get_pipe("entity_ruler") if "entity_ruler" in _NLP.pipe_names else None
    lean = (
        ruler is not None
        and _NLP.pipe_names[-1]
        == "entity_ruler"  # nothing after it (e.g. a trained NER) reads doc.ents
        and len(ruler.matcher) == 0  # phrase patterns only
        and not ruler.overwrite
        and not any(
            _NLP.get_pipe(n).__class__.__name__ in ("EntityRecognizer", "SpanRuler")
            for n in _NLP.pipe_names
        )
    )
    if not lean:
        with _NLP.select_pipes(disable=disable):
            for doc in _NLP.pipe(texts, batch_size=batch_size):
                yield doc, None
        return
    with _NLP.select_pipes(disable=[*disable, "entity_ruler"]):
        for doc in _NLP.pipe(texts, batch_size=batch_size):
            yield doc, _ruler_mentions(doc, ruler)


def _process_rows(
    chunk: Sequence[TextItem], batch_size: int = 256
) -> list[tuple[Any, str, list[EntityRow]]]:
    """(key, field, entity rows) per item; each distinct (text, field) is processed once."""
    silence_spacy_warnings()
    unique = list(dict.fromkeys(text for _, _, text in chunk))
    # The AbbreviationDetector's output only changes the entities where a long form is a lexicon
    # surface (`doc_entities`): run it only on texts where that is possible (`_may_define`).
    with_paren, without = [], []
    for t in unique:
        (with_paren if _may_define(t) else without).append(t)
    docs = dict(zip(with_paren, _pipe(with_paren, [], batch_size), strict=True))
    skip = [name for name in ("abbreviation_detector",) if name in _NLP.pipe_names]
    docs.update(zip(without, _pipe(without, skip, batch_size), strict=True))
    rows: dict[tuple[str, str], list[EntityRow]] = {}
    out = []
    for key, field, text in chunk:
        found = rows.get((text, field))
        if found is None:
            doc, mentions = docs[text]
            found = rows[(text, field)] = doc_entity_rows(doc, field, text, mentions)
        out.append((key, field, found))
    return out


_BUILT: dict[str | None, Any] = {}  # model -> pipeline, in a Ray worker process (built once)


def process_rows_remote(
    chunk: Sequence[TextItem], model: str | None, batch_size: int = 256
) -> list[tuple[Any, str, list[EntityRow]]]:
    """`_process_rows` in a Ray worker: builds `model`'s pipeline on first use, then keeps it."""
    global _NLP
    if model not in _BUILT:
        _BUILT[model] = build_pipeline(model)
    _NLP = _BUILT[model]
    return _process_rows(chunk, batch_size)


def _chunks(items: Iterable[TextItem], size: int) -> Iterator[list[TextItem]]:
    chunk: list[TextItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def extract_entities(
    items: Iterable[TextItem],
    *,
    model: str | None = None,
    n_process: int = 2,
    batch_size: int = 256,
    chunk_size: int = 256,
    nlp: Any = None,
    executor: Executor | None = None,
) -> Iterator[tuple[Any, str, list[Entity]]]:
    """Yield (key, field, entities) for every item, in input order.

    Locally (`executor` None or local), `n_process` > 1 forks that many workers (on platforms
    without fork it falls back to one process); a remote executor (Ray) runs the chunks as its
    tasks, each worker building the pipeline of `model` once (`nlp` is not shipped). Higher
    `chunk_size`: fewer round trips, more memory per worker, and a longer wait at the end for
    the last chunk while the other workers are idle (256 captions: ~0.1 s).
    """
    global _NLP
    chunks = _chunks(items, chunk_size)
    if executor is not None and executor.remote:
        fn = functools.partial(process_rows_remote, model=model, batch_size=batch_size)
    else:
        _NLP = nlp if nlp is not None else build_pipeline(model)
        fn = functools.partial(_process_rows, batch_size=batch_size)
        executor = executor or make_executor("local", local="fork", workers=n_process)
    for result in executor.map(fn, chunks, ordered=True):
        for key, field, rows in result:
            yield key, field, [Entity(*row) for row in rows]
