"""Which side of a leak is the "training" side: split priorities shared by the checks and --fix."""

from __future__ import annotations

import polars as pl

_PRIORITY = {"test": 3, "validation": 2, "val": 2, "valid": 2, "dev": 2, "quarantine": -1, "train": 0}


def priority(split: str | None) -> int:
    """Higher = more protected. Evaluation splits outrank training; unknown names sit between."""
    if split is None:
        return 0
    return _PRIORITY.get(str(split).lower(), 1)


def priority_expr(split: pl.Expr) -> pl.Expr:
    """`priority` as a Polars expression (no Python call per row)."""
    known = split.str.to_lowercase().replace_strict(_PRIORITY, default=1, return_dtype=pl.Int64)
    return pl.when(split.is_null()).then(pl.lit(0, dtype=pl.Int64)).otherwise(known)
