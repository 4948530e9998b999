"""`report.html`: one self-contained page (thumbnails inlined as base64, no CDN, a few lines of
vanilla JS to sort the tables) that a person reads: what `--fix` would take out and the command,
a table of checks in report order (benchmark leakage first), then one section per check with its
findings (both images side by side, both texts), within-split pairs summarised per split and
folded away, method details folded under the method's name."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from radvqa_data.audit.findings import NOISE_KINDS, Finding, Side
from radvqa_data.audit.groups import format_detail, summarize
from radvqa_data.core.atomic import write_text

#: findings shown in the page (all are in audit.json); a page of 100k rows helps nobody
MAX_ROWS = 2000

_CSS = (
    "body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{border-bottom:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}"
    "th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}\n"
    "img{max-width:128px;max-height:128px;border:1px solid #ccc}.counts td{padding:2px 12px}"
    ".k{font-family:monospace}\n"
    ".pass{color:#1a7f37}.warn{color:#9a6700}.fail{color:#cf222e}small{color:#666}\n"
    "h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}"
    "h2 span{font-size:13px;margin-left:8px}\n"
    "pre.cmd{background:#f6f8fa;border:1px solid #ddd;padding:6px 8px;white-space:pre-wrap;"
    "word-break:break-all;font-size:12.5px}\n"
    ".todo{background:#fff8e1;border-left:4px solid #9a6700;padding:8px 12px;margin:12px 0}"
    ".note{color:#555;font-style:italic}table.within{width:auto}summary{cursor:pointer}"
)

_JS = (
    "document.querySelectorAll('th').forEach((th,i)=>th.addEventListener('click',()=>{\n"
    "const tb=th.closest('table').tBodies[0];const rows=[...tb.rows];"
    "const asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\n"
    "rows.sort((a,b)=>{const x=a.cells[i].dataset.v??a.cells[i].innerText,"
    "y=b.cells[i].dataset.v??b.cells[i].innerText;\n"
    "const nx=parseFloat(x),ny=parseFloat(y);"
    "const c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c});\n"
    "rows.forEach(r=>tb.appendChild(r));}));"
)


def _thumb(path: str | None, cache: dict[str, str]) -> str:
    """An <img> with the image inlined as a small JPEG data URI ('' when there is no file)."""
    if not path:
        return ""
    if path not in cache:
        try:
            from PIL import Image

            with Image.open(path) as im:
                im.draft("RGB", (256, 256))
                im = im.convert("RGB")
                im.thumbnail((128, 128))
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=80)
            cache[path] = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        except Exception:
            cache[path] = ""
    return f'<img src="{cache[path]}" alt="">' if cache[path] else "<small>(unreadable)</small>"


def _side_html(side: Side) -> str:
    head = html.escape(f"{side.where}  {side.image_id or ''}")
    row = f"<br><small>row {html.escape(str(side.row_id))}</small>" if side.row_id else ""
    text = f"<br>{html.escape(side.text[:400])}" if side.text else ""
    return f'<span class="k">{head}</span>{row}{text}'


def _findings_table(fs: list[Finding], cache: dict[str, str], css_id: str) -> str:
    """Findings with both sides' thumbnails; the method's details folded under its name."""
    out = [
        f"<table class='f' id='{css_id}'><thead><tr><th>score</th><th>image A</th><th>side A</th>"
        "<th>image B</th><th>side B</th><th>method</th></tr></thead><tbody>"
    ]
    for f in fs[:MAX_ROWS]:
        det = format_detail(f.extra)
        method = (
            f"<details><summary>{html.escape(f.method)}</summary><small>{html.escape(det)}"
            "</small></details>"
            if det
            else html.escape(f.method)
        )
        out.append(
            f"<tr><td data-v='{f.score:.4f}'>{f.score:.2f}</td>"
            f"<td>{_thumb(f.extra.get('path_a'), cache)}</td><td>{_side_html(f.a)}</td>"
            f"<td>{_thumb(f.extra.get('path_b'), cache)}</td><td>{_side_html(f.b)}</td>"
            f"<td>{method}</td></tr>"
        )
    out.append("</tbody></table>")
    if len(fs) > MAX_ROWS:
        out.append(f"<p>Showing {MAX_ROWS} of {len(fs)}; all are in audit.json.</p>")
    return "\n".join(out)


def _affected(g: dict) -> str:
    n = g["affected_qa_rows"]
    return "–" if n is None else str(n)


def _fix_html(g: dict) -> str:
    parts = []
    if g["fix_command"]:
        parts.append(
            f"<p>Take these {g['affected_qa_rows']} QA rows out (a cleaned copy; the input stays "
            f"as it is):</p><pre class='cmd'>{html.escape(g['fix_command'])}</pre>"
        )
    if g["fix_note"]:
        parts.append(f"<p class='note'>{html.escape(g['fix_note'])}</p>")
    return "".join(parts)


def _group_html(g: dict, fs: list[Finding], cache: dict[str, str]) -> str:
    """One check's section: counts, the fix, its leaks listed, its within-split pairs summarised
    (a count per split, the pairs themselves folded away)."""
    kind = g["kind"]
    within = [f for f in fs if not f.is_leak and kind not in NOISE_KINDS]
    listed = [f for f in fs if f not in within]
    head = (
        f"<section class='group' id='g-{kind}' data-kind='{kind}' data-findings='{len(fs)}' "
        f"data-affected='{_affected(g)}'>"
        f"<h2>{html.escape(g['title'])} <small class='k'>{kind}</small> "
        f"<span class='{g['status']}'>{g['status']}</span></h2>"
        f"<p>{len(fs)} finding(s): {g['across_splits']} across splits, {g['within_split']} within "
        f"one split. Affected QA rows: <b>{_affected(g)}</b>.</p>{_fix_html(g)}"
    )
    out = [head]
    if listed:
        out.append(_findings_table(listed, cache, f"t-{kind}"))
    if within:
        rows = "".join(
            f"<tr><td class='k'>{html.escape(k)}</td><td>{n}</td></tr>"
            for k, n in g["within_split_by_split"].items()
        )
        out.append(
            "<p>Pairs within one split (redundancy, not leakage):</p>"
            f"<table class='within'><tr><th>split</th><th>pairs</th></tr>{rows}</table>"
            f"<details class='pairs'><summary>show the {len(within)} within-split pair(s)</summary>"
            f"{_findings_table(within, cache, f'w-{kind}')}</details>"
        )
    out.append("</section>")
    return "\n".join(out)


def render(
    findings: list[Finding],
    status: dict[str, str],
    title: str,
    meta: dict[str, str],
    groups: list[dict] | None = None,
    totals: dict | None = None,
) -> str:
    """The whole page as a string: what to do first, then one section per check with findings,
    benchmark leakage first."""
    groups = groups if groups is not None else summarize(findings, None, status, None)
    totals = totals or {}
    cache: dict[str, str] = {}
    out = [
        (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        ),
        f"<h1>{html.escape(title)}</h1><p>"
        + " · ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in meta.items())
        + "</p>",
    ]
    n_aff = totals.get("affected_qa_rows")
    if totals.get("fix_command"):
        out.append(
            f"<div class='todo'><b>{len(findings)} finding(s); {n_aff} of "
            f"{totals.get('qa_rows')} QA rows affected.</b> Take them all out with:"
            f"<pre class='cmd' id='fix-all'>{html.escape(totals['fix_command'])}</pre>"
            "or one check at a time with the command in its section.</div>"
        )
    elif findings and totals.get("qa_rows") is None:
        out.append(
            f"<div class='todo'><b>{len(findings)} finding(s)</b> among the catalog's own "
            "sources. <code>--fix</code> cleans QA rows: audit your QA shards or table "
            "(<code>radvqa-data audit INPUT --catalog ... --fix OUT</code>) to take out the rows "
            "these findings touch.</div>"
        )
    elif findings:
        out.append(
            f"<div class='todo'><b>{len(findings)} finding(s)</b>, none on a QA row that "
            "<code>--fix</code> would take out (see each check's note).</div>"
        )
    else:
        out.append("<div class='todo'><b>No findings.</b></div>")
    out.append(
        "<table class='counts' id='checks'><thead><tr><th>check</th><th>status</th>"
        "<th>findings</th><th>across splits</th><th>within one split</th>"
        "<th>affected QA rows</th></tr></thead><tbody>"
    )
    for g in groups:
        name = html.escape(g["title"])
        if g["findings"]:
            name = f"<a href='#g-{g['kind']}'>{name}</a>"
        out.append(
            f"<tr data-kind='{g['kind']}'><td>{name} <small class='k'>{g['kind']}</small></td>"
            f"<td class='{g['status']}'>{g['status']}</td><td>{g['findings']}</td>"
            f"<td>{g['across_splits']}</td><td>{g['within_split']}</td><td>{_affected(g)}</td></tr>"
        )
    out.append("</tbody></table>")
    for g in groups:
        fs = sorted((f for f in findings if f.kind == g["kind"]), key=lambda f: -f.score)
        if fs:
            out.append(_group_html(g, fs, cache))
    out.append(
        "<p><small>Scores are 0..1 (1: certain). Method details (pixel correlation, crop scale "
        "and offset, text ratios) are folded under each method's name; audit.json has every "
        "finding.</small></p>"
    )
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out)


def write_report_html(
    path: Path,
    findings: list[Finding],
    status: dict[str, str],
    meta: dict[str, str],
    groups: list[dict] | None = None,
    totals: dict | None = None,
) -> None:
    """Write `report.html` atomically."""
    write_text(path, render(findings, status, "radvqa audit", meta, groups, totals))
