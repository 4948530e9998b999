"""The process pool that decodes images, shared by every `add_source` call of a process.

Why processes: decoding is the bottleneck (about 260 PNGs/s per core here) and the GIL
serialises it in threads. Workers come from a `forkserver` (not `fork`: the parent may hold
DuckDB or torch threads, and forking a threaded process can deadlock), preloaded with PIL and
numpy so each worker starts warm. Why shared: a session that adds several sources (the
demo, the tests, a notebook) pays the start-up (~0.3-1 s of imports) once; multiprocessing's
finalizers terminate it at interpreter exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

PRELOAD = ["radvqa_data.catalog.imageprobe", "PIL.Image", "PIL.PngImagePlugin", "PIL.JpegImagePlugin", "numpy"]
_POOL: dict[str, Any] = {}  # {"pool": multiprocessing Pool, "workers": n}
_LOCK = threading.Lock()


def default_workers() -> int:
    """Processes to decode with: the CPUs this process may use, at most 8 (memory ~100 MB each)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def get_pool(workers: int) -> Any:
    """The shared pool of `workers` processes (started on first use)."""
    import multiprocessing as mp
    from multiprocessing import resource_tracker

    from radvqa_data.catalog.imageprobe import worker_init

    with _LOCK:
        if _POOL.get("workers") == workers:
            return _POOL["pool"]
        _close_locked()
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        # SIGINT stays blocked while the server and workers start: a blocked mask is inherited
        # through fork and exec, so a Ctrl-C during their imports cannot kill them mid-way with a
        # traceback (forkserver ignores SIGINT only after its preload). The parent gets the
        # Ctrl-C. The resource tracker starts first because its start unblocks SIGINT.
        resource_tracker.ensure_running()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            with _without_main_module():
                _POOL.update(pool=ctx.Pool(workers, initializer=worker_init), workers=workers)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return _POOL["pool"]


def _close_locked() -> None:
    pool = _POOL.pop("pool", None)
    _POOL.pop("workers", None)
    if pool is not None:
        pool.terminate()
        pool.join()


def close_pool() -> None:
    """Terminate the shared pool, dropping queued work (it is recreated on demand)."""
    with _LOCK:
        _close_locked()


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
