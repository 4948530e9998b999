"""What a source reader hands to the ingester: image records, QA rows, CUI names, issues.

Readers (`radvqa_data.catalog.sources.*`) only parse the publisher's files; they never touch
the catalog or decode images. The ingester probes the image files and writes everything for
one source in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SourceImage:
    """One image record of a source, before its file is probed."""

    image_id: str  # the source's own name (MPX1009_synpic46283, synpic46720.jpg, ROCO_00001)
    image_path: Path | None  # file to probe; None when the source ships no file for it
    split: str | None = None
    case_id: str | None = None
    modality: str | None = None
    modality_raw: str | None = None
    plane: str | None = None
    plane_raw: str | None = None
    organ: str | None = None
    organ_raw: str | None = None
    laterality: str | None = None
    licence: str | None = None
    age: str | None = None
    sex: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # field -> text (caption, findings, ...)
    concepts: list[tuple[str, str | None, str]] = field(
        default_factory=list
    )  # (cui, semtype, origin)
    # A reader that already knows the file is unusable (an unreadable DICOM) sets these.
    status: str | None = None
    error: str | None = None


@dataclass
class Issue:
    """A per-item problem: recorded in `ingest_issues`, counted, and the run continues."""

    item: str
    reason: (
        str  # short machine-readable reason: corrupt_image, bad_record, non_english_caption, ...
    )
    detail: str = ""


@dataclass
class SourceData:
    """Everything a reader found in one source folder."""

    images: list[SourceImage] = field(default_factory=list)
    qa: list[dict[str, Any]] = field(default_factory=list)  # benchmark_qa rows (without `source`)
    cui_names: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    meta: dict[str, Any] = field(
        default_factory=dict
    )  # files read, options: stored in sources.meta
