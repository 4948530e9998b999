"""What a review dataset shows, as plain records: one per image, its QA rows inside.

`review_records(folder, catalog, ...)` reads a shard folder (`radvqa-data synth` or
`audit --fix` output), joins its rows to the catalog's images (file, split, case, modality,
plane, organ), and, when asked, to the catalog's `label_issues` table and to an audit's
findings. Nothing here imports FiftyOne: `dataset.py` turns the records into samples, and the
records' `digest` lets a rerun add or update only what changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.core.shards import ShardDir

#: QA columns put on each label (besides the row id, kept as `row_id`).
LABEL_COLUMNS = (
    "question",
    "answer",
    "answer_type",
    "question_type",
    "generator",
    "template_id",
    "prompt_version",
    "model",
    "source_field",
    "source_text",
    "span_start",
    "span_end",
)
#: Image columns put on each sample.
IMAGE_FIELDS = ("split", "case_id", "modality", "plane", "organ", "status")
#: Metadata fields whose label issues (issue 21's `label_issues` table) become sample flags.
FLAGGED_FIELDS = ("modality", "plane", "organ")


@dataclass
class ReviewRecords:
    """The images to show (one dict per image, with `qa`: its rows) and what was left out."""

    images: list[dict]
    rows: int
    no_image_file: int = 0  # images (and their rows) left out: the catalog has no file
    rows_without_image: int = 0
    notes: list[str] = field(default_factory=list)


def read_rows(folder: str | Path) -> pl.DataFrame:
    """The QA rows of a shard folder (all columns), with a readable error when there are none."""
    folder = Path(folder)
    return ShardDir(folder).read_qa(
        f"{folder}/qa: no part-*.parquet shards; expected the output folder of "
        "`radvqa-data synth` or `radvqa-data audit --fix`"
    )


def _images(catalog: Path) -> pl.DataFrame:
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import review_images

    if not Path(catalog).is_file():
        raise InputError(f"--catalog {catalog}: catalog not found (expected a DuckDB file)")
    with connect(catalog, read_only=True) as con:
        return review_images(con)


def read_label_issues(catalog: Path) -> pl.DataFrame:
    """The catalog's `label_issues` table (issue 21: source, image_id, field, given, suggested,
    score, evidence, method); an `InputError` that says how to make it when it is absent."""
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import label_issue_rows

    with connect(catalog, read_only=True) as con:
        issues = label_issue_rows(con)
    if issues is None:
        raise InputError(
            f"{catalog}: no label_issues table (--label-issues shows the metadata label issues "
            "that `radvqa-data label-issues` writes; run it first, or leave out --label-issues)"
        )
    return issues


def _issue_notes(issues: pl.DataFrame) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in issues.iter_rows(named=True):
        out.setdefault((r["source"], r["image_id"]), []).append(r)
    return out


def read_findings(audit: Path) -> tuple[dict[str, list[str]], dict[tuple, list[str]]]:
    """An audit's findings as short notes: by QA row id, and by (source, image_id) for findings
    about a picture (same picture, benchmark image) rather than a row."""
    path = Path(audit) / "audit.json" if Path(audit).is_dir() else Path(audit)
    if not path.is_file():
        raise InputError(f"--audit {audit}: no audit.json (expected `radvqa-data audit --report`)")
    try:
        findings = json.loads(path.read_text(encoding="utf-8"))["findings"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: cannot read the findings ({exc})") from exc
    by_row: dict[str, list[str]] = {}
    by_image: dict[tuple, list[str]] = {}
    for f in findings:
        a, b = f.get("a") or {}, f.get("b") or {}
        other = f"{b.get('source')}:{b.get('split')}:{b.get('row_id') or b.get('image_id')}"
        note = f"{f['kind']} with {other} ({f.get('method')} {float(f.get('score') or 0):.2f})"
        if a.get("row_id"):
            by_row.setdefault(str(a["row_id"]), []).append(note)
        elif a.get("image_id"):
            by_image.setdefault((a.get("source"), a["image_id"]), []).append(note)
            if f["kind"] == "image_same_picture" and b.get("image_id"):  # both are ours
                mine = f"{a.get('source')}:{a.get('split')}:{a['image_id']}"
                back = (
                    f"{f['kind']} with {mine} ({f.get('method')} {float(f.get('score') or 0):.2f})"
                )
                by_image.setdefault((b.get("source"), b["image_id"]), []).append(back)
    return by_row, by_image


def _digest(record: dict) -> str:
    """A short hash of everything a sample shows, to tell a changed image on a rerun."""
    blob = json.dumps(record, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()[:16]


def review_records(
    rows: pl.DataFrame,
    catalog: Path,
    *,
    audit: Path | None = None,
    label_issues: bool = False,
) -> ReviewRecords:
    """One record per image of `rows` that has a file; see the module docstring."""
    images = _images(catalog)
    issues = _issue_notes(read_label_issues(catalog)) if label_issues else {}
    by_row, by_image = read_findings(audit) if audit is not None else ({}, {})
    cols = ["id", "source", "image_id", *[c for c in LABEL_COLUMNS if c in rows.columns]]
    joined = rows.select(cols).join(images, on=["source", "image_id"], how="left")
    has_file = (pl.col("status") == "ok") & pl.col("filepath").is_not_null()
    out = ReviewRecords(images=[], rows=rows.height)
    missing = joined.filter(~has_file.fill_null(False))
    out.rows_without_image = missing.height
    out.no_image_file = missing.select("source", "image_id").unique().height
    joined = joined.filter(has_file).sort("source", "image_id", "id")
    for (source, image_id), part in joined.group_by(["source", "image_id"], maintain_order=True):
        first = part.row(0, named=True)
        qa = [
            {
                "row_id": r["id"],
                **{c: r.get(c) for c in LABEL_COLUMNS},
                "audit": by_row.get(r["id"], []),
            }
            for r in part.iter_rows(named=True)
        ]
        notes = issues.get((source, image_id), [])
        rec = {
            "filepath": first["filepath"],
            "image_key": f"{source}:{image_id}",
            "source": source,
            "image_id": image_id,
            **{f: first["image_split" if f == "split" else f] for f in IMAGE_FIELDS},
            "flags": sorted({n["field"] for n in notes}),
            "label_issues": [
                f"{n['field']}: {n['given']} -> {n['suggested']} ({n['method']} "
                f"{float(n['score'] or 0):.2f})"
                for n in notes
            ],
            "audit": by_image.get((source, image_id), []),
            "qa": qa,
        }
        rec["digest"] = _digest(rec)
        out.images.append(rec)
    return out
