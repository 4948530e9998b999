"""`radvqa-data audit`: duplicates and train/test leakage, a report, an optional cleaned copy.

The command parses its options into an `AuditRequest` and hands it to `run_request`, a plain
function (tests and notebooks call it too); the checks are imported inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

if TYPE_CHECKING:
    from radvqa_data.audit.groups import FixCommand

app = typer.Typer()


@dataclass
class AuditRequest:
    """What the command line asks of an audit (see `audit --help` for each field)."""

    inputs: list[Path] = field(default_factory=list)
    catalog: Path | None = None
    against: list[str] = field(default_factory=list)
    report: Path | None = None
    fail_on: str | None = None
    fix: Path | None = None
    fix_mode: str = "drop"
    columns: str | None = None
    threshold: float = NEAR_DUP_THRESHOLD
    caption_fields: str = "caption"
    no_images: bool = False
    progress: bool = True
    only: str | None = None
    boilerplate_cases: int = BOILERPLATE_MAX_CASES
    decisions: Path | None = None
    executor: str = "local"  # the image checks' descriptor pass and verification
    ray_address: str | None = None


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
        code = run_request(
            AuditRequest(
                inputs=list(inputs or []),
                catalog=catalog,
                against=list(against or []),
                report=report,
                fail_on=fail_on,
                fix=fix,
                fix_mode=fix_mode,
                columns=columns,
                threshold=threshold,
                caption_fields=caption_fields,
                no_images=no_images,
                progress=progress,
                only=only,
                boilerplate_cases=boilerplate_cases,
                decisions=decisions,
                executor=executor,
                ray_address=ray_address,
            )
        )
    if code:
        raise typer.Exit(code)


def run_request(req: AuditRequest) -> int:
    """The command body as a plain function; returns the exit code."""
    from dataclasses import replace

    from radvqa_data.audit.findings import KINDS, failing, parse_fail_on
    from radvqa_data.audit.report import check_lines, print_check_lines, write_audit_json
    from radvqa_data.audit.run import AuditOptions, run_audit
    from radvqa_data.core.errors import InputError
    from radvqa_data.executor.base import check_executor

    inputs, catalog, against, report, fail_on, fix, fix_mode, only = (
        req.inputs,
        req.catalog,
        req.against,
        req.report,
        req.fail_on,
        req.fix,
        req.fix_mode,
        req.only,
    )
    check_executor(req.executor, req.ray_address)
    kinds = parse_fail_on(fail_on)
    only_kinds = None
    if only:
        only_kinds = frozenset(k.strip() for k in only.split(",") if k.strip())
        if only_kinds - set(KINDS):
            raise InputError(
                f"--only: unknown kind(s) {', '.join(sorted(only_kinds - set(KINDS)))}; "
                f"expected any of {', '.join(KINDS)}"
            )
    if not inputs and catalog is None:
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
    opts = AuditOptions(
        inputs=list(inputs),
        catalog=catalog,
        against=list(against),
        columns=req.columns,
        caption_fields=tuple(f.strip() for f in req.caption_fields.split(",") if f.strip()),
        images=not req.no_images,
        progress=req.progress,
        only=only_kinds,
        executor=req.executor,
        ray_address=req.ray_address,
    )
    opts.text = replace(opts.text, threshold=req.threshold)
    if req.boilerplate_cases < 2:
        raise InputError(
            f"--boilerplate-cases {req.boilerplate_cases}: expected 2 or more "
            "(an answer in one case recurs nowhere)"
        )
    opts.boilerplate = replace(opts.boilerplate, max_cases=req.boilerplate_cases)
    res = run_audit(opts)
    print_check_lines(res.findings, res.checks_run, kinds)
    if report is not None:
        from radvqa_data.audit.groups import summarize, totals
        from radvqa_data.audit.html import write_report_html

        status = {k: st for st, k, _ in check_lines(res.findings, res.checks_run, kinds)}
        fix_cmd = fix_command(req)
        groups = summarize(res.findings, res.rows, status, fix_cmd)
        tot = totals(res.findings, res.rows, fix_cmd)
        write_audit_json(report / "audit.json", res.findings, groups, tot)
        meta = {
            "rows": str(res.n_rows),
            "images": str(res.n_images),
            "against": ", ".join(res.against) or "-",
            "inputs": ", ".join(str(p) for p in inputs) or "(catalog)",
        }
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

    opts: list[str] = []
    if req.columns:
        opts += ["--columns", req.columns]
    if req.threshold != NEAR_DUP_THRESHOLD:
        opts += ["--threshold", f"{req.threshold:g}"]
    if req.boilerplate_cases != BOILERPLATE_MAX_CASES:
        opts += ["--boilerplate-cases", str(req.boilerplate_cases)]
    if req.caption_fields != "caption":
        opts += ["--caption-fields", req.caption_fields]
    if req.no_images:
        opts.append("--no-images")
    if req.decisions is not None:
        opts += ["--decisions", str(req.decisions)]
    return FixCommand(
        inputs=list(req.inputs),
        catalog=req.catalog,
        against=list(req.against),
        options=opts,
        out=req.fix,
    )
