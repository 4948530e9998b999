"""The audit results a dataset card reports under "Contamination".

Reads what `radvqa-data audit` wrote: ``audit.json`` (``--report DIR``) and, from an
``--fix OUT`` folder, ``fix_summary.json`` + ``removed.parquet``. `--audit AUDIT_DIR` may
point at either folder (or one used for both); an exported ``--fix`` folder brings its own
fix summary (``fix_applied``: the exported rows are that cleaned copy). Per kind: findings,
how many cross splits, the protected benchmark sets that had findings, and how many of the
exported rows sit on the flagged side of a finding (what is still in the data).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError

#: Findings that condemn every row of side a's image, not one row.
_IMAGE_KINDS = ("benchmark_image", "image_same_picture")


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the audit output ({exc})") from exc


def _findings_summary(doc: dict, rows: pl.DataFrame) -> dict:
    findings = doc.get("findings") or []
    by_kind = {k: {"findings": 0, "cross_split": 0} for k in doc.get("counts") or {}}
    against: Counter = Counter()
    flag_rows: set[str] = set()
    flag_images: set[tuple[str, str]] = set()
    for f in findings:
        a, b = f.get("a") or {}, f.get("b") or {}
        cell = by_kind.setdefault(f["kind"], {"findings": 0, "cross_split": 0})
        cell["findings"] += 1
        if (a.get("source"), a.get("split")) != (b.get("source"), b.get("split")):
            cell["cross_split"] += 1
        if f["kind"].startswith("benchmark"):
            against[":".join(x for x in (b.get("source"), b.get("split")) if x)] += 1
        if a.get("row_id"):
            flag_rows.add(a["row_id"])
        if f["kind"] in _IMAGE_KINDS and a.get("image_id"):
            if f["kind"] == "benchmark_image" or a.get("split") != b.get("split"):
                flag_images.add((a.get("source"), a["image_id"]))
    keys = list(zip(rows["source"].to_list(), rows["image_id"].to_list(), strict=True))
    flagged = sum(
        1
        for rid, key in zip(rows["id"].to_list(), keys, strict=True)
        if rid in flag_rows or key in flag_images
    )
    return {
        "by_kind": by_kind,
        "against": dict(sorted(against.items())),
        "rows_flagged_in_export": flagged,
    }


def _fix_summary(folder: Path) -> dict:
    fix = _load(folder / "fix_summary.json")
    removed = folder / "removed.parquet"
    if removed.is_file():
        df = pl.read_parquet(removed, columns=["kind"])
        fix["removed_by_kind"] = {
            k: int(n) for k, n in sorted(df.group_by("kind").len().iter_rows())
        }
    return fix


def read_contamination(
    audit_dir: Path | None, export_folder: Path, rows: pl.DataFrame
) -> dict | None:
    """``{"audit", "fix", "fix_applied"}`` (None where absent), or None when there is neither."""
    audit = fix = None
    if audit_dir is not None:
        audit_dir = Path(audit_dir)
        has_report = (audit_dir / "audit.json").is_file()
        has_fix = (audit_dir / "fix_summary.json").is_file()
        if not (has_report or has_fix):
            raise InputError(
                f"--audit {audit_dir}: no audit.json or fix_summary.json there; expected "
                "the --report or --fix folder of `radvqa-data audit`"
            )
        if has_report:
            audit = _findings_summary(_load(audit_dir / "audit.json"), rows)
        if has_fix:
            fix = _fix_summary(audit_dir)
    applied = (export_folder / "fix_summary.json").is_file()
    if applied:
        fix = _fix_summary(export_folder)
    if audit is None and fix is None:
        return None
    return {"audit": audit, "fix": fix, "fix_applied": applied}
