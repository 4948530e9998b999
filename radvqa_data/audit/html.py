"""`report.html`: one self-contained page (thumbnails inlined as base64, no CDN, a few lines of
vanilla JS to sort the table) that a person reads: counts per check, then every finding with both
images side by side and both texts."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from radvqa_data.audit.findings import KINDS, Finding, count_by_kind
from radvqa_data.audit.report import CHECK_TITLES
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
    ".pass{color:#1a7f37}.warn{color:#9a6700}.fail{color:#cf222e}small{color:#666}"
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


def _side_html(side: object) -> str:
    s = side  # Side
    head = html.escape(f"{s.source}:{s.split or '-'}  {s.image_id or ''}")  # type: ignore[attr-defined]
    row = f"<br><small>row {html.escape(str(s.row_id))}</small>" if s.row_id else ""  # type: ignore[attr-defined]
    text = f"<br>{html.escape(s.text[:400])}" if s.text else ""  # type: ignore[attr-defined]
    return f'<span class="k">{head}</span>{row}{text}'


def render(
    findings: list[Finding], status: dict[str, str], title: str, meta: dict[str, str]
) -> str:
    """The whole page as a string."""
    counts = count_by_kind(findings)
    cache: dict[str, str] = {}
    out = [
        (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        ),
        f"<h1>{html.escape(title)}</h1><p>"
        + " · ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in meta.items())
        + "</p>",
        (
            "<table class='counts'><tr><th>check</th><th>status</th><th>findings</th>"
            "<th>across splits</th></tr>"
        ),
    ]
    for k in KINDS:
        st = status.get(k, "skip")
        cross = sum(1 for f in findings if f.kind == k and f.cross_split)
        out.append(
            f"<tr><td>{CHECK_TITLES[k]} <small class='k'>{k}</small></td>"
            f"<td class='{st}'>{st}</td><td>{counts[k]}</td><td>{cross}</td></tr>"
        )
    out.append("</table>")
    shown = sorted(findings, key=lambda f: (KINDS.index(f.kind), -f.score))[:MAX_ROWS]
    if len(findings) > MAX_ROWS:
        out.append(f"<p>Showing {MAX_ROWS} of {len(findings)} findings; all are in audit.json.</p>")
    out.append(
        "<h2>Findings</h2><table id='f'><thead><tr><th>kind</th><th>method</th><th>score</th>"
        "<th>image A</th><th>side A</th><th>image B</th><th>side B</th></tr></thead><tbody>"
    )
    for f in shown:
        pa, pb = f.extra.get("path_a"), f.extra.get("path_b")
        det = ", ".join(
            f"{k}={v}" for k, v in f.extra.items() if k not in ("path_a", "path_b", "k_a", "k_b")
        )
        out.append(
            f"<tr><td class='k'>{f.kind}</td>"
            f"<td>{html.escape(f.method)}<br><small>{html.escape(det)}</small></td>"
            f"<td data-v='{f.score:.4f}'>{f.score:.3f}</td><td>{_thumb(pa, cache)}</td>"
            f"<td>{_side_html(f.a)}</td>"
            f"<td>{_thumb(pb, cache)}</td><td>{_side_html(f.b)}</td></tr>"
        )
    out.append(f"</tbody></table><script>{_JS}</script></body></html>")
    return "\n".join(out)


def write_report_html(
    path: Path, findings: list[Finding], status: dict[str, str], meta: dict[str, str]
) -> None:
    """Write `report.html` atomically."""
    write_text(path, render(findings, status, "radvqa audit", meta))
