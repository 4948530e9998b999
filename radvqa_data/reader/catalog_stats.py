"""Counts of a catalog by source, split, modality and status (`radvqa-data catalog stats`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radvqa_data.core import db
from radvqa_data.core.schema import IMAGE_STATUSES


def _grouped(con: Any, sql: str, params: list[Any]) -> dict[str, dict[str, int]]:
    """source -> {key: count} for a query returning (source, key, count); NULL keys become
    "none"."""
    out: dict[str, dict[str, int]] = {}
    for source, key, n in con.execute(sql, params).fetchall():
        out.setdefault(source, {})["none" if key is None else str(key)] = int(n)
    return out


def catalog_stats(catalog: str | Path) -> dict[str, Any]:
    """The catalog's counts, shaped as documented for `catalog stats --json`.

    ``{"sources": {NAME: {"kind", "path", "images", "status": {ok, missing, corrupt}, "splits",
    "modality", "qa_rows", "qa_splits", "texts", "concepts", "issues"}}}``. Images without a
    split or modality are counted under the key ``"none"``.
    """
    with db.connect(catalog, read_only=True) as con:
        sources = con.execute(
            "SELECT name, kind, path, updated_at FROM sources ORDER BY name"
        ).fetchall()
        by = "SELECT source, {col}, count(*) FROM {table} GROUP BY ALL ORDER BY ALL"
        status = _grouped(con, by.format(col="status", table="images"), [])
        splits = _grouped(con, by.format(col="split", table="images"), [])
        modality = _grouped(con, by.format(col="modality", table="images"), [])
        qa_splits = _grouped(con, by.format(col="split", table="benchmark_qa"), [])
        issues = _grouped(con, by.format(col="reason", table="ingest_issues"), [])
        texts = _grouped(con, by.format(col="field", table="texts"), [])
        concepts = dict(
            con.execute("SELECT source, count(*) FROM concepts GROUP BY ALL").fetchall()
        )
    out: dict[str, Any] = {}
    for name, kind, path, updated in sources:
        st = status.get(name, {})
        out[name] = {
            "kind": kind,
            "path": path,
            "updated_at": str(updated) if updated else None,
            "images": sum(st.values()),
            "status": {s: st.get(s, 0) for s in IMAGE_STATUSES},
            "splits": splits.get(name, {}),
            "modality": modality.get(name, {}),
            "qa_rows": sum(qa_splits.get(name, {}).values()),
            "qa_splits": qa_splits.get(name, {}),
            "texts": texts.get(name, {}),
            "concepts": int(concepts.get(name, 0)),
            "issues": issues.get(name, {}),
        }
    return {"sources": out}
