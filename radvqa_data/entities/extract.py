"""Run the entity pipeline over many texts: batched `nlp.pipe`, optionally in worker processes.

Workers are forked after the pipeline is built in the parent, so each starts in milliseconds
with the lexicon already compiled; each returns plain tuples (no Doc objects cross processes).
Identical texts (ROCO repeats many captions) are processed once per batch.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from radvqa_data.synth.types import Entity

from .pipeline import build_pipeline, doc_entities, silence_spacy_warnings

#: (key, field, text): key is any picklable id of the text's owner (e.g. (source, image_id)).
TextItem = tuple[Any, str, str]

_NLP: Any = None  # the pipeline of this process (set in the parent before forking)


def _process_chunk(chunk: Sequence[TextItem], batch_size: int = 256) -> list[tuple[Any, str, list[Entity]]]:
    silence_spacy_warnings()
    unique = list(dict.fromkeys(text for _, _, text in chunk))
    # scispaCy's AbbreviationDetector only defines short forms written "long form (SF)": a text
    # without "(" cannot have one, so skipping the detector there gives the same entities
    # (two thirds of ROCO captions; the detector is about 40% of the pipeline's time).
    with_paren = [t for t in unique if "(" in t]
    without = [t for t in unique if "(" not in t]
    docs = dict(zip(with_paren, _NLP.pipe(with_paren, batch_size=batch_size), strict=False))
    skip = [name for name in ("abbreviation_detector",) if name in _NLP.pipe_names]
    with _NLP.select_pipes(disable=skip):
        docs.update(zip(without, _NLP.pipe(without, batch_size=batch_size), strict=False))
    return [(key, field, doc_entities(docs[text], field, text)) for key, field, text in chunk]


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
    chunk_size: int = 1024,
    nlp: Any = None,
) -> Iterator[tuple[Any, str, list[Entity]]]:
    """Yield (key, field, entities) for every item, in input order.

    `n_process` > 1 forks that many workers (on platforms without fork it falls back to one
    process); higher `chunk_size`: fewer round trips, more memory per worker.
    """
    global _NLP
    _NLP = nlp if nlp is not None else build_pipeline(model)
    chunks = _chunks(items, chunk_size)
    n_process = max(1, min(n_process, os.cpu_count() or 1))
    if n_process == 1 or "fork" not in mp.get_all_start_methods():
        for chunk in chunks:
            yield from _process_chunk(chunk, batch_size)
        return
    ctx = mp.get_context("fork")
    with ctx.Pool(n_process) as pool:
        for result in pool.imap(functools.partial(_process_chunk, batch_size=batch_size), chunks):
            yield from result
