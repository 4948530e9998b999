"""The audit's findings grouped by check for a reader: benchmark leakage first, each group with
the QA rows `--fix` would take out and the command that does it.

The same groups go into `audit.json` (`groups`) and `report.html`, so the page and the file
never disagree. "Affected QA rows" are exactly the rows `radvqa_data.audit.fix.rows_to_remove`
condemns for that check's findings (a row condemned by two checks counts in both groups, once in
the total).
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from radvqa_data.audit.findings import LEAKAGE_KINDS, NOISE_KINDS, Finding
from radvqa_data.audit.report import CHECK_TITLES

#: Report order: evaluation data in the training data first, then redundancy, then noise.
REPORT_ORDER: Final = (
    "benchmark_image",
    "benchmark_question",
    "group_leak",
    "image_same_picture",
    "qa_duplicate",
    "qa_near_duplicate",
    "caption_duplicate",
    "qa_boilerplate",
)

#: What `--fix` does with a check's findings, when it does not remove rows for all of them.
FIX_NOTES: Final = {
    "caption_duplicate": "reported only: captions are catalog text, not rows of the QA table",
    "image_same_picture": "--fix removes the rows on the less protected image of a pair across "
    "splits; pairs within one split are redundancy and stay",
}


@dataclass
class FixCommand:
    """How the audit was asked for, to spell out the `--fix` command that cleans its rows."""

    inputs: list[Path]
    catalog: Path | None = None
    against: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # other non-default options, as typed
    out: Path | None = None  # the --fix folder; default: INPUT's name + "-clean" beside it

    def render(self, only: str | None = None) -> str | None:
        """The shell command (None when there are no INPUT rows to clean)."""
        if not self.inputs:
            return None
        first = Path(self.inputs[0])
        out = self.out or first.with_name(f"{first.stem}-clean")
        parts = ["radvqa-data", "audit", *(str(p) for p in self.inputs)]
        if self.catalog is not None:
            parts += ["--catalog", str(self.catalog)]
        for a in self.against:
            parts += ["--against", a]
        parts += self.options
        if only:
            parts += ["--only", only]
        return shlex.join([*parts, "--fix", str(out)])


def _split_key(f: Finding) -> str:
    return f.a.where if f.a.where == f.b.where else f"{f.a.where} / {f.b.where}"


def summarize(
    findings: list[Finding],
    rows: pl.DataFrame | None,
    status: dict[str, str],
    fix: FixCommand | None,
) -> list[dict[str, Any]]:
    """One dict per check in `REPORT_ORDER` (checks with findings and checks that ran clean)."""
    from radvqa_data.audit.fix import rows_to_remove

    out = []
    for kind in REPORT_ORDER:
        fs = [f for f in findings if f.kind == kind]
        affected = None
        if rows is not None:
            affected = rows_to_remove(rows, fs).height if fs else 0
        # within one split, a duplicate is redundancy, not leakage (boilerplate is never leakage)
        within = [f for f in fs if not f.is_leak and kind not in NOISE_KINDS]
        cmd = fix.render(kind) if fix is not None and affected else None
        out.append(
            {
                "kind": kind,
                "title": CHECK_TITLES[kind],
                "status": status.get(kind, "skip"),
                "leakage": kind in LEAKAGE_KINDS,
                "findings": len(fs),
                "across_splits": sum(f.cross_split for f in fs),
                "within_split": len(within),
                "within_split_by_split": dict(Counter(_split_key(f) for f in within).most_common()),
                "affected_qa_rows": affected,
                "fix_command": cmd,
                "fix_note": FIX_NOTES.get(kind) if fs else None,
            }
        )
    return out


def totals(
    findings: list[Finding], rows: pl.DataFrame | None, fix: FixCommand | None
) -> dict[str, Any]:
    """Rows `--fix` takes out over all checks (each row once) and the command for all of them."""
    from radvqa_data.audit.fix import rows_to_remove

    affected = rows_to_remove(rows, findings).height if rows is not None and findings else None
    if rows is not None and not findings:
        affected = 0
    return {
        "qa_rows": rows.height if rows is not None else None,
        "affected_qa_rows": affected,
        "fix_command": fix.render() if fix is not None and affected else None,
    }


def format_detail(extra: dict[str, Any]) -> str:
    """A finding's method details for a person: floats to 3 significant digits, internal keys
    (file paths, row keys) left out (`scale=0.726, half=3`, not `scale=0.7262901066733535`)."""
    parts = []
    for k, v in extra.items():
        if k in ("path_a", "path_b", "k_a", "k_b"):
            continue
        if isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{k}={v}")
    return ", ".join(parts)
