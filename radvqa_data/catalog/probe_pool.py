"""Probe many image files on several cores, reusing earlier probes of unchanged files.

Why a process pool: decoding is the bottleneck (about 260 PNGs/s per core here) and the GIL
serialises it in threads. Workers come from a `forkserver` (not `fork`: the parent may hold
DuckDB or torch threads, and forking a threaded process can deadlock), preloaded with PIL and
imagehash so each worker starts warm. Work goes out in chunks to keep pickling overhead small.

Resume: every probe is committed to `catalog_probe_cache` in batches (one INSERT per batch is
atomic), keyed by path with the file's size and mtime. A rerun after an interrupt skips files
whose size and mtime are unchanged, so finished work is not redone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from radvqa_data.catalog.imageprobe import PROBE_VERSION, Probe

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

CHUNK = 8  # files per task: large enough to amortise pickling, small enough to balance 2 workers
BATCH = 128  # probes per committed cache batch (an interrupt loses at most this many)
POOL_MIN = 48  # below this many files a pool costs more than it saves


def _cached(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, Probe]:
    """Cached probes of `paths` whose file size and mtime are unchanged."""
    if not paths:
        return {}
    con.register("_want", pa.table({"path": paths}))
    try:
        rows = con.execute(
            "SELECT c.path, c.size, c.mtime_ns, c.status, c.error, c.sha256, c.phash, c.width, c.height, c.format "
            "FROM catalog_probe_cache c JOIN _want w USING (path) WHERE c.version = ?",
            [PROBE_VERSION],
        ).fetchall()
    finally:
        con.unregister("_want")
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


def _commit(con: duckdb.DuckDBPyConnection, batch: list[Probe]) -> None:
    """Write a batch of probes in one statement (atomic: all of the batch or none)."""
    rows = [p for p in batch if p.status != "missing"]
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "path": pa.array(cols[0], pa.string()),
            "size": pa.array(cols[1], pa.int64()),
            "mtime_ns": pa.array(cols[2], pa.int64()),
            "status": pa.array(cols[3], pa.string()),
            "error": pa.array(cols[4], pa.string()),
            "sha256": pa.array(cols[5], pa.string()),
            "phash": pa.array(cols[6], pa.uint64()),
            "width": pa.array(cols[7], pa.int32()),
            "height": pa.array(cols[8], pa.int32()),
            "format": pa.array(cols[9], pa.string()),
            "version": pa.array([PROBE_VERSION] * len(rows), pa.int32()),
        }
    )
    con.register("_batch", table)
    try:
        con.execute("INSERT OR REPLACE INTO catalog_probe_cache SELECT * FROM _batch")
    finally:
        con.unregister("_batch")


PRELOAD = ["radvqa_data.catalog.imageprobe", "PIL.Image", "PIL.PngImagePlugin", "PIL.JpegImagePlugin", "imagehash", "scipy.fftpack"]
_POOL: dict[str, Any] = {}  # {"pool": multiprocessing Pool, "workers": n}: reused across add_source calls
_POOL_LOCK = threading.Lock()


def default_workers() -> int:
    """Processes to decode with: the CPUs this process may use, at most 8 (memory ~100 MB each)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def get_pool(workers: int) -> Any:
    """The shared worker pool (started once per process; a start costs ~0.3-1 s of imports).

    Why shared: a session that adds several sources (the demo, the tests, a notebook) pays the
    start-up once. The pool is terminated at interpreter exit by multiprocessing's finalizers.
    """
    import multiprocessing as mp

    from radvqa_data.catalog.imageprobe import worker_init

    with _POOL_LOCK:
        if _POOL.get("workers") == workers:
            return _POOL["pool"]
        close_pool()
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        with _without_main_module():
            _POOL.update(pool=ctx.Pool(workers, initializer=worker_init), workers=workers)
        return _POOL["pool"]


def close_pool() -> None:
    """Terminate the shared pool (it is recreated on demand)."""
    pool = _POOL.pop("pool", None)
    _POOL.pop("workers", None)
    if pool is not None:
        pool.terminate()
        pool.join()


def _warm(workers: int) -> None:
    get_pool(workers)
    # DuckDB imports pandas on its first Arrow scan (~0.3-0.8 s); pay it while the reader parses.
    try:
        import pandas  # noqa: F401
    except ImportError:  # pragma: no cover - pandas is optional for DuckDB
        pass


def prestart(workers: int | None) -> threading.Thread | None:
    """Start the pool in the background (while the caller parses the source's metadata)."""
    workers = workers or default_workers()
    if workers <= 1:
        return None
    thread = threading.Thread(target=_warm, args=(workers,), daemon=True)
    thread.start()
    return thread


def _run(paths: list[str], workers: int) -> Iterator[Probe]:
    """Probe `paths` (any order out), in-process for few files, else on the shared pool."""
    from radvqa_data.catalog.imageprobe import probe_chunk, probe_file

    if workers <= 1 or len(paths) < POOL_MIN:
        for p in paths:
            yield probe_file(p)
        return
    pool = get_pool(workers)
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    try:
        for result in pool.imap_unordered(probe_chunk, chunks):
            yield from result
    except BaseException:
        close_pool()  # do not leave queued work behind for the next caller
        raise


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """Hide `__main__` while workers start, so they do not re-run the caller's script.

    forkserver/spawn workers normally re-import the main script (as ``__mp_main__``); a user
    script that calls `add_source` without an ``if __name__ == "__main__"`` guard would then
    run again in every worker. The workers only need `imageprobe`, which they import by name.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def probe_all(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    *,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> tuple[dict[str, Probe], int]:
    """Probe every file in `paths` (deduplicated); returns (path -> probe, number reused from cache)."""
    con.execute(CACHE_DDL)
    unique = sorted({str(p) for p in paths})
    done = _cached(con, unique)
    reused = len(done)
    if on_done and reused:
        on_done(reused)
    todo = [p for p in unique if p not in done]
    workers = workers if workers is not None else default_workers()
    batch: list[Probe] = []
    try:
        for probe in _run(todo, workers):
            done[probe.path] = probe
            batch.append(probe)
            if on_done:
                on_done(1)
            if len(batch) >= BATCH:
                _commit(con, batch)
                batch = []
    except KeyboardInterrupt:
        _commit(con, batch)  # Ctrl-C: keep the whole probes finished so far for the rerun
        raise
    _commit(con, batch)
    return done, reused
