"""Rich tables for `catalog add` (the run's summary) and `catalog stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from radvqa_data.catalog.ingest import IngestSummary
from radvqa_data.core.console import results


def print_summary(s: IngestSummary, catalog: Path, console: Console | None = None) -> None:
    """The end-of-run table: what was catalogued, images (and QA rows) per split, every issue
    reason with its count, and what was left without an image file."""
    console = console or results()
    table = Table(title=f"catalog add {s.kind} -> source '{s.source}'", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("images", s.images),
        ("  ok", s.ok),
        ("  missing (no file)", s.missing),
        ("  corrupt", s.corrupt),
        ("texts", s.texts),
        ("concepts (CUIs)", s.concepts),
        ("benchmark QA rows", s.qa_rows),
        ("files decoded now", s.probed),
        ("probes reused (unchanged files)", s.reused),
    ):
        table.add_row(label, f"{value:,}")
    for split, n in s.splits.items():
        table.add_row(f"images in split {split}", f"{n:,}")
    for split, n in s.qa_splits.items():
        table.add_row(f"QA rows in split {split}", f"{n:,}")
    for reason, n in s.issues.items():
        table.add_row(f"[yellow]issue: {reason}[/]", f"{n:,}")
    console.print(table)
    if s.missing:
        console.print(
            f"[yellow]note:[/] {s.missing:,} of {s.images:,} records have no image file: "
            "synth gives them no row unless --allow-missing-images (caption-only rows)"
        )
    # The one image rate of the run (the probing bar shows none): files decoded per second of
    # reading + decoding, parsing overlap included.
    rate = (
        f" ({s.probed / s.probe_seconds:,.0f} images/s decoded)"
        if s.probed and s.probe_seconds
        else ""
    )
    console.print(
        f"{s.n_issues:,} issue(s) recorded in table ingest_issues; "
        f"{s.seconds:.1f} s{rate}; catalog: {catalog}"
    )


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "-"


def print_stats(stats: dict[str, Any], catalog: Path, console: Console | None = None) -> None:
    """Per source: images by status, split and modality; benchmark QA rows by split; issues."""
    console = console or results()
    table = Table(title=f"catalog {catalog}")
    table.add_column("source")
    table.add_column("")
    table.add_column("counts")
    for name, src in stats["sources"].items():
        st = src["status"]
        rows = [
            (
                "images",
                (
                    f"{src['images']:,} (ok {st['ok']:,}, missing {st['missing']:,}, "
                    f"corrupt {st['corrupt']:,})"
                ),
            ),
            ("splits", _fmt(src["splits"])),
            ("modality", _fmt(src["modality"])),
        ]
        if src["qa_rows"]:
            rows.append(("QA rows", f"{src['qa_rows']:,} ({_fmt(src['qa_splits'])})"))
        if src.get("concepts"):
            rows.append(("concepts", f"{src['concepts']:,}"))
        if src.get("issues"):
            rows.append(("issues", _fmt(src["issues"])))
        for i, (label, value) in enumerate(rows):
            table.add_row(
                f"{name} ({src['kind']})" if i == 0 else "",
                label,
                value,
                end_section=i == len(rows) - 1,
            )
    console.print(table)
