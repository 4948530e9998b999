"""Rules synth output on the shipped sample is exactly the recorded one (ids, rows, order).

A refactor of synth (rules, driver, filters, catalog reader) must not change a single row. The
fingerprint in gold/synth_sample_digest.json was written by the code before the issue-19
restructuring and rewritten once since, by issue 19's field rename (ORGAN rows' `source_field`
`metadata.region` -> `metadata.organ`, 106 rows; every other byte the same). A deliberate change
of the rules rewrites it:

    .venv/bin/python -m tests.data.test_synth_unchanged OUT_DIR_OF_sample_shards/shards

The full-data check (MedPix 2.0 + VQA-RAD + ROCO, before/after) is
`python -m tests.helpers.shard_compare BEFORE AFTER` (docs/architecture.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.helpers.shard_compare import digest

GOLD = Path(__file__).parent / "gold" / "synth_sample_digest.json"


def test_sample_synth_rows_unchanged(sample_shards: dict[str, Path]) -> None:
    want = json.loads(GOLD.read_text(encoding="utf-8"))
    got = digest(sample_shards["shards"])
    assert sum(v["rows"] for v in got.values()) > 0
    assert got == want


if __name__ == "__main__":
    GOLD.write_text(json.dumps(digest(sys.argv[1]), indent=1) + "\n", encoding="utf-8")
