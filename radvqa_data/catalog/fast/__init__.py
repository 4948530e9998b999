"""The catalog's speed-up, behind one seam: everything that makes `catalog add` fast but is not
needed to understand what it records.

    pngfast.py     8-bit PNGs decoded with libdeflate + numpy (Pillow stays the reference:
                   `catalog.imageprobe` falls back to it, tests/data/test_pngfast.py compares)
    probe_pool.py  probing many files on the executor's thread pool
                   (`radvqa_data.executor.workerpool`) or on Ray, with a resumable probe cache
    bulk.py        column-wise inserts through a registered view
    signals.py     Ctrl-C held back during a catalog statement, then delivered

Code outside this folder imports these names from `radvqa_data.catalog.fast`, never its
modules (tests may reach inside to check the parts). The names load lazily, so importing the
seam costs nothing until one is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "decode_png": "pngfast",
    "CACHE_DDL": "probe_pool",
    "prefetch": "probe_pool",
    "probe_all": "probe_pool",
    "insert_rows": "bulk",
    "insert_columns": "bulk",
    "BIGINT": "bulk",
    "INTEGER": "bulk",
    "UBIGINT": "bulk",
    "VARCHAR": "bulk",
    "deferred_interrupt": "signals",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
    return getattr(module, name)
