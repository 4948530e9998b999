"""Typed errors. Library code raises these; CLIs print one `Error: ...` line and exit non-zero.

A `RadvqaError` is a user mistake or an unusable input (a file that does not parse, a missing
folder, an unknown option value). Its message must say which file and what was expected, so that
the person can fix it without reading a traceback. Per-item problems (one bad image, one bad
caption) are *not* errors: they are counted and recorded, and the run continues.
"""

from __future__ import annotations


class RadvqaError(Exception):
    """Base class of errors that are shown to the user as one line."""


class InputError(RadvqaError):
    """A top-level input (file, folder, table) is missing or malformed."""


class ConfigError(RadvqaError):
    """A configuration value is invalid or inconsistent."""


class MissingDependencyError(RadvqaError):
    """An optional dependency is not installed; the message names the install command."""


def require(module: str, install: str) -> object:
    """Import an optional dependency or fail with the exact command that installs it.

    `install` is the shell command to show, e.g. ``pip install 'radvqa[serving]'``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"this needs the optional package '{module.split('.')[0]}' ({exc}); "
            f"install it with: {install}"
        ) from exc


class EmptyOutputError(RadvqaError):
    """A step's output would be empty (no image, no row): exits non-zero unless `--allow-empty`.

    The message names why nothing came out and what to pass or add to get rows."""


#: The hint every empty-output error ends with, so scripts learn the flag from the message.
ALLOW_EMPTY_HINT = "pass --allow-empty to accept an empty result"
