"""A rich progress bar with a rate column (a context manager yielding `advance(n)`), and the
per-image progress of a shard."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def progress_bar(label: str, total: int | None, unit: str, enabled: bool = True) -> Iterator[Callable[[float], None]]:
    """Show `label` with a bar, a count and a rate in `unit`/s; `enabled=False` shows nothing."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:  # type: ignore[override]
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("")
            # LLM runs make a few images per second or fewer: whole numbers would read "0 images/s"
            return Text(f"{speed:,.0f} {unit}/s" if speed >= 10 else f"{speed:.2f} {unit}/s")

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeRemainingColumn(), transient=False)
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


class ShardProgress:
    """Moves the bar within a shard, then tops it up to the shard's image count.

    Called with a number of images finished (a fraction too: an LLM generator reports each
    finished request as part of an image). `finish` adds what was not reported, so the bar ends
    each shard at the same place whatever the generator reported.
    """

    def __init__(self, advance: Callable[[float], None]) -> None:
        self.advance = advance
        self.reported = 0.0  # in the current shard

    def __call__(self, n: float) -> None:
        if n > 0:
            self.reported += n
            self.advance(n)

    def finish(self, n_images: int) -> None:
        """The shard is written: advance to its end."""
        rest = n_images - self.reported
        if rest > 1e-9:
            self.advance(rest)
        self.reported = 0.0


def counted(records: Iterable[T], tick: Callable[[float], None]) -> Iterator[T]:
    """Yield `records`, ticking one image when the consumer asks for the next one.

    A generator that handles one record at a time (rules) has then finished the previous one.
    """
    for record in records:
        yield record
        tick(1)
