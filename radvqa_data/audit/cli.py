"""CLI commands of radvqa_data.audit (registered on the `radvqa-data` app)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radvqa_data.core.cli import user_errors


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.command("audit")(audit)


def audit(
    inputs: Optional[list[Path]] = typer.Argument(None, help="QA shard folder(s) or QA tables (Parquet, CSV, JSONL, datasets folder). Omit to audit the catalog's own sources."),  # noqa: UP045
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog (DuckDB) with the images, captions and benchmarks."),  # noqa: UP045
    against: Optional[list[str]] = typer.Option(None, "--against", help="Protected evaluation set NAME[:SPLIT] (repeatable), e.g. vqa-rad:test."),  # noqa: UP045
    report: Optional[Path] = typer.Option(None, "--report", help="Write audit.json and report.html into this folder."),  # noqa: UP045
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Exit 1 when findings of these kinds exist: 'leakage', 'any' or KIND,KIND."),  # noqa: UP045
    fix: Optional[Path] = typer.Option(None, "--fix", help="Write a cleaned copy of the rows here (input untouched)."),  # noqa: UP045
    fix_mode: str = typer.Option("drop", "--fix-mode", help="drop: remove leaking/duplicate rows; move: keep them in split 'quarantine'."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Column mapping: question=...,answer=...,image=...,split=...,group=..."),  # noqa: UP045
    threshold: float = typer.Option(90.0, "--threshold", help="Near-duplicate text score 0-100 (rapidfuzz); lower finds more paraphrases."),
    boilerplate_cases: int = typer.Option(
        5, "--boilerplate-cases",
        help="Cases a long answer must recur in to be boilerplate when no text of its rows can be "
        "checked."),
    caption_fields: str = typer.Option("caption", "--caption-fields", help="Catalog text fields compared across splits."),
    no_images: bool = typer.Option(False, "--no-images", help="Skip the pixel checks (text and group checks only)."),
    only: Optional[str] = typer.Option(None, "--only", help="Run only these checks: KIND,KIND (default: all the inputs allow)."),  # noqa: UP045
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Find duplicates and train/test leakage: QA pairs, same pictures, benchmark contamination, captions, groups."""
    with user_errors():
        code = run_cli(inputs or [], catalog, against or [], report, fail_on, fix, fix_mode, columns, threshold,
                       caption_fields, no_images, progress, only, boilerplate_cases)
    if code:
        raise typer.Exit(code)


def run_cli(inputs: list[Path], catalog: Path | None, against: list[str], report: Path | None, fail_on: str | None,
            fix: Path | None, fix_mode: str, columns: str | None, threshold: float, caption_fields: str,
            no_images: bool, progress: bool, only: str | None = None,
            boilerplate_cases: int = 5) -> int:
    """The command body as a plain function; returns the exit code."""
    from dataclasses import replace

    from radvqa_data.audit.findings import KINDS, failing, parse_fail_on
    from radvqa_data.audit.report import check_lines, print_check_lines, write_audit_json
    from radvqa_data.audit.run import AuditOptions, run_audit
    from radvqa_data.core.errors import InputError

    kinds = parse_fail_on(fail_on)
    only_kinds = None
    if only:
        only_kinds = frozenset(k.strip() for k in only.split(",") if k.strip())
        if only_kinds - set(KINDS):
            raise InputError(f"--only: unknown kind(s) {', '.join(sorted(only_kinds - set(KINDS)))}; expected any of {', '.join(KINDS)}")
    if not inputs and catalog is None:
        raise InputError("nothing to audit: give INPUT (QA shards or a table) and/or --catalog FILE")
    if fix is not None and not inputs:
        raise InputError("--fix needs INPUT rows to clean")
    opts = AuditOptions(inputs=list(inputs), catalog=catalog, against=list(against), columns=columns,
                        caption_fields=tuple(f.strip() for f in caption_fields.split(",") if f.strip()),
                        images=not no_images, progress=progress, only=only_kinds)
    opts.text = replace(opts.text, threshold=threshold)
    if boilerplate_cases < 2:
        raise InputError(f"--boilerplate-cases {boilerplate_cases}: expected 2 or more "
                         "(an answer in one case recurs nowhere)")
    opts.boilerplate = replace(opts.boilerplate, max_cases=boilerplate_cases)
    res = run_audit(opts)
    print_check_lines(res.findings, res.checks_run, kinds)
    if report is not None:
        from radvqa_data.audit.html import write_report_html

        write_audit_json(report / "audit.json", res.findings)
        status = {k: st for st, k, _ in check_lines(res.findings, res.checks_run, kinds)}
        meta = {"rows": str(res.n_rows), "images": str(res.n_images), "against": ", ".join(res.against) or "-",
                "inputs": ", ".join(str(p) for p in inputs) or "(catalog)"}
        write_report_html(report / "report.html", res.findings, status, meta)
        typer.echo(f"report: {report / 'audit.json'}, {report / 'report.html'}")
    if fix is not None and res.rows is not None:
        from radvqa_data.audit.fix import write_fixed

        counts = write_fixed(fix, res.rows, res.findings, list(inputs), fix_mode)
        typer.echo(f"fix: {sum(counts.values())} rows {'removed' if fix_mode == 'drop' else 'quarantined'} -> {fix} "
                   + ", ".join(f"{k}={n}" for k, n in sorted(counts.items(), key=lambda kv: KINDS.index(kv[0]))))
    bad = failing(res.findings, kinds)
    if bad:
        typer.secho(f"audit failed: {len(bad)} finding(s) match --fail-on {fail_on}", fg=typer.colors.RED, err=True)
        return 1
    return 0
