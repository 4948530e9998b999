"""Row-by-row comparison of two synth outputs (kept and rejected rows, ids, order).

A refactor of synth must leave its output unchanged; this says so, or names the first row that
differs. Also runnable on the full shared data:

    .venv/bin/python -m tests.helpers.shard_compare BEFORE/shards AFTER/shards

(exit status 1 and the first difference when they differ). `digest` sums a shard folder up in a
few lines of JSON, so a test can keep the sample's output as a committed fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PARTS = ("qa", "rejects")


def _tables(root: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    out = {}
    for part in PARTS:
        for f in sorted((root / part).glob("part-*.parquet")):
            out[f"{part}/{f.name}"] = pq.read_table(f)
    return out


def _row_text(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str, ensure_ascii=False)


def digest(root: str | Path) -> dict[str, dict[str, Any]]:
    """Per shard file: its schema, row count and a sha256 over its rows in order."""
    out = {}
    for name, table in _tables(Path(root)).items():
        h = hashlib.sha256(str(table.schema).encode())
        for row in table.to_pylist():
            h.update(_row_text(row).encode())
        out[name] = {"rows": table.num_rows, "sha256": h.hexdigest()}
    return out


def first_difference(before: str | Path, after: str | Path) -> str | None:
    """None when both folders hold the same shard files with the same rows in the same order;
    else a line naming the first file, row and column that differ."""
    a, b = _tables(Path(before)), _tables(Path(after))
    if sorted(a) != sorted(b):
        return f"shard files differ: only before {sorted(set(a) - set(b))[:5]}, only after {sorted(set(b) - set(a))[:5]}"  # noqa: E501
    for name in sorted(a):
        ta, tb = a[name], b[name]
        if ta.schema != tb.schema:
            return f"{name}: schema differs:\n{ta.schema}\n---\n{tb.schema}"
        ra, rb = ta.to_pylist(), tb.to_pylist()
        for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
            if x != y:
                cols = [k for k in x if x[k] != y.get(k)]
                return f"{name} row {i}: columns {cols} differ: {_row_text(x)} != {_row_text(y)}"
        if len(ra) != len(rb):
            return f"{name}: {len(ra)} rows before, {len(rb)} after"
    return None


def main(argv: list[str]) -> int:
    """`shard_compare BEFORE AFTER`: 0 and a summary when identical, 1 and the difference."""
    before, after = Path(argv[0]), Path(argv[1])
    diff = first_difference(before, after)
    if diff is not None:
        print(f"DIFFERENT: {diff}")
        return 1
    d = digest(after)
    kept = sum(v["rows"] for k, v in d.items() if k.startswith("qa/"))
    rejected = sum(v["rows"] for k, v in d.items() if k.startswith("rejects/"))
    print(f"identical: {len(d)} shard files, {kept} kept rows, {rejected} rejected rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
