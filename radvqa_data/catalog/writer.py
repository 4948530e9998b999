"""Write one source's rows into the catalog in a single transaction (replacing earlier rows).

Rows go in column-wise (`radvqa_data.catalog.fast.bulk`), orders of magnitude faster than row-by-row
inserts in DuckDB.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from radvqa_data.catalog.fast import insert_columns, insert_rows
from radvqa_data.catalog.imageprobe import Probe
from radvqa_data.catalog.source_records import Issue, SourceData
from radvqa_data.core.catalog_schema import write_columns

#: [(column, type)] of an `images` row, from the catalog contract (`core.catalog_schema`).
IMAGE_WRITE_COLUMNS = write_columns("images")


def _image_rows(
    source: str, data: SourceData, probes: dict[str, Probe], issues: list[Issue]
) -> list[dict[str, Any]]:
    rows = []
    for im in data.images:
        row: dict[str, Any] = {
            k: getattr(im, k)
            for k, _ in IMAGE_WRITE_COLUMNS
            if hasattr(im, k) and k not in {"image_path", "extra", "status", "error"}
        }
        row.update(source=source, extra=json.dumps(im.extra, default=str) if im.extra else None)
        path = str(im.image_path) if im.image_path is not None else None
        if im.status is not None:  # the reader already judged the file (e.g. unreadable DICOM)
            row.update(status=im.status, error=im.error, image_path=path)
        elif path is None:
            row.update(status="missing", error=im.error or "no image file", image_path=None)
        else:
            probe = probes[path]
            row.update(
                status=probe.status, error=probe.error, sha256=probe.sha256, phash=probe.phash,
                width=probe.width, height=probe.height, format=probe.format,
                image_path=None if probe.status == "missing" else path,
            )  # fmt: skip
            if probe.status == "missing":
                row["error"] = f"file not found: {path}"
        if (
            row["status"] == "corrupt" and im.status is None
        ):  # a reader's own verdict is already an issue
            issues.append(Issue(im.image_id, "corrupt_image", row["error"] or ""))
        rows.append(row)
    return rows


def begin_source(con: duckdb.DuckDBPyConnection, source: str, data: SourceData) -> dict[str, int]:
    """Open the source's transaction on `con`: delete its old rows, insert the rows that need
    no probe.

    Texts, concepts, QA rows and CUI names do not depend on the image probes, so `add_source`
    writes them (on a cursor of its own) while the probe threads decode; `finish_source` adds
    the image rows and commits. Nothing is visible to readers before that commit; on any error
    the transaction is rolled back.
    """
    # Column lists, not a dict per text: MedPix has 15,675 of them.
    text_ids, text_fields, text_values = [], [], []
    for im in data.images:
        for f, t in im.texts.items():
            if t:
                text_ids.append(im.image_id)
                text_fields.append(f)
                text_values.append(t)
    texts = {
        "source": [source] * len(text_ids),
        "image_id": text_ids,
        "field": text_fields,
        "text": text_values,
    }
    concepts, seen = [], set()
    for im in data.images:
        for cui, semtype, origin in im.concepts:
            if (im.image_id, cui) not in seen:
                seen.add((im.image_id, cui))
                concepts.append(
                    {
                        "source": source,
                        "image_id": im.image_id,
                        "cui": cui,
                        "semtype": semtype,
                        "origin": origin,
                    }
                )
    qa = [
        {**q, "source": source, "extra": json.dumps(q.get("extra") or {}, default=str)}
        for q in data.qa
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("images", "texts", "concepts", "benchmark_qa", "ingest_issues"):
            con.execute(f"DELETE FROM {table} WHERE source = ?", [source])
        insert_columns(con, "texts", texts, write_columns("texts"))
        insert_rows(con, "concepts", concepts, write_columns("concepts"))
        insert_rows(con, "benchmark_qa", qa, write_columns("benchmark_qa"))
        if data.cui_names:
            names = [{"cui": k, "name": v} for k, v in data.cui_names.items()]
            insert_rows(con, "cui_names", names, write_columns("cui_names"), replace=True)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"texts": len(text_ids), "concepts": len(concepts), "qa_rows": len(qa)}


def finish_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    kind: str,
    root: Path,
    data: SourceData,
    probes: dict[str, Probe],
    staged: dict[str, int],
) -> dict[str, Any]:
    """Add the image rows, issues and the `sources` row to the transaction of `begin_source`;
    commit."""
    try:
        new_issues: list[Issue] = []
        images = _image_rows(source, data, probes, new_issues)
        all_issues = data.issues + new_issues
        issue_rows = [
            {"source": source, "item": i.item, "reason": i.reason, "detail": i.detail}
            for i in all_issues
        ]
        status = Counter(r["status"] for r in images)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        insert_rows(con, "images", images, IMAGE_WRITE_COLUMNS)
        insert_rows(con, "ingest_issues", issue_rows, write_columns("ingest_issues"))
        con.execute(
            "INSERT INTO sources "
            "(name, kind, path, added_at, updated_at, n_images, n_issues, meta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
            "path = excluded.path, updated_at = excluded.updated_at, n_images = excluded.n_images, "
            "n_issues = excluded.n_issues, meta = excluded.meta",
            [
                source,
                kind,
                str(root),
                now,
                now,
                len(images),
                len(issue_rows),
                json.dumps(data.meta, default=str),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {
        "images": len(images),
        "ok": status.get("ok", 0),
        "missing": status.get("missing", 0),
        "corrupt": status.get("corrupt", 0),
        **staged,
        "issues": Counter(i.reason for i in new_issues),
    }
