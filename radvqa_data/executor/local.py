"""The local executor: each step's measured-fastest way to use one machine's cores.

- `threads`: the shared thread pool (`workerpool.py`): image probing
  releases the GIL, so threads keep every core busy with no process to start (why: see there).
- `fork`: a pool of forked processes, for pure-Python work (spaCy). The step builds its state
  (the pipeline) in the parent first, so each child starts in milliseconds with it in memory;
  `gc.freeze` keeps those objects out of the children's GC, so fewer pages are copied.
- `inline`: in the calling thread, one batch at a time (synth: its shards are written in order).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from radvqa_data.core.errors import ConfigError

#: How a local executor runs batches: in the calling thread, on the shared probe threads (work
#: that releases the GIL), or in forked worker processes (pure-Python work such as spaCy).
LOCAL_MODES = ("inline", "threads", "fork")

B = TypeVar("B")
R = TypeVar("R")


class LocalExecutor:
    """Runs batch functions on this machine (see the module docstring for the modes)."""

    name = "local"
    remote = False

    def __init__(self, mode: str = "inline", workers: int | None = None) -> None:
        if mode not in LOCAL_MODES:
            raise ConfigError(
                f"local executor mode '{mode}': expected one of {', '.join(LOCAL_MODES)}"
            )
        self.mode = mode
        self.workers = workers

    def map(
        self, fn: Callable[[B], R], batches: Iterable[B], *, ordered: bool = False
    ) -> Iterator[R]:
        """`fn(batch)` per batch: threads queue every batch now; fork and inline run lazily."""
        if self.mode == "threads":
            from radvqa_data.executor.workerpool import default_workers, get_pool

            pool = get_pool(self.workers or default_workers())
            return pool.imap(fn, batches) if ordered else pool.imap_unordered(fn, batches)
        if self.mode == "fork":
            return _forked(fn, batches, self.workers or 2)
        return map(fn, batches)

    def map_dataset(
        self,
        fn: Callable[[B], R],
        items: list[B],
        *,
        actors: int | None = None,
        num_gpus: float = 0,
    ) -> Iterator[R]:
        """`fn(item)` per item, in order, in the calling thread (`actors` is a Ray notion)."""
        return map(fn, items)

    def close(self) -> None:
        """Drop the probe threads' queued work (forked pools end with their iterator)."""
        if self.mode == "threads":
            from radvqa_data.executor.workerpool import close_pool

            close_pool()


def one_native_thread() -> None:
    """Limit this process's native thread pools (OpenBLAS, OpenMP) to one thread: a forked
    worker shares the cores with its siblings, one per core, and a second BLAS thread in each
    only spins. Measured on the audit's pixel verification (`np.linalg.norm` of 64K-pixel
    arrays is a threaded BLAS call): 8.6 ms CPU per pair for 5.5 ms wall with OpenBLAS's 2
    threads, 5.5 ms CPU for the same wall with 1 (docs/audit.md, "Eighth round")."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _forked(fn: Callable[[B], R], batches: Iterable[B], workers: int) -> Iterator[R]:
    """Results of `fn` over `batches` from forked workers, in input order; each worker keeps its
    native libraries to one thread (`one_native_thread`).

    Falls back to the calling process for one worker or where fork is unavailable.
    """
    workers = max(1, min(workers, os.cpu_count() or 1))
    if workers == 1 or "fork" not in mp.get_all_start_methods():
        yield from map(fn, batches)
        return
    ctx = mp.get_context("fork")
    gc.freeze()  # keep the parent's objects out of the children's GC: fewer copy-on-write pages
    try:
        with ctx.Pool(workers, initializer=one_native_thread) as pool:
            yield from pool.imap(fn, batches)
            # Let the workers exit on their own: leaving the block would SIGTERM them, and in
            # a process that joined Ray they inherit its handler, which prints a stack dump.
            pool.close()
            pool.join()
    finally:
        gc.unfreeze()
