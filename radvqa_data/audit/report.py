"""Outputs of an audit: `audit.json`, the terminal check lines, and the summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radvqa_data.audit.findings import KINDS, LEAKAGE_KINDS, NOISE_KINDS, Finding, count_by_kind
from radvqa_data.core.atomic import write_json

#: one line per check on the terminal
CHECK_TITLES = {
    "qa_duplicate": "exact duplicate QA pairs",
    "qa_near_duplicate": "near-duplicate QA pairs (paraphrases)",
    "qa_boilerplate": "boilerplate answers (recurring, unsupported)",
    "image_same_picture": "same picture under two ids",
    "benchmark_image": "benchmark images in the data",
    "benchmark_question": "benchmark questions in the data",
    "caption_duplicate": "captions shared across splits",
    "group_leak": "case/patient groups across splits",
}


def audit_json(
    findings: list[Finding],
    groups: list[dict[str, Any]] | None = None,
    totals: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `audit.json` object: ``{"findings": [...], "counts": {KIND: n}}`` plus, when given,
    ``groups`` (per check in report order, `radvqa_data.audit.groups.summarize`) and ``totals``
    (QA rows, rows `--fix` takes out, the command), the figures the report shows."""
    doc: dict[str, Any] = {
        "findings": [f.to_dict() for f in findings],
        "counts": count_by_kind(findings),
    }
    if groups is not None:
        doc["groups"] = groups
    if totals is not None:
        doc["totals"] = totals
    return doc


def write_audit_json(
    path: Path,
    findings: list[Finding],
    groups: list[dict[str, Any]] | None = None,
    totals: dict[str, Any] | None = None,
) -> None:
    """Write `audit.json` atomically."""
    write_json(path, audit_json(findings, groups, totals))


def status_of(kind: str, findings: list[Finding], fail_on: set[str]) -> str:
    """pass / warn / fail for one check: fail when it trips --fail-on, warn when it has findings."""
    fs = [f for f in findings if f.kind == kind]
    if not fs:
        return "pass"
    if "any" in fail_on or kind in fail_on or ("leakage" in fail_on and any(f.is_leak for f in fs)):
        return "fail"
    return "warn"


def check_lines(
    findings: list[Finding], checks_run: list[str], fail_on: set[str]
) -> list[tuple[str, str, str]]:
    """(status, kind, line) per check, in report order; checks not run say 'skipped'."""
    out = []
    for kind in KINDS:
        fs = [f for f in findings if f.kind == kind]
        if kind not in checks_run:
            out.append(("skip", kind, f"{CHECK_TITLES[kind]}: not run (needs {_needs(kind)})"))
            continue
        st = status_of(kind, findings, fail_on)
        cross = sum(1 for f in fs if f.cross_split)
        tail = (
            "" if kind in LEAKAGE_KINDS else f" ({cross} across splits, {len(fs) - cross} within)"
        )
        if kind in NOISE_KINDS:
            tail = f" rows in {len({f.extra.get('answer') for f in fs})} group(s)"
        out.append((st, kind, f"{CHECK_TITLES[kind]}: {len(fs)}{tail if fs else ''}"))
    return out


def _needs(kind: str) -> str:
    if kind.startswith("benchmark"):
        return "--against and a catalog"
    if kind in ("image_same_picture", "caption_duplicate"):
        return "a catalog"
    return "INPUT rows"


#: boilerplate groups listed under their check line (all are in audit.json)
MAX_GROUPS = 10


def print_check_lines(findings: list[Finding], checks_run: list[str], fail_on: set[str]) -> None:
    """Plain check lines a person can scan (pass / warn / fail / skip) via rich; boilerplate
    groups follow their line with their rows per split."""
    from rich.markup import escape

    from radvqa_data.audit.boilerplate import groups
    from radvqa_data.core.console import results

    style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    con = results()  # stdout, never wrapped off a terminal
    for st, kind, line in check_lines(findings, checks_run, fail_on):
        con.print(f"[{style[st]}]{st.upper():<4}[/] {kind:<19} {line}")
        if kind == "qa_boilerplate":
            gs = groups(findings)
            for answer, summary in gs[:MAX_GROUPS]:
                con.print(f'     [dim]"{escape(answer[:80])}": {escape(summary)}[/]')
            if len(gs) > MAX_GROUPS:
                con.print(f"     [dim]... {len(gs) - MAX_GROUPS} more group(s) in audit.json[/]")
