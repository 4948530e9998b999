"""The audit's one record type: a finding, with its two sides, method and score.

`audit.json` is ``{"findings": [...], "counts": {KIND: n}}``; each finding is
``{"kind", "a": {"source", "split", "image_id", "row_id", "text", "splits"}, "b": {...}, "method",
"score"}``; `splits` lists the splits an image serves when `split` is null because it serves
several (VQA-RAD). Image ids are the catalog's (the source's own names).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

#: Every kind of finding, in report order.
KINDS: Final = (
    "qa_duplicate",
    "qa_near_duplicate",
    "qa_boilerplate",
    "image_same_picture",
    "benchmark_image",
    "benchmark_question",
    "caption_duplicate",
    "group_leak",
)

#: Kinds that mean evaluation data leaked into training (`--fail-on leakage`). Within-split
#: duplicates are redundancy, not leakage, so only cross-split findings of the duplicate
#: kinds count.
LEAKAGE_KINDS: Final = ("benchmark_image", "benchmark_question", "group_leak")

#: Kinds that are noise in the data, never leakage, whatever splits their rows are in.
NOISE_KINDS: Final = ("qa_boilerplate",)


@dataclass(frozen=True)
class Side:
    """One side of a finding: which row / image / text it is."""

    source: str | None
    split: str | None
    image_id: str | None
    row_id: str | None = None
    text: str | None = None
    #: every split the image serves when `split` is None because it serves several (a VQA-RAD
    #: image carries train and test questions); None otherwise
    splits: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        """`source:split` for a person: `vqa-rad:train+test` for an image in both splits."""
        split = self.split or ("+".join(self.splits) if self.splits else "-")
        return f"{self.source}:{split}"


@dataclass(frozen=True)
class Finding:
    """Two things that should not both be there, how we know, and how sure we are (0..1)."""

    kind: str
    a: Side
    b: Side
    method: str
    score: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cross_split(self) -> bool:
        """True when the two sides are in different splits (or different sources)."""
        return (self.a.source, self.a.split) != (self.b.source, self.b.split)

    @property
    def is_leak(self) -> bool:
        """True for findings that put evaluation data next to training data."""
        if self.kind in NOISE_KINDS:
            return False
        return self.kind in LEAKAGE_KINDS or self.cross_split

    def to_dict(self) -> dict[str, Any]:
        """The `audit.json` record, exactly the documented keys (details go to report.html)."""
        return {
            "kind": self.kind,
            "a": asdict(self.a),
            "b": asdict(self.b),
            "method": self.method,
            "score": round(float(self.score), 4),
        }


def count_by_kind(findings: list[Finding]) -> dict[str, int]:
    """Counts per kind, every kind present (0 when none)."""
    counts = dict.fromkeys(KINDS, 0)
    for f in findings:
        counts[f.kind] += 1
    return counts


def parse_fail_on(spec: str | None) -> set[str]:
    """`--fail-on leakage` or `--fail-on KIND,KIND`: the kinds that make the audit exit non-zero.

    `leakage` means the leakage kinds plus cross-split findings of the other kinds (the caller
    checks `Finding.is_leak`); it is returned as the pseudo-kind "leakage".
    """
    from radvqa_data.core.errors import ConfigError

    if not spec:
        return set()
    kinds = {k.strip() for k in spec.split(",") if k.strip()}
    unknown = kinds - set(KINDS) - {"leakage", "any"}
    if unknown:
        raise ConfigError(
            f"--fail-on: unknown kind(s) {', '.join(sorted(unknown))}; "
            f"expected 'leakage', 'any' or any of {', '.join(KINDS)}"
        )
    return kinds


def failing(findings: list[Finding], fail_on: set[str]) -> list[Finding]:
    """The findings that trip `--fail-on`."""
    out = []
    for f in findings:
        if "any" in fail_on or f.kind in fail_on or ("leakage" in fail_on and f.is_leak):
            out.append(f)
    return out
