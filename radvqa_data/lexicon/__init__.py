"""The radiology lexicon the project ships: one TSV file per entity label.

Each data line is ``norm<TAB>synonyms<TAB>cui<TAB>group[<TAB>regions]``: `synonyms` are
`|`-separated surface forms matched case-insensitively by the entity ruler, `norm` is the form
answers use, `cui` is a UMLS CUI where one was verified against ROCOv2's `cui_mapping.csv`, `group`
is a coarse class (the region of an anatomy term, the catalog modality of a modality term, ...),
and the optional `regions` (comma-separated, findings only) are the body regions where the
finding can exist ("midline shift": head). Lines starting with `#` are comments.

Every surface must keep its norm's meaning: a narrower or neighbouring concept gets its own line.
`nonfinding.tsv` holds phrases that contain a finding word but are no finding ("neck
dissection"): as the longer match they block the shorter one, and the pipeline drops them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent

#: Count words as digits, shared by the caption units and the grounding filter.
NUMBER_WORDS: dict[str, str] = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}

#: file stem -> entity label
LABELS: dict[str, str] = {
    "modality": "MODALITY",
    "sequence": "SEQUENCE",
    "plane": "PLANE",
    "anatomy": "ANATOMY",
    "finding": "FINDING",
    "laterality": "LATERALITY",
    "size": "SIZE",
    "attribute": "ATTRIBUTE",
    "contrast": "CONTRAST",
    "nonfinding": "NONFINDING",
}

#: Labels of lexicon entries that only block shorter matches (never stored as entities).
BLOCKING_LABELS = frozenset({"NONFINDING"})


@dataclass(frozen=True)
class LexiconEntry:
    """One concept of the lexicon."""

    label: str
    norm: str
    synonyms: tuple[str, ...]
    cui: str | None
    group: str | None
    regions: tuple[str, ...] = ()  # body regions where a finding can exist; () = anywhere


@functools.lru_cache(maxsize=1)
def load_lexicon(directory: str | None = None) -> tuple[LexiconEntry, ...]:
    """Read every lexicon file (the shipped ones unless `directory` is given)."""
    root = Path(directory) if directory else LEXICON_DIR
    entries: list[LexiconEntry] = []
    for stem, label in LABELS.items():
        path = root / f"{stem}.tsv"
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) not in (4, 5):
                raise ValueError(
                    f"{path}:{lineno}: expected 4 or 5 tab-separated columns, got {len(parts)}"
                )
            norm, syns, cui, group, regions = (p.strip() for p in [*parts, ""][:5])
            forms = tuple(dict.fromkeys(s.strip() for s in [norm, *syns.split("|")] if s.strip()))
            where = tuple(r.strip() for r in regions.split(",") if r.strip())
            entries.append(LexiconEntry(label, norm, forms, cui or None, group or None, where))
    return tuple(entries)


def ruler_patterns() -> list[dict[str, str]]:
    """Entity-ruler patterns: one phrase pattern per surface form, `id` = label|norm."""
    return [
        {"label": e.label, "pattern": form, "id": f"{e.label}|{e.norm}"}
        for e in load_lexicon()
        for form in e.synonyms
    ]


@functools.lru_cache(maxsize=1)
def by_norm() -> dict[tuple[str, str], LexiconEntry]:
    """(label, norm) -> entry."""
    return {(e.label, e.norm): e for e in load_lexicon()}


@functools.lru_cache(maxsize=1)
def surface_index() -> dict[str, LexiconEntry]:
    """Lower-cased surface form -> entry (first file wins on a clash)."""
    index: dict[str, LexiconEntry] = {}
    for e in load_lexicon():
        for form in e.synonyms:
            index.setdefault(form.lower(), e)
    return index


@functools.lru_cache(maxsize=1)
def _forms_by_norm() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for e in load_lexicon():
        out.setdefault(e.norm.lower(), []).extend(e.synonyms)
    return {k: tuple(v) for k, v in out.items()}


def synonyms_of(norm: str) -> tuple[str, ...]:
    """All surface forms of a normalized term (any label); just `(norm,)` when unknown."""
    return tuple(dict.fromkeys((norm, *_forms_by_norm().get(norm.lower(), ()))))
