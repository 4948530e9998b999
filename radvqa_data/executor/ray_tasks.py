"""The Ray executor: batches as Ray tasks (`map`), synth shards as a Ray Data map (`map_dataset`).

`map` streams: at most `window` batches are in flight, the next one is submitted as a result
comes back, so the driver holds a few batches, not the whole input, and results are written as
they arrive (the step's resume point). Why tasks and not Ray Data here: a task costs ~1.5 ms
on this 2-core machine once the workers are up, a Ray Data execution 0.7 s warm (5-7 s while
its workers start), and probing or spaCy batches need none of its operators.

Faults: a task whose worker process dies is retried by Ray (`RETRIES` times); when it keeps
dying, the step stops with a `WorkerLostError` and everything already written is kept, so the
rerun continues. An exception raised by a batch function is a bug (they record bad items
themselves) and is raised again here with its original type.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from radvqa_data.executor.ray_runtime import RETRIES, WorkerLostError, cluster_cpus, ensure_ray

B = TypeVar("B")
R = TypeVar("R")


def _call(fn: Callable[[Any], Any], batch: Any) -> Any:
    """The Ray task: `fn(batch)` in a worker (`fn` comes once through the object store)."""
    return fn(batch)


class RayExecutor:
    """Runs batch functions on a Ray cluster (see the module docstring)."""

    name = "ray"
    remote = True

    def __init__(self, address: str | None = None, *, window: int | None = None) -> None:
        self.ray = ensure_ray(address)
        self.cpus = cluster_cpus(self.ray)
        #: batches in flight: enough to keep every CPU busy while results travel back
        self.window = window or 2 * self.cpus + 2
        self._task = self.ray.remote(max_retries=RETRIES, retry_exceptions=False)(_call)
        self._pending: set[Any] = set()  # refs of every map of this executor, for `close`

    def map(
        self, fn: Callable[[B], R], batches: Iterable[B], *, ordered: bool = False
    ) -> Iterator[R]:
        """`fn(batch)` per batch on Ray tasks; the first `window` batches are submitted now."""
        fn_ref = self.ray.put(fn)
        it = iter(batches)
        queue: collections.deque[Any] = collections.deque()
        for batch in it:
            queue.append(self._submit(fn_ref, batch))
            if len(queue) >= self.window:
                break
        return self._results(fn_ref, it, queue, ordered)

    def _submit(self, fn_ref: Any, batch: Any) -> Any:
        ref = self._task.remote(fn_ref, batch)
        self._pending.add(ref)
        return ref

    def _results(
        self, fn_ref: Any, it: Iterator[Any], queue: collections.deque, ordered: bool
    ) -> Iterator[Any]:
        ray = self.ray
        try:
            while queue:
                if ordered:
                    ref = queue.popleft()
                else:
                    ready, _ = ray.wait(list(queue), num_returns=1)
                    ref = ready[0]
                    queue.remove(ref)
                result = self._get(ref)
                self._pending.discard(ref)
                nxt = next(it, _END)
                if nxt is not _END:
                    queue.append(self._submit(fn_ref, nxt))
                yield result
        finally:
            if queue:  # the consumer stopped early (Ctrl-C, an error): drop the rest
                self._cancel(list(queue))

    def _get(self, ref: Any) -> Any:
        from ray.exceptions import RayTaskError

        try:
            return self.ray.get(ref)
        except RayTaskError as exc:  # the batch function raised: raise what it raised
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, BaseException) else exc) from None
        except self._lost_errors() as exc:
            raise WorkerLostError(
                f"a Ray worker died on every one of {RETRIES + 1} attempts at a batch "
                f"({type(exc).__name__}); finished work is kept: rerun the same command to "
                "continue, and see the worker logs under /tmp/ray/session_latest/logs"
            ) from None

    @staticmethod
    def _lost_errors() -> tuple[type[BaseException], ...]:
        from ray import exceptions as rx

        return (rx.WorkerCrashedError, rx.NodeDiedError, rx.ObjectLostError, rx.ActorDiedError)

    def map_dataset(
        self,
        fn: Callable[[B], R],
        items: list[B],
        *,
        actors: int | None = None,
        num_gpus: float = 0,
    ) -> Iterator[R]:
        """`fn(item)` per item as a Ray Data `map_batches` (one item per task or actor call)."""
        from radvqa_data.executor.ray_dataset import run_dataset

        return run_dataset(self.ray, fn, items, actors=actors, num_gpus=num_gpus)

    def _cancel(self, refs: list[Any]) -> None:
        for ref in refs:
            try:
                self.ray.cancel(ref)
            except Exception:  # a task that just finished cannot be cancelled
                pass
            self._pending.discard(ref)

    def close(self) -> None:
        """Cancel every batch still queued or running (the cluster itself stays up)."""
        self._cancel(list(self._pending))


_END = object()
