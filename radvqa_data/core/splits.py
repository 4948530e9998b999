"""Split names, in one place: the canonical three, the spellings sources use, and which split
outranks which.

Sources name their splits `dev`, `val`, `valid`, `validate` or `validation`; the catalog stores
`validation` for all of them (`normalize_split`). A case with images in several splits goes to
the most held-out one (`SPLIT_PRECEDENCE`), and the audit keeps the more protected side of a
leak (`priority`). `audit --fix-mode move` parks condemned rows in `QUARANTINE`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import polars as pl

TRAIN: Final = "train"
VALIDATION: Final = "validation"
TEST: Final = "test"
#: `audit --fix-mode move` puts condemned rows here; export leaves them out.
QUARANTINE: Final = "quarantine"

#: Spellings of the validation split in the wild -> the catalog's name.
ALIASES: Final = {"dev": VALIDATION, "val": VALIDATION, "valid": VALIDATION, "validate": VALIDATION}

#: The splits in order of precedence when one case has images in several: the case goes to the
#: most held-out split, so test images never share a case with training images.
SPLIT_PRECEDENCE: Final = (TEST, VALIDATION, TRAIN)

#: Higher = more protected. Evaluation splits outrank training; unknown names sit between (1).
_PRIORITY: Final = {TEST: 3, VALIDATION: 2, **{a: 2 for a in ALIASES}, QUARANTINE: -1, TRAIN: 0}


def normalize_split(raw: str | None) -> str | None:
    """Normalize a split name: dev/val/valid/validate -> validation; blank -> None."""
    if raw is None:
        return None
    text = str(raw).strip().lower()
    return ALIASES.get(text, text or None)


def priority(split: str | None) -> int:
    """Higher = more protected. Evaluation splits outrank training; unknown names sit between."""
    if split is None:
        return 0
    return _PRIORITY.get(str(split).lower(), 1)


def priority_expr(split: pl.Expr) -> pl.Expr:
    """`priority` as a Polars expression (no Python call per row)."""
    import polars as pl

    known = split.str.to_lowercase().replace_strict(_PRIORITY, default=1, return_dtype=pl.Int64)
    return pl.when(split.is_null()).then(pl.lit(0, dtype=pl.Int64)).otherwise(known)
