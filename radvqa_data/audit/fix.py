"""`--fix OUT`: a cleaned copy of the audited rows; the input is never modified.

Which row goes, per finding kind (side a is always the less protected side):

- qa_duplicate / qa_near_duplicate: side a (a repeat of side b; across splits, the training copy).
- qa_boilerplate: side a, in every split (side b describes the answer's group, not a row).
- benchmark_image: every row on side a's image; benchmark_question: the row of side a.
- image_same_picture across splits: every row on side a's image (the less protected split).
- group_leak: every row of the group in side a's split.
- caption_duplicate: not acted on (captions are not rows of the QA table); reported only.

`--fix-mode drop` removes those rows; `move` keeps them with split = "quarantine". Either way
`OUT/removed.parquet` lists each affected row with the kind and reason, and the kept rows are
written as `OUT/qa/part-00000.parquet` with the input's own columns.

`--decisions FILE` (`radvqa-data review pull`) then drops the rows a reviewer rejected and puts
their corrected answers in (`radvqa_data.core.decisions`, keyed by the row id); the counts go
into `fix_summary.json` under `decisions`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radvqa_data.audit.findings import Finding
from radvqa_data.core.atomic import write_json, write_parquet
from radvqa_data.core.errors import InputError
from radvqa_data.core.shards import ShardDir
from radvqa_data.core.splits import QUARANTINE


def rows_to_remove(rows: pl.DataFrame, findings: list[Finding]) -> pl.DataFrame:
    """(__k, kind, reason) for every row a finding condemns (first reason per row wins)."""
    by_rowid: dict[tuple, list[int]] = {}
    by_img: dict[tuple, list[int]] = {}
    by_group: dict[tuple, list[int]] = {}
    for k, src, split, rid, img, grp in rows.select(
        "__k", "__source", "__split", "__row_id", "__image_id", "__case_id"
    ).iter_rows():
        by_rowid.setdefault((src, split, rid), []).append(k)
        by_img.setdefault((src, img), []).append(k)
        by_group.setdefault((src, grp, split), []).append(k)
    ks: list[int] = []
    kinds: list[str] = []
    reasons: list[str] = []

    def add(keys: list[int], kind: str, reason: str) -> None:
        ks.extend(keys)
        kinds.extend([kind] * len(keys))
        reasons.extend([reason] * len(keys))

    for f in findings:
        b = f"{f.b.source}:{f.b.split}:{f.b.row_id or f.b.image_id}"
        if f.kind in ("qa_duplicate", "qa_near_duplicate"):
            ka = f.extra.get("k_a")
            add(
                [ka] if ka is not None else by_rowid.get((f.a.source, f.a.split, f.a.row_id), []),
                f.kind,
                f"{'duplicate' if f.kind == 'qa_duplicate' else 'near duplicate'} of {b} "
                f"(score {f.score:.2f})",
            )
        elif f.kind == "qa_boilerplate":
            why = f"boilerplate answer recurring in {f.extra['cases']} cases ({f.method})"
            add([f.extra["k_a"]], f.kind, why)
        elif f.kind == "benchmark_image":
            add(
                by_img.get((f.a.source, f.a.image_id), []),
                f.kind,
                f"image is the same picture as benchmark image {b} ({f.method} {f.score:.2f})",
            )
        elif f.kind == "benchmark_question":
            add(
                by_rowid.get((f.a.source, f.a.split, f.a.row_id), []),
                f.kind,
                f"question near-identical to benchmark question {b}",
            )
        elif f.kind == "image_same_picture" and f.cross_split:
            keys = [k for k in by_img.get((f.a.source, f.a.image_id), [])]
            add(keys, f.kind, f"image is the same picture as {b} ({f.method} {f.score:.2f})")
        elif f.kind == "group_leak":
            add(
                by_group.get((f.a.source, f.extra.get("group"), f.a.split), []),
                f.kind,
                f"group {f.extra.get('group')} also in split {f.b.split}",
            )
    df = pl.DataFrame(
        {"__k": ks, "kind": kinds, "reason": reasons},
        schema={"__k": pl.Int64, "kind": pl.String, "reason": pl.String},
    )
    return df.unique("__k", keep="first", maintain_order=True)


def write_fixed(
    out: Path,
    rows: pl.DataFrame,
    findings: list[Finding],
    inputs: list[Path],
    mode: str = "drop",
    decisions: Path | None = None,
) -> dict[str, int]:
    """Write the cleaned copy under `out`; returns counts per kind of affected rows (what
    `decisions` dropped and corrected is in `fix_summary.json`)."""
    if mode not in ("drop", "move"):
        raise InputError(f"--fix-mode {mode}: expected 'drop' or 'move'")
    out = Path(out)
    for p in inputs:
        if out.resolve() == Path(p).resolve() or Path(p).resolve() in out.resolve().parents:
            raise InputError(
                f"--fix {out}: must not be (inside) the input {p}; the input is never modified"
            )
    rem = rows_to_remove(rows, findings)
    orig_cols = [c for c in rows.columns if not c.startswith("__")]
    keep = rows.join(rem.select("__k"), on="__k", how="anti")
    if mode == "move":
        moved = rows.join(rem.select("__k"), on="__k", how="semi")
        split_col = _split_column(rows)
        if split_col:
            moved = moved.with_columns(pl.lit(QUARANTINE).alias(split_col))
        keep = pl.concat([keep, moved]).sort("__k")
    applied = None
    if decisions is not None:
        from radvqa_data.core.decisions import apply_decisions, read_decisions

        answer_col = _same_column(rows, "__answer") or "__answer"
        keep, applied = apply_decisions(
            keep, read_decisions(decisions), id_col="__row_id", answer_col=answer_col
        )
        applied["file"] = str(Path(decisions).resolve())
    shard_dir = ShardDir(out)
    write_parquet(shard_dir.qa_path(0), keep.select(orig_cols) if orig_cols else keep)
    removed = rows.join(rem, on="__k").select(
        pl.col("__row_id").alias("row_id"),
        pl.col("__source").alias("source"),
        pl.col("__split").alias("split"),
        pl.col("__image_id").alias("image_id"),
        pl.col("__question").alias("question"),
        "kind",
        "reason",
    )
    write_parquet(out / "removed.parquet", removed)
    counts = {k: int(n) for k, n in removed.group_by("kind").len().iter_rows()}
    # `inputs`: so `radvqa-data export OUT` finds the audited shard folder's manifest
    write_json(
        shard_dir.fix_summary,
        {
            "mode": mode,
            "rows_in": rows.height,
            "rows_out": keep.height,
            "affected": removed.height,
            "by_kind": counts,
            "inputs": [str(Path(p).resolve()) for p in inputs],
            "decisions": applied,
        },
    )
    return counts


def _split_column(rows: pl.DataFrame) -> str | None:
    """The user's column that became `__split` (so `move` rewrites it in place)."""
    return _same_column(rows, "__split")


def _same_column(rows: pl.DataFrame, canonical: str) -> str | None:
    """The user's column that became `canonical` (`__split`, `__answer`), to rewrite in place."""
    for c in rows.columns:
        if (
            not c.startswith("__")
            and rows[c].dtype == pl.String
            and rows[c].equals(rows[canonical], null_equal=True)
        ):
            return c
    return None
