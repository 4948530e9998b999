"""Probe many image files on the probe thread pool, reusing earlier probes of unchanged files.

Resume: every probe is committed to `catalog_probe_cache` in batches (one INSERT per batch is
atomic), keyed by path with the file's size and mtime. A rerun after an interrupt skips files
whose size and mtime are unchanged, so finished work is not redone.

Overlap: `prefetch` submits a source's image files (listed cheaply before its metadata is
parsed) to the pool in a background thread; `probe_all` later collects those results and probes
whatever else the reader named.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from radvqa_data.catalog.bulk import BIGINT, INTEGER, UBIGINT, VARCHAR, insert_rows
from radvqa_data.catalog.imageprobe import PROBE_VERSION, Probe
from radvqa_data.catalog.signals import deferred_interrupt
from radvqa_data.catalog.workerpool import close_pool, default_workers, get_pool

CACHE_DDL = """
CREATE TABLE IF NOT EXISTS catalog_probe_cache (
    path      VARCHAR PRIMARY KEY,
    size      BIGINT,
    mtime_ns  BIGINT,
    status    VARCHAR,
    error     VARCHAR,
    sha256    VARCHAR,
    phash     UBIGINT,
    width     INTEGER,
    height    INTEGER,
    format    VARCHAR,
    version   INTEGER
);
"""

CHUNK = 8  # files per task: few futures to track, small enough to balance the threads
BATCH = 128  # probes per committed cache batch (an interrupt loses at most this many)
POOL_MIN = 48  # below this many files a pool costs more than it saves


def _cached(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, Probe]:
    """Cached probes of `paths` whose file size and mtime are unchanged."""
    if not paths:
        return {}
    rows = con.execute(
        "SELECT path, size, mtime_ns, status, error, sha256, phash, width, height, format "
        "FROM catalog_probe_cache WHERE version = ? AND path IN (SELECT unnest(?::VARCHAR[]))",
        [PROBE_VERSION, paths],
    ).fetchall()
    out: dict[str, Probe] = {}
    for row in rows:
        probe = Probe(*row)
        try:
            st = os.stat(probe.path)
        except OSError:
            continue
        if st.st_size == probe.size and st.st_mtime_ns == probe.mtime_ns:
            out[probe.path] = probe
    return out


CACHE_COLUMNS = [
    ("path", VARCHAR), ("size", BIGINT), ("mtime_ns", BIGINT), ("status", VARCHAR), ("error", VARCHAR),
    ("sha256", VARCHAR), ("phash", UBIGINT), ("width", INTEGER), ("height", INTEGER), ("format", VARCHAR),
    ("version", INTEGER),
]  # fmt: skip


def _commit(con: duckdb.DuckDBPyConnection, batch: list[Probe]) -> None:
    """Write a batch of probes in one statement (atomic: all of the batch or none)."""
    rows = [{**p._asdict(), "version": PROBE_VERSION} for p in batch if p.status != "missing"]
    with deferred_interrupt():
        insert_rows(con, "catalog_probe_cache", rows, CACHE_COLUMNS, replace=True)


def _submit(paths: list[str], workers: int) -> Iterator[Probe]:
    """Probe `paths` (any order out): in-process for few files, else on the shared pool.

    With the pool, all chunks are queued at once and the threads start on them immediately.
    """
    from radvqa_data.catalog.imageprobe import probe_chunk, probe_file

    if workers <= 1 or len(paths) < POOL_MIN:
        return (probe_file(p) for p in paths)
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    results = get_pool(workers).imap_unordered(probe_chunk, chunks)
    return itertools.chain.from_iterable(results)


@dataclass
class Prefetch:
    """Probes started before the catalog is opened for writing (see `prefetch`)."""

    cached: dict[str, Probe] = field(default_factory=dict)
    submitted: set[str] = field(default_factory=set)
    results: Iterator[Probe] = field(default_factory=lambda: iter(()))
    thread: threading.Thread | None = None
    error: BaseException | None = None  # raised in the background thread, re-raised by `wait`
    #: Set once the read-only look at the cache is over (or failed): the catalog may be opened for writing.
    cache_closed: threading.Event = field(default_factory=threading.Event)

    def wait_cache_closed(self) -> None:
        """Block until the background thread no longer holds the catalog open read-only.

        Why not `wait`: after that look the thread still imports the decoders and starts the
        pool (~0.1 s); the caller can open the catalog and write the source's texts meanwhile.
        """
        self.cache_closed.wait()
        if self.error is not None:
            self.wait()  # the thread failed: join it and re-raise here

    def wait(self) -> None:
        """Block until the submission is done; re-raise its error here, in the caller's thread."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def cancel(self) -> None:
        """Wait for the submitting thread (through further Ctrl-C), then drop the queued work.

        Why wait: the thread may still be creating the pool or queueing chunks; closing the pool
        before it is done would leave chunks queued that nobody drops.
        """
        while self.thread is not None:
            try:
                self.thread.join()
                self.thread = None
            except KeyboardInterrupt:
                continue
        close_pool()


def prefetch(catalog: Path, paths: Iterable[Path], workers: int | None) -> Prefetch | None:
    """Start probing `paths` in the background (cache lookup read-only, then submit); None if too few."""
    workers = workers or default_workers()
    unique = sorted({str(p) for p in paths})
    if workers <= 1 or len(unique) < POOL_MIN:
        return None
    pre = Prefetch()

    def run() -> None:
        try:
            submit()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by `wait`
            pre.error = exc
        finally:
            pre.cache_closed.set()  # on every path, so `wait_cache_closed` never hangs

    def submit() -> None:
        if catalog.exists():
            try:
                con = duckdb.connect(str(catalog), read_only=True)
            except duckdb.Error:  # locked by a writer, or not a catalog: the main path reports it
                con = None
            if con is not None:
                try:
                    pre.cached = _cached(con, unique)
                except duckdb.Error:  # no cache table yet
                    pass
                finally:
                    con.close()
        pre.cache_closed.set()
        todo = [p for p in unique if p not in pre.cached]
        pre.submitted = set(todo)
        pre.results = _submit(todo, workers)

    pre.thread = threading.Thread(target=run, daemon=True)
    pre.thread.start()
    return pre


def probe_all(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    pre: Prefetch | None = None,
) -> tuple[dict[str, Probe], int]:
    """Probe every file in `paths`; returns (path -> probe, number reused from the cache)."""
    with deferred_interrupt():
        con.execute(CACHE_DDL)
    workers = workers or default_workers()
    wanted = sorted({str(p) for p in paths})
    pre = pre or Prefetch()
    try:
        pre.wait()
    except BaseException:
        pre.cancel()
        raise
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
        for probe in itertools.chain(pre.results, _submit(todo, workers)):
            done[probe.path] = probe
            batch.append(probe)
            if on_done and probe.path in wanted_set:
                on_done(1)
            if len(batch) >= BATCH:
                _commit(con, batch)
                batch = []
    except KeyboardInterrupt:
        _commit(con, batch)  # Ctrl-C: keep the whole probes finished so far for the rerun
        close_pool()
        raise
    except BaseException:
        close_pool()  # do not leave queued work behind for the next caller
        raise
    _commit(con, batch)
    return done, reused
