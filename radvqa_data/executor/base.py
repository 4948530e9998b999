"""The executor seam: one small protocol, a local and a Ray implementation, and how to pick one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from radvqa_data.core.errors import ConfigError

B = TypeVar("B")
R = TypeVar("R")

#: The values of `--executor`.
EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs a step's batch function over its batches.

    A batch function is a plain, picklable callable (a module-level function, a
    `functools.partial` of one, or a small dataclass with `__call__`): under Ray it runs in other
    processes, on other machines, so it reads only its argument and the files it names, and
    returns plain data. It must not raise for one bad item: it records the item with a reason
    (`item_error`) and goes on, so one bad record never stops a run.
    """

    name: str  # local | ray
    remote: bool  # True: batches run in other processes (pickled in and out, nothing shared)

    def map(
        self, fn: Callable[[B], R], batches: Iterable[B], *, ordered: bool = False
    ) -> Iterator[R]:
        """`fn(batch)` for every batch; results as they finish, or in input order if `ordered`.

        The first batches are queued when `map` is called, before a result is asked for, so the
        caller can do other work (parse metadata) meanwhile. A worker that dies is retried.
        """
        ...

    def map_dataset(
        self,
        fn: Callable[[B], R],
        items: list[B],
        *,
        actors: int | None = None,
        num_gpus: float = 0,
    ) -> Iterator[R]:
        """`fn(item)` for every item, as a Ray Data map under Ray; results as they finish.

        `actors`: run on that many long-lived workers that each keep their copy of `fn` (an LLM
        client, a model on `num_gpus` GPUs) instead of one short task per item.
        """
        ...

    def close(self) -> None:
        """Drop queued work and wait for the running batches (Ctrl-C, a failed step)."""
        ...


def make_executor(
    kind: str = "local",
    *,
    address: str | None = None,
    local: str = "inline",
    workers: int | None = None,
) -> Executor:
    """The executor for `--executor KIND` (`--ray-address ADDRESS` for Ray).

    `local` and `workers` say how the step runs on one machine (see `local.LOCAL_MODES`); a Ray
    executor connects to the cluster at `address`, or starts a local Ray instance sized to the
    machine (reusing the one this process already joined).
    """
    check_executor(kind, address)
    if kind == "local":
        from radvqa_data.executor.local import LocalExecutor

        return LocalExecutor(local, workers)
    from radvqa_data.executor.ray_tasks import RayExecutor

    return RayExecutor(address)


def check_executor(kind: str, address: str | None = None) -> None:
    """A `ConfigError` for an unknown executor, or a Ray address given without Ray."""
    if kind not in EXECUTORS:
        raise ConfigError(f"--executor {kind}: unknown executor (expected: {', '.join(EXECUTORS)})")
    if kind == "local" and address:
        raise ConfigError("--ray-address needs --executor ray")


def item_error(exc: BaseException, limit: int = 300) -> str:
    """`TypeName: message` of an exception, cut to `limit` characters: the recorded reason."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
