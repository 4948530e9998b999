"""The one progress bar of the project: a label, a bar, a count, a rate, an optional note.

Every long loop (catalog probing, entities, synth, export, audit phases, training steps,
evaluation, judging, saliency) shows the same columns on stderr, so that stdout stays the
command's result. `enabled=False` shows nothing and costs nothing: rich is imported only when a
bar is shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Advance(Protocol):
    """Moves a bar by `n` units; `label` renames it, `note` replaces its free-text column."""

    def __call__(
        self, n: float = 1, *, label: str | None = None, note: str | None = None
    ) -> None: ...


def _noop(n: float = 1, *, label: str | None = None, note: str | None = None) -> None:
    return None


def _display(unit: str, elapsed: bool = False, rate: bool = True) -> Any:
    """A rich `Progress` with the shared columns, on stderr (never wrapped off a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from radvqa_data.core.console import logs

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:  # type: ignore[override]
            speed = task.finished_speed or task.speed
            if speed is None or not rate:
                return Text("")
            u = task.fields.get("unit", unit)
            # LLM runs make a few images per second or fewer: whole numbers would read "0 images/s"
            return Text(f"{speed:,.0f} {u}/s" if speed >= 10 else f"{speed:.2f} {u}/s")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("[dim]{task.fields[note]}"),
        TimeElapsedColumn() if elapsed else TimeRemainingColumn(),
        console=logs(),
        transient=False,
    )


def _advancer(display: Any, task: Any) -> Advance:
    def advance(n: float = 1, *, label: str | None = None, note: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if label is not None:
            extra["description"] = label
        if note is not None:
            extra["note"] = note
        display.update(task, advance=n, **extra)

    return advance


@contextlib.contextmanager
def progress_bar(
    label: str,
    total: int | None,
    unit: str = "items",
    enabled: bool = True,
    *,
    start: int = 0,
    rate: bool = True,
) -> Iterator[Advance]:
    """Show `label` with a bar, a count and a rate in `unit`/s; yields `advance(n)`.

    `start`: units already done (a resumed run). `enabled=False` shows nothing. `rate=False`:
    no rate column, for a step whose summary states the run's one rate on another basis (the
    bar's rate is a moving window, which disagrees with a whole-run figure).
    """
    if not enabled:
        yield _noop
        return
    display = _display(unit, rate=rate)
    with display:
        yield _advancer(display, display.add_task(label, total=total, completed=start, note=""))


class Phases:
    """One display with a bar per phase (the audit's checks), or nothing when disabled."""

    def __init__(self, enabled: bool, unit: str = "items") -> None:
        self.display = _display(unit, elapsed=True) if enabled else None
        self.unit = unit

    def __enter__(self) -> Phases:
        if self.display is not None:
            self.display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.__exit__(*exc)  # type: ignore[arg-type]

    def task(self, name: str, total: int | None = None) -> Advance:
        """A bar for one phase; returns the function that advances it."""
        if self.display is None:
            return _noop
        return _advancer(self.display, self.display.add_task(name, total=total, note=""))

    def factory(self, prefix: str) -> Callable[[str, int | None], Advance]:
        """A task factory whose bars are named '<prefix>: <phase>'."""
        return lambda name, total: self.task(f"{prefix}: {name}", total)
