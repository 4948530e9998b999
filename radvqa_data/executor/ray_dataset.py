"""A Ray Data map of one function over a list of items, results streamed back as they finish.

Used for synth: each item is a shard plan, and a shard is the unit the filters and the yes/no
balancer see whole, so one item is one task (or one actor call). Items and results travel as
pickled bytes in one binary column: a shard's records and rows are nested, optional-heavy
Python objects that Arrow would have to guess a schema for.

Without `actors`, each item is a short Ray task (workers are pooled and reused: cheap). With
`actors=n`, n long-lived workers each hold their own copy of the function, built once: an LLM
backend's client or model (`num_gpus` each: one vLLM engine replica per GPU). A dead worker is
retried or its actor restarted, `RETRIES` times, then the run stops with a `WorkerLostError`.
"""

from __future__ import annotations

import functools
import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from radvqa_data.executor.ray_runtime import RETRIES, WorkerLostError


def _apply(batch: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    payload = [
        pickle.dumps(fn(pickle.loads(p)), protocol=pickle.HIGHEST_PROTOCOL)
        for p in batch["payload"]
    ]
    return {"i": batch["i"], "payload": payload}


class _Holder:
    """The actor class: keeps one deserialized copy of the function for all its calls."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        return _apply(batch, self.fn)


def run_dataset(
    ray: Any,
    fn: Callable[[Any], Any],
    items: list[Any],
    *,
    actors: int | None = None,
    num_gpus: float = 0,
) -> Iterator[Any]:
    """`fn(item)` for every item on a Ray Data map; yields results in completion order."""
    if not items:
        return iter(())
    rows = [
        {"i": i, "payload": pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)}
        for i, item in enumerate(items)
    ]
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))  # one item per block: per task
    if actors:
        with warnings.catch_warnings():
            # Ray Data restarts actors forever by default, so one that always crashes would hang
            # the run. 2.60 deprecates every way to say otherwise (removal in 2.64) and offers no
            # replacement yet: keep this one, quietly (docs/library-notes-scale.md).
            warnings.filterwarnings("ignore", message=".*ray_remote_args_fn.*deprecated")
            ds = ds.map_batches(
                _Holder,
                fn_constructor_kwargs={"fn": fn},
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=max(1, min(actors, len(items)))),
                num_gpus=num_gpus or None,
                ray_remote_args_fn=functools.partial(
                    dict, max_restarts=RETRIES, max_task_retries=RETRIES
                ),
            )
    else:  # Ray's own default for tasks: 3 retries of a task whose worker died
        ds = ds.map_batches(_apply, fn_kwargs={"fn": fn}, batch_size=1)
    return _stream(ray, ds)


def _stream(ray: Any, ds: Any) -> Iterator[Any]:
    from ray import exceptions as rx

    try:
        for row in ds.iter_rows():
            yield pickle.loads(row["payload"])
    except rx.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        raise (cause if isinstance(cause, BaseException) else exc) from None
    except (rx.WorkerCrashedError, rx.NodeDiedError, rx.ObjectLostError, rx.ActorDiedError) as exc:
        raise WorkerLostError(
            f"a Ray worker died on every one of {RETRIES + 1} attempts at a shard "
            f"({type(exc).__name__}); finished shards are kept: rerun the same command to continue"
        ) from None
