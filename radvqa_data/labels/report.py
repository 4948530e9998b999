"""The label-issues report: one self-contained HTML page (thumbnails inline), worst first.

Each row shows the picture, its key, the field, the given and the suggested label, the score
(out-of-fold probability of the given label) and the evidence. The page also states the model's
cross-validated accuracy per field and how many pictures were flagged.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from radvqa_data.core import atomic
from radvqa_data.labels.issues import LabelIssue
from radvqa_data.labels.tasks import Picture

#: Rows shown (worst first); the table in the catalog holds them all.
MAX_ROWS = 400
THUMB = 160  # thumbnail side in pixels

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f4f4f4}img{display:block;background:#000}
.given{color:#b00020}.suggested{color:#006400;font-weight:600}.ev{max-width:40em;font-size:90%}
"""


def _thumb(path: str | None) -> str:
    """A data: URI of a small PNG of the picture ('' when it cannot be read)."""
    if not path:
        return ""
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.draft("L", (THUMB * 2, THUMB * 2))
            im = im.convert("L")
            im.thumbnail((THUMB, THUMB))
            buf = io.BytesIO()
            im.save(buf, format="PNG", optimize=True)
    except Exception:  # an unreadable file: the row stays, without its picture
        return ""
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "none"


def render(issues: list[LabelIssue], summary, pics: list[Picture]) -> str:
    """The report page as a string."""
    esc = html.escape
    paths = {p.key: p.image_path for p in pics}
    acc = ", ".join(f"{t} {a:.1%}" for t, a in summary.accuracy.items()) or "n/a"
    share = summary.flagged_images / summary.checked_images if summary.checked_images else 0.0
    head = (
        f"<h1>Label issues</h1><p>{len(issues)} issue(s) on {summary.flagged_images} image(s) "
        f"({share:.1%} of {summary.checked_images} checked); by field: "
        f"{esc(_counts(summary.issues_by_field))}; by method: "
        f"{esc(_counts(summary.issues_by_method))}."
        f"<br>Label model cross-validated accuracy: {esc(acc)}; trained on "
        f"{summary.training_pictures} pictures. Score: the out-of-fold probability of the "
        "given label (low: likely wrong). Worst first"
        + (f"; the first {MAX_ROWS} shown" if len(issues) > MAX_ROWS else "")
        + ".</p>"
    )
    rows = []
    for i in issues[:MAX_ROWS]:
        src = _thumb(paths.get((i.source, i.image_id)))
        img = f'<img src="{src}" alt="{esc(i.image_id)}">' if src else "(no picture)"
        score = "" if i.score is None else f"{i.score:.3f}"
        rows.append(
            f"<tr><td>{img}</td><td>{esc(i.source)}<br>{esc(i.image_id)}</td>"
            f"<td>{esc(i.field)}</td><td class=given>{esc(str(i.given))}</td>"
            f"<td class=suggested>{esc(str(i.suggested))}</td><td>{score}</td>"
            f"<td>{esc(i.method)}</td><td class=ev>{esc(i.evidence)}</td></tr>"
        )
    table = (
        "<table><tr><th>picture</th><th>image</th><th>field</th><th>given</th>"
        "<th>suggested</th><th>score</th><th>method</th><th>evidence</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Label issues</title>"
        f"<style>{_STYLE}</style></head><body>{head}{table}</body></html>\n"
    )


def write_report(folder: Path, issues: list[LabelIssue], summary, pics: list[Picture]) -> Path:
    """Write `folder/label-issues.html` atomically; return its path."""
    target = Path(folder) / "label-issues.html"
    atomic.write_text(target, render(issues, summary, pics))
    return target
