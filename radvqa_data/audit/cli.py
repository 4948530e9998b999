"""`radvqa-data audit`: duplicates and train/test leakage, a report, an optional cleaned copy.

The command parses its options into an `AuditRequest` (the checks' `AuditOptions` plus what to
do with the findings) and hands it to `run_request`, a plain function (tests and notebooks call
it too); the checks are imported inside it, so `--help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from radvqa_data.audit.defaults import BOILERPLATE_MAX_CASES, NEAR_DUP_THRESHOLD
from radvqa_data.core.cli import (
    ExecutorOpt,
    OptionalCatalogOpt,
    ProgressOpt,
    RayAddressOpt,
    user_errors,
)
from radvqa_data.core.errors import InputError

if TYPE_CHECKING:
    from radvqa_data.audit.groups import FixCommand
    from radvqa_data.audit.run import AuditOptions

app = typer.Typer()


@dataclass
class AuditRequest:
    """What the command line asks of an audit: the checks' `AuditOptions` (what is compared and
    how) plus what is done with the findings (report, exit code, cleaned copy)."""

    options: AuditOptions
    report: Path | None = None
    fail_on: str | None = None
    fix: Path | None = None
    fix_mode: str = "drop"
    decisions: Path | None = None


def audit_options(
    *,
    inputs: list[Path],
    catalog: Path | None,
    against: list[str],
    columns: str | None = None,
    threshold: float = NEAR_DUP_THRESHOLD,
    caption_fields: str = "caption",
    no_images: bool = False,
    only: str | None = None,
    boilerplate_cases: int = BOILERPLATE_MAX_CASES,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
) -> AuditOptions:
    """The command line's option values as `AuditOptions`; a bad value is an `InputError`."""
    from radvqa_data.audit.findings import KINDS
    from radvqa_data.audit.run import AuditOptions
    from radvqa_data.executor.base import check_executor

    check_executor(executor, ray_address)
    only_kinds = None
    if only:
        only_kinds = frozenset(k.strip() for k in only.split(",") if k.strip())
        if only_kinds - set(KINDS):
            raise InputError(
                f"--only: unknown kind(s) {', '.join(sorted(only_kinds - set(KINDS)))}; "
                f"expected any of {', '.join(KINDS)}"
            )
    if boilerplate_cases < 2:
        raise InputError(
            f"--boilerplate-cases {boilerplate_cases}: expected 2 or more "
            "(an answer in one case recurs nowhere)"
        )
    opts = AuditOptions(
        inputs=list(inputs),
        catalog=catalog,
        against=list(against),
        columns=columns,
        caption_fields=tuple(f.strip() for f in caption_fields.split(",") if f.strip()),
        images=not no_images,
        progress=progress,
        only=only_kinds,
        executor=executor,
        ray_address=ray_address,
    )
    opts.text = replace(opts.text, threshold=threshold)
    opts.boilerplate = replace(opts.boilerplate, max_cases=boilerplate_cases)
    return opts


# The backslash keeps the docstring's first paragraph one line: typer's command list shows a
# newline there as a line break.
@app.command("audit")
def audit(
    inputs: list[Path] | None = typer.Argument(
        None,
        help=(
            "QA shard folder(s) or QA tables (Parquet, CSV, JSONL, datasets folder). "
            "Omit to audit the catalog's own sources."
        ),
    ),
    catalog: OptionalCatalogOpt = None,
    against: list[str] | None = typer.Option(
        None,
        "--against",
        help="Protected evaluation set NAME[:SPLIT] (repeatable), e.g. vqa-rad:test.",
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Write audit.json and report.html into this folder."
    ),
    fail_on: str | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when findings of these kinds exist: 'leakage', 'any' or KIND,KIND.",
    ),
    fix: Path | None = typer.Option(
        None, "--fix", help="Write a cleaned copy of the rows here (input untouched)."
    ),
    fix_mode: str = typer.Option(
        "drop",
        "--fix-mode",
        help="drop: remove leaking/duplicate rows; move: keep them in split 'quarantine'.",
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help="Column mapping: question=...,answer=...,image=...,split=...,group=...",
    ),
    threshold: float = typer.Option(
        NEAR_DUP_THRESHOLD,
        "--threshold",
        help="Near-duplicate text score 0-100 (rapidfuzz); lower finds more paraphrases.",
    ),
    boilerplate_cases: int = typer.Option(
        BOILERPLATE_MAX_CASES,
        "--boilerplate-cases",
        help="Cases a long answer must recur in to be boilerplate when no text of its rows can be "
        "checked.",
    ),
    caption_fields: str = typer.Option(
        "caption", "--caption-fields", help="Catalog text fields compared across splits."
    ),
    no_images: bool = typer.Option(
        False, "--no-images", help="Skip the pixel checks (text and group checks only)."
    ),
    only: str | None = typer.Option(
        None, "--only", help="Run only these checks: KIND,KIND (default: all the inputs allow)."
    ),
    decisions: Path | None = typer.Option(
        None,
        "--decisions",
        help="With --fix: also drop rows a reviewer rejected, use corrected answers "
        "(`radvqa-data review pull`).",
    ),
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    progress: ProgressOpt = True,
) -> None:
    """Find duplicates and train/test leakage: QA pairs, same pictures, benchmark contamination, \
captions, groups.

    --catalog: the images, captions and benchmarks the checks compare against."""
    with user_errors():
        opts = audit_options(
            inputs=list(inputs or []),
            catalog=catalog,
            against=list(against or []),
            columns=columns,
            threshold=threshold,
            caption_fields=caption_fields,
            no_images=no_images,
            only=only,
            boilerplate_cases=boilerplate_cases,
            executor=executor,
            ray_address=ray_address,
            progress=progress,
        )
        code = run_request(
            AuditRequest(
                options=opts,
                report=report,
                fail_on=fail_on,
                fix=fix,
                fix_mode=fix_mode,
                decisions=decisions,
            )
        )
    if code:
        raise typer.Exit(code)


def run_request(req: AuditRequest) -> int:
    """The command body as a plain function; returns the exit code."""
    from radvqa_data.audit.findings import KINDS, failing, parse_fail_on
    from radvqa_data.audit.report import check_lines, print_check_lines, write_audit_json
    from radvqa_data.audit.run import run_audit

    opts = req.options
    inputs, report, fail_on, fix, fix_mode = (
        opts.inputs,
        req.report,
        req.fail_on,
        req.fix,
        req.fix_mode,
    )
    kinds = parse_fail_on(fail_on)
    if not inputs and opts.catalog is None:
        raise InputError(
            "nothing to audit: give INPUT (QA shards or a table) and/or --catalog FILE"
        )
    if fix is not None and not inputs:
        raise InputError("--fix needs INPUT rows to clean")
    if req.decisions is not None and fix is None:
        raise InputError("--decisions applies to the cleaned copy: add --fix OUT")
    if req.decisions is not None:
        from radvqa_data.core.decisions import read_decisions

        read_decisions(req.decisions)  # a bad file fails before the audit runs
    res = run_audit(opts)
    print_check_lines(res.findings, res.checks_run, kinds)
    if res.unreadable:
        path, why = res.unreadable[0]
        typer.secho(
            f"warning: {len(res.unreadable)} image(s) could not be read and were left out of "
            f"the image checks, e.g. {path} ({why})"
            + (f"; all listed in {report / 'audit.json'}" if report is not None else ""),
            fg=typer.colors.YELLOW,
            err=True,
        )
    if report is not None:
        from radvqa_data.audit.groups import summarize, totals
        from radvqa_data.audit.html import write_report_html

        status = {k: st for st, k, _ in check_lines(res.findings, res.checks_run, kinds)}
        fix_cmd = fix_command(req)
        groups = summarize(res.findings, res.rows, status, fix_cmd)
        tot = totals(res.findings, res.rows, fix_cmd)
        tot["unreadable_images"] = [{"path": p, "error": e} for p, e in res.unreadable]
        write_audit_json(report / "audit.json", res.findings, groups, tot)
        meta = {
            "rows": str(res.n_rows),
            "images": str(res.n_images),
            "against": ", ".join(res.against) or "-",
            "inputs": ", ".join(str(p) for p in inputs) or "(catalog)",
        }
        if res.unreadable:  # left out of the image checks (listed in audit.json)
            meta["unreadable images"] = str(len(res.unreadable))
        write_report_html(report / "report.html", res.findings, status, meta, groups, tot)
        typer.echo(f"report: {report / 'audit.json'}, {report / 'report.html'}")
    if fix is not None and res.rows is not None:
        from radvqa_data.audit.fix import write_fixed

        counts = write_fixed(
            fix, res.rows, res.findings, list(inputs), fix_mode, decisions=req.decisions
        )
        typer.echo(
            f"fix: {sum(counts.values())} rows "
            f"{'removed' if fix_mode == 'drop' else 'quarantined'} -> {fix} "
            + ", ".join(
                f"{k}={n}" for k, n in sorted(counts.items(), key=lambda kv: KINDS.index(kv[0]))
            )
        )
        if req.decisions is not None:
            import json

            from radvqa_data.core.shards import ShardDir

            d = json.loads(ShardDir(fix).fix_summary.read_text(encoding="utf-8"))["decisions"]
            typer.echo(f"review: {d['rejected']} rows rejected, {d['corrected']} corrected")
    bad = failing(res.findings, kinds)
    if bad:
        typer.secho(
            f"audit failed: {len(bad)} finding(s) match --fail-on {fail_on}",
            fg=typer.colors.RED,
            err=True,
        )
        return 1
    return 0


def fix_command(req: AuditRequest) -> FixCommand:
    """The request as the `--fix` command a reader of the report runs next: the same inputs and
    the options that change what is found, `--fix` to the request's folder or INPUT-clean."""
    from radvqa_data.audit.groups import FixCommand

    o = req.options
    opts: list[str] = []
    if o.columns:
        opts += ["--columns", o.columns]
    if o.text.threshold != NEAR_DUP_THRESHOLD:
        opts += ["--threshold", f"{o.text.threshold:g}"]
    if o.boilerplate.max_cases != BOILERPLATE_MAX_CASES:
        opts += ["--boilerplate-cases", str(o.boilerplate.max_cases)]
    if o.caption_fields != ("caption",):
        opts += ["--caption-fields", ",".join(o.caption_fields)]
    if not o.images:
        opts.append("--no-images")
    if req.decisions is not None:
        opts += ["--decisions", str(req.decisions)]
    return FixCommand(
        inputs=list(o.inputs),
        catalog=o.catalog,
        against=list(o.against),
        options=opts,
        out=req.fix,
    )
