"""The per-image progress of a shard (the bar itself: `radvqa_data.core.progress`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


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
