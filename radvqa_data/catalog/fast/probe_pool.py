"""Probe many image files on the probe thread pool, reusing earlier probes of unchanged files.

Resume: every probe is committed to `catalog_probe_cache` in batches (one INSERT per batch is
atomic), keyed by path with the file's size and mtime. A rerun after an interrupt skips files
whose size and mtime are unchanged, so finished work is not redone.

Overlap: `prefetch` queues a source's image files (listed cheaply before its metadata is
parsed) on the pool; `probe_all` later collects those results and probes whatever else the
reader named.

Executors: the chunks run on the probe threads (`--executor local`) or as Ray tasks
(`--executor ray`, `REMOTE_CHUNK` files each); the cache, its commits and the resume logic are
the same for both, and only this process writes the catalog.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from radvqa_data.catalog.fast.bulk import insert_rows
from radvqa_data.catalog.fast.signals import deferred_interrupt
from radvqa_data.catalog.imageprobe import PROBE_VERSION, Probe
from radvqa_data.core.catalog_schema import tables_ddl, write_columns
from radvqa_data.executor import Executor, make_executor
from radvqa_data.executor.workerpool import close_pool, default_workers

#: The cache table's DDL (declared in `core.catalog_schema`, as every catalog table).
CACHE_DDL = tables_ddl("catalog_probe_cache")

CHUNK = 8  # files per task: few futures to track, small enough to balance the threads
REMOTE_CHUNK = 32  # files per Ray task: ~100 ms of decoding against ~2 ms of task overhead
BATCH = 128  # probes per committed cache batch (an interrupt loses at most this many)
POOL_MIN = 48  # below this many files a pool costs more than it saves


def _cached(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, Probe]:
    """Cached probes of `paths` whose file size and mtime are unchanged."""
    if not paths:
        return {}
    rows = con.execute(
        "SELECT image_path, size, mtime_ns, status, error, sha256, phash, width, height, format "
        "FROM catalog_probe_cache WHERE version = ? "
        "AND image_path IN (SELECT unnest(?::VARCHAR[]))",
        [PROBE_VERSION, paths],
    ).fetchall()
    out: dict[str, Probe] = {}
    for row in rows:
        probe = Probe(*row)
        try:
            st = os.stat(probe.image_path)
        except OSError:
            continue
        if st.st_size == probe.size and st.st_mtime_ns == probe.mtime_ns:
            out[probe.image_path] = probe
    return out


CACHE_COLUMNS = write_columns("catalog_probe_cache")


def _commit(con: duckdb.DuckDBPyConnection, batch: list[Probe]) -> None:
    """Write a batch of probes in one statement (atomic: all of the batch or none)."""
    rows = [{**p._asdict(), "version": PROBE_VERSION} for p in batch if p.status != "missing"]
    with deferred_interrupt():
        insert_rows(con, "catalog_probe_cache", rows, CACHE_COLUMNS, replace=True)


def _submit(
    paths: list[str],
    workers: int,
    chunk_fn: Callable[[list[str]], list[Probe]] | None = None,
    executor: Executor | None = None,
) -> Iterator[Probe]:
    """Probe `paths` (any order out): in-process for few files, else on the executor.

    Locally, all chunks are queued at once and the threads start on them immediately; on Ray,
    the first chunks are submitted now and the rest as results come back.
    """
    from radvqa_data.catalog.imageprobe import probe_chunk, probe_file_or_record

    if executor is not None and executor.remote:
        chunks = [paths[i : i + REMOTE_CHUNK] for i in range(0, len(paths), REMOTE_CHUNK)]
        return itertools.chain.from_iterable(executor.map(probe_chunk, chunks))
    if workers <= 1 or len(paths) < POOL_MIN:
        return (probe_file_or_record(p) for p in paths)
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    executor = executor or make_executor("local", local="threads", workers=workers)
    return itertools.chain.from_iterable(executor.map(chunk_fn or probe_chunk, chunks))


def _close(executor: Executor | None) -> None:
    """Drop queued probes (the shared threads, or the Ray tasks still in flight)."""
    if executor is not None:
        executor.close()
    else:
        close_pool()


@dataclass
class Prefetch:
    """Probes queued on the pool before the source's metadata is parsed (see `prefetch`)."""

    submitted: set[str] = field(default_factory=set)
    #: Probes of unchanged files found in the catalog's cache. Replaced whole by `use_cache`,
    #: never changed in place, so the probe threads can read it without a lock.
    cached: dict[str, Probe] = field(default_factory=dict)
    results: Iterator[Probe] = field(default_factory=lambda: iter(()))
    executor: Executor | None = None

    def probe_chunk(self, paths: list[str]) -> list[Probe]:
        """Probe a chunk of files on a pool thread, skipping those the cache lookup found.

        The chunks are queued before the lookup ends, so the first ones may still probe a
        cached file: the same result again, and a few milliseconds that were idle anyway.
        """
        from radvqa_data.catalog.imageprobe import probe_chunk

        cached = self.cached
        return probe_chunk([p for p in paths if p not in cached])

    def use_cache(self, con: duckdb.DuckDBPyConnection) -> None:
        """Look the queued files up in the probe cache of `con` (an existing catalog, resume)."""
        with deferred_interrupt():
            con.execute(CACHE_DDL)
            self.cached = _cached(con, sorted(self.submitted))

    def cancel(self) -> None:
        """Drop the queued work (a source that failed to parse, or Ctrl-C)."""
        if self.submitted:
            _close(self.executor)


def prefetch(
    paths: Iterable[Path],
    workers: int | None,
    executor: Executor | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Prefetch | None:
    """Queue `paths` on the probe pool (or the Ray executor) now; None if too few to bother.

    Starting the pool imports the decoders (numpy, Pillow: ~0.2 s, once per process) in the
    calling thread before anything is parsed. Why first: imports and JSON parsing both hold the
    GIL, so interleaving them only delays the first probe; once the pool runs, decoding (which
    releases the GIL) overlaps the parsing. For an existing catalog, call `use_cache` next: the
    threads already decode while it opens the catalog and looks the files up.

    A remote executor's tasks cannot see a lookup made after they were queued, so there the
    cache of `con` (an existing catalog) is looked up first and only the other files are queued.
    """
    workers = workers or default_workers()
    unique = sorted({str(p) for p in paths})
    remote = executor is not None and executor.remote
    if not unique or (not remote and (workers <= 1 or len(unique) < POOL_MIN)):
        return None
    pre = Prefetch(submitted=set(unique), executor=executor)
    if remote:
        if con is not None:
            pre.use_cache(con)
        todo = [p for p in unique if p not in pre.cached]
        pre.results = _submit(todo, workers, executor=executor)
    else:
        pre.results = _submit(unique, workers, pre.probe_chunk, executor)
    return pre


def probe_all(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    pre: Prefetch | None = None,
    executor: Executor | None = None,
) -> tuple[dict[str, Probe], int]:
    """Probe every file in `paths`; returns (path -> probe, number reused from the cache)."""
    with deferred_interrupt():
        con.execute(CACHE_DDL)
    workers = workers or default_workers()
    wanted = sorted({str(p) for p in paths})
    pre = pre or Prefetch()
    done = {p: pre.cached[p] for p in wanted if p in pre.cached}
    rest = [p for p in wanted if p not in done and p not in pre.submitted]
    with deferred_interrupt():
        done.update(_cached(con, rest))
    reused = len(done)
    if on_done and reused:
        on_done(reused)
    todo = [p for p in rest if p not in done]
    wanted_set = set(wanted)
    batch: list[Probe] = []
    try:
        for probe in itertools.chain(pre.results, _submit(todo, workers, executor=executor)):
            counted = probe.image_path in done  # a cached file probed before the cache lookup ended
            done[probe.image_path] = probe
            batch.append(probe)
            if on_done and not counted and probe.image_path in wanted_set:
                on_done(1)
            if len(batch) >= BATCH:
                _commit(con, batch)
                batch = []
    except KeyboardInterrupt:
        _commit(con, batch)  # Ctrl-C: keep the whole probes finished so far for the rerun
        _close(executor)
        raise
    except BaseException:
        _close(executor)  # do not leave queued work behind for the next caller
        raise
    _commit(con, batch)
    return done, reused
