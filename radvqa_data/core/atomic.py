"""Atomic file writes: write to a temporary name in the same folder, then rename.

A reader (or a rerun after Ctrl-C) sees either the old file or the whole new one, never a
half-written file. Every output of the project that a later step reads goes through here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    On an exception (including KeyboardInterrupt) the temporary file is removed and `path`
    is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_parquet(path: str | os.PathLike[str], table: Any) -> None:
    """Write a Polars DataFrame or a pyarrow Table to Parquet (zstd) atomically."""
    with atomic_path(path) as tmp:
        if hasattr(table, "write_parquet"):
            table.write_parquet(tmp, compression="zstd")
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp, compression="zstd")


def _umask() -> int:
    """The process umask (reading it requires setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
