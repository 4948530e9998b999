"""The summary table printed at the end of `synth`, and `describe` of a synth output folder."""

from __future__ import annotations


def print_synth_summary(summary) -> None:
    """Kept rows per type, yes-rate, rejects per reason, shards done/skipped, rows per split,
    and one line per reason rows are missing (stdout: it is the command's result)."""
    from rich.markup import escape
    from rich.table import Table

    from radvqa_data.core.console import results
    from radvqa_data.synth.manifest import splits_text

    m = summary.manifest
    console = results()
    t = Table(title=f"synth -> {summary.out}")
    for col in ("question type", "closed", "open", "yes-rate"):
        t.add_column(col, justify="right" if col != "question type" else "left")
    by = m.get("by_type_and_answer_type", {})
    for qt in sorted(m.get("by_question_type", {})):
        yr = m.get("yes_rate", {}).get(qt)
        t.add_row(
            qt,
            f"{by.get(qt + '/closed', 0):,}",
            f"{by.get(qt + '/open', 0):,}",
            "" if yr is None else f"{yr:.0%}",
        )
    console.print(t)
    r = Table(title="rejected (reason)")
    r.add_column("reason")
    r.add_column("rows", justify="right")
    for reason, n in sorted(m.get("rejects_by_reason", {}).items(), key=lambda kv: -kv[1]):
        r.add_row(reason, f"{n:,}")
    console.print(r)
    backend_table = _backend_table(
        summary.generator_summary.get("backend") or {}, m.get("backend_counters") or {}
    )
    if backend_table is not None:
        console.print(backend_table)
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    for line in summary.not_done:
        console.print(f"[yellow]not done:[/yellow] {escape(line)}")
    rate = (
        (summary.kept + sum(summary.rejected.values())) / summary.seconds if summary.seconds else 0
    )
    console.print(
        f"kept {m.get('qa_rows', 0):,} rows from "
        f"{m.get('images_with_rows', 0):,}/{m.get('images', 0):,} images; "
        f"rejected {m.get('reject_rows', 0):,}; "
        f"shards {summary.shards_total - summary.shards_skipped} written, "
        f"{summary.shards_skipped} already done; "
        f"{_median(m)}case split violations {m.get('case_split_violations')}; "
        f"{summary.seconds:.1f}s ({rate:,.0f} rows/s)"
    )
    console.print(f"rows per split: {splits_text(m.get('by_split') or {}) or 'none'}")


def empty_synth_reason(m: dict, out) -> str:
    """Why a synth output holds no QA row, from its manifest (for the error and for export)."""
    from radvqa_data.core.errors import ALLOW_EMPTY_HINT

    rejects = sorted((m.get("rejects_by_reason") or {}).items(), key=lambda kv: -kv[1])
    top = ", ".join(f"{r} {n:,}" for r, n in rejects[:3])
    why = [
        f"all {m.get('reject_rows', 0):,} candidates from {m.get('images', 0):,} images were "
        f"rejected ({top})"
        if rejects
        else f"the {m.get('images', 0):,} images read gave no candidate"
    ]
    why += list(m.get("not_done") or [])
    return f"{out}: synth wrote 0 QA rows: {'; '.join(why)}; {ALLOW_EMPTY_HINT}"


def _median(m: dict) -> str:
    """``median answer 1.0 words; `` (nothing when there is no row to take a median of)."""
    med = m.get("median_answer_words")
    return "" if med is None else f"median answer {med} words; "


_COUNTERS = (
    ("requests", "requests"),
    ("retries", "retries"),
    ("timeouts", "timeouts"),
    ("failures", "failed after retries"),
    ("prompt_tokens", "prompt tokens"),
    ("completion_tokens", "completion tokens"),
    ("seconds", "backend seconds"),
    ("peak_in_flight", "most requests in flight"),
)


def _backend_table(run: dict, total: dict):
    """The LLM backend's counters, this run and over every finished shard (None for rules)."""
    from rich.table import Table

    if not run and not total:
        return None
    t = Table(title="backend")
    t.add_column("counter")
    t.add_column("this run", justify="right")
    t.add_column("all shards", justify="right")

    def fmt(v):
        return "" if v is None else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"

    for key, label in _COUNTERS:
        if key == "peak_in_flight" and not (run.get(key) or total.get(key)):
            continue  # only the HTTP backend keeps requests in flight
        if key in run or key in total:
            t.add_row(label, fmt(run.get(key)), fmt(total.get(key)))
    rates = [
        c.get("completion_tokens", 0) / c["seconds"] if c.get("seconds") else None
        for c in (run, total)
    ]
    if any(r is not None for r in rates):
        t.add_row("completion tokens/s", *map(fmt, rates))
    return t


def describe_run(out, samples: int = 5, seed: int = 0) -> str:
    """A plain-text description of a synth output folder: counts per type and answer type,
    yes-rate per type, rejects per reason, and `samples` random rows per question type."""
    import json
    from pathlib import Path

    import polars as pl

    from radvqa_data.core.answers import OPEN
    from radvqa_data.core.errors import InputError
    from radvqa_data.core.shards import ShardDir
    from radvqa_data.synth.manifest import splits_text

    out = Path(out)
    shard_dir = ShardDir(out)
    if not shard_dir.manifest.is_file():
        raise InputError(
            f"{out}: no manifest.json; expected the output folder of `radvqa-data synth`"
        )
    m = json.loads(shard_dir.manifest.read_text())
    lines = [
        f"{out}: {m['qa_rows']:,} QA rows from {m['images_with_rows']:,}/{m['images']:,} images, "
        f"{m['reject_rows']:,} rejects; {_median(m)}"
        f"case split violations {m['case_split_violations']}",
        f"rows per split: {splits_text(m.get('by_split') or {}) or 'none'}",
        *(f"not done: {line}" for line in m.get("not_done", [])),  # older manifests: none
    ]
    if not m["qa_rows"]:  # an `--allow-empty` run: no shard to read, nothing to sample
        return "\n".join(lines)
    qa = shard_dir.read_qa(f"{out}: no QA shards (expected {out}/qa/part-*.parquet)")
    open_rows = qa.filter(pl.col("answer_type") == OPEN)
    leaks = sum(a.lower() in q.lower() for q, a in open_rows.select("question", "answer").rows())
    lines.append(f"open answers appearing verbatim in their question: {leaks}")
    # column widths from the longest name: a name is never cut nor run into its count
    w = max(map(len, ["type", *m["by_question_type"]])) + 1
    lines.append(f"\n{'type':<{w}}  closed    open  yes-rate")
    by = m["by_type_and_answer_type"]
    for t in sorted(m["by_question_type"]):
        yr = m["yes_rate"].get(t)
        lines.append(
            f"{t:<{w}}{by.get(t + '/closed', 0):>8,}{by.get(t + '/open', 0):>8,}  "
            f"{'' if yr is None else f'{yr:.1%}'}"
        )
    lines.append("\nrejects by reason")
    w = max(map(len, ["", *m["rejects_by_reason"]])) + 1
    for reason, n in sorted(m["rejects_by_reason"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {reason:<{w}}{n:>7,}")
    for t in sorted(m["by_question_type"]):
        part = qa.filter(pl.col("question_type") == t)
        lines.append(f"\n{t} samples")
        for r in part.sample(min(samples, part.height), seed=seed).iter_rows(named=True):
            lines.append(
                f"  [{r['image_id']}] {r['question']} -> {r['answer']} ({r['answer_type']}; "
                f"{r['template_id']}; {r['source_field']}: {r['source_text'][:60]!r})"
            )
    return "\n".join(lines)
