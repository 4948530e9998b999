"""`radvqa-data entities`: extract entities for every catalogued text not yet processed."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from radvqa_data.core.db import connect
from radvqa_data.core.progress import progress_bar
from radvqa_data.reader.catalog import pending_texts

from .extract import extract_entities
from .store import ensure_entity_tables, link_source_cuis, pipeline_id, write_batch

WRITE_EVERY = 2048  # texts per transaction: higher = fewer commits, more lost on Ctrl-C


@dataclass
class EntitySummary:
    """What one `entities` run did."""

    pipeline: str
    texts_processed: int = 0
    texts_skipped: int = 0  # already processed by this pipeline
    mentions: int = 0
    by_label: Counter = field(default_factory=Counter)
    negated: int = 0
    uncertain: int = 0
    cuis_linked: int = 0
    seconds: float = 0.0


def run_entities(
    catalog: str | Path,
    *,
    model: str | None = None,
    n_process: int = 2,
    batch_size: int = 256,
    sources: list[str] | None = None,
    fields: list[str] | None = None,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
) -> EntitySummary:
    """Process the catalog's new or changed texts and store their entities (incremental).

    `fields` limits the run to some text fields (e.g. ["caption"]: what the rules backend reads);
    None processes every field. `executor`: `local` (forked processes) or `ray` (Ray tasks of
    256 texts on the cluster at `ray_address`); only this process writes the catalog, as texts
    come back in order, so an interrupted run keeps every batch written and the rerun skips it.
    """
    from radvqa_data.executor.base import check_executor, make_executor

    check_executor(executor, ray_address)  # a typo fails now, even when nothing is left to do
    t0 = time.perf_counter()
    pid = pipeline_id(model)
    summary = EntitySummary(pid)
    with connect(catalog) as con:
        ensure_entity_tables(con)
        total, items = pending_texts(con, pid, sources, fields)
        summary.texts_skipped = con.execute(
            "SELECT count(*) FROM entity_texts WHERE pipeline = ?", [pid]
        ).fetchall()[0][0]
        if total == 0:  # nothing new: do not pay for building the pipeline
            summary.seconds = time.perf_counter() - t0
            return summary
        ex = make_executor(executor, address=ray_address, local="fork", workers=n_process)
        md5: dict[tuple[str, str, str], str] = {}

        def tracked():
            for key, fld, text in items:
                md5[(*key, fld)] = hashlib.md5(text.encode("utf-8")).hexdigest()
                yield key, fld, text

        from .pipeline import build_pipeline

        # Before the bar: a missing --model fails with one line. On Ray the workers build their
        # own pipelines, so here only a named model is loaded, to check it is installed.
        nlp = build_pipeline(model) if model or not ex.remote else None
        batch: list = []
        with progress_bar("entities", total, "texts", progress) as advance:
            for result in extract_entities(
                tracked(),
                model=model,
                nlp=nlp,
                n_process=n_process,
                batch_size=batch_size,
                executor=ex,
            ):
                batch.append(result)
                if len(batch) >= WRITE_EVERY:
                    _flush(con, batch, pid, md5, summary)
                    advance(len(batch))
                    batch = []
            if batch:
                _flush(con, batch, pid, md5, summary)
                advance(len(batch))
        summary.cuis_linked = link_source_cuis(con)
    summary.seconds = time.perf_counter() - t0
    return summary


def _flush(con, batch, pid, md5, summary: EntitySummary) -> None:
    summary.mentions += write_batch(con, batch, pid, md5)
    summary.texts_processed += len(batch)
    for key, fld, ents in batch:
        md5.pop((*key, fld), None)
        for e in ents:
            summary.by_label[e.label] += 1
            summary.negated += e.negated
            summary.uncertain += e.uncertain
