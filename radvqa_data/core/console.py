"""The consoles every command prints through: results on stdout, progress and logs on stderr.

The rule, for every command of `radvqa-data`, `radvqa-train` and `radvqa-diag`: what the
command produced (summary tables, the one-line result, `--json`) goes to stdout; progress bars,
warnings and notes about what a step did not do go to stderr. So `cmd > summary.txt` keeps the
result and `cmd 2> log` the log.

Off a terminal (a pipe, a file, CI) rich would wrap lines at 80 columns, or at `COLUMNS`, and
squeeze table cells with an ellipsis: a path cut across two lines cannot be pasted. There, a
console gets a width no line reaches, so nothing wraps or is cut; on a terminal rich's own
width (the window) is kept.
"""

from __future__ import annotations

from typing import Any

#: The width of a console that is not a terminal: wider than any line we print.
UNBOUNDED = 100_000


def console(*, stderr: bool = False, **kwargs: Any) -> Any:
    """A rich Console on stdout (results) or stderr (progress, logs) that never wraps or cuts
    when it does not write to a terminal."""
    from rich.console import Console

    con = Console(stderr=stderr, **kwargs)
    if con.is_terminal:
        return con
    return Console(stderr=stderr, width=UNBOUNDED, soft_wrap=True, **kwargs)


def results() -> Any:
    """The console for a command's result (stdout)."""
    return console(highlight=False)


def logs() -> Any:
    """The console for progress, warnings and notes (stderr)."""
    return console(stderr=True, highlight=False)
