"""The summary table printed at the end of `radvqa-data entities`."""

from __future__ import annotations


def print_entity_summary(summary) -> None:
    """One table: texts processed/skipped, mentions per label, negated/uncertain, CUIs linked."""
    from rich.table import Table

    from radvqa_data.core.console import results

    t = Table(title=f"entities ({summary.pipeline})", show_header=True)
    t.add_column("what")
    t.add_column("count", justify="right")
    rate = summary.texts_processed / summary.seconds if summary.seconds else 0.0
    for k, v in [
        ("texts processed", summary.texts_processed),
        ("texts already done", summary.texts_skipped),
        ("mentions", summary.mentions),
        ("negated", summary.negated),
        ("uncertain", summary.uncertain),
        ("CUIs linked from source concepts", summary.cuis_linked),
    ]:
        t.add_row(k, f"{v:,}")
    for label, n in summary.by_label.most_common():
        t.add_row(f"  {label}", f"{n:,}")
    t.add_row("seconds", f"{summary.seconds:.1f} ({rate:,.0f} texts/s)")
    results().print(t)
