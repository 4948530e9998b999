"""The QA columns are declared once (`radvqa_data.core.schema`): a column added there, and
nowhere else, reaches the reader, the export and the audit's cleaned copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import polars as pl

from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.core.schema import QA_COLUMNS, RECORD_COLUMNS
from radvqa_data.core.shards import ShardDir

REPO = Path(__file__).resolve().parents[2]

# Runs against a copy of radvqa_data whose schema.py has one more column, and nothing else edited.
SCRIPT = """
import json, sys
from pathlib import Path
import polars as pl
from typer.testing import CliRunner
import radvqa_data
from radvqa_data.cli import app
from radvqa_data.reader import read_qa

src, shards, catalog, work = map(Path, sys.argv[1:5])
assert Path(radvqa_data.__file__).is_relative_to(src), radvqa_data.__file__
seen = {}
df = read_qa("synthetic", shards=shards, catalog=catalog, require_images=False)
seen["reader"] = sorted(set(df["difficulty"].to_list()))
run = CliRunner().invoke
r = run(app, ["export", str(shards), "--format", "hf", "--out", str(work / "hf"), "--no-progress"])
assert r.exit_code == 0, r.output
hf = pl.read_parquet(sorted((work / "hf").rglob("*.parquet")))
seen["export"] = sorted(set(hf["difficulty"].to_list()))
r = run(app, ["audit", str(shards), "--no-images", "--fix", str(work / "fixed"), "--no-progress"])
assert r.exit_code in (0, 1), r.output
fixed = pl.read_parquet(sorted((work / "fixed" / "qa").glob("*.parquet")))
seen["audit"] = sorted(set(fixed["difficulty"].to_list()))
print(json.dumps(seen))
"""


def test_a_column_added_to_the_schema_reaches_reader_export_and_audit(tmp_path, sample_shards):
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "radvqa_data", src / "radvqa_data", ignore=shutil.ignore_patterns("__pycache__")
    )
    schema = src / "radvqa_data" / "core" / "schema.py"
    anchor = '    Column("span_end", pa.int32(), ""),\n'
    text = schema.read_text()
    assert text.count(anchor) == 1
    schema.write_text(
        text.replace(
            anchor, anchor + '    Column("difficulty", pa.string(), "a test column", read=True),\n'
        )
    )
    shards = tmp_path / "shards"
    shutil.copytree(sample_shards["shards"], shards)
    for i, f in enumerate(ShardDir(shards).qa_files()):
        df = pl.read_parquet(f)
        df.with_columns(pl.lit(f"level{i % 2}").alias("difficulty")).write_parquet(f)
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(src),
            str(shards),
            str(sample_shards["catalog"]),
            str(tmp_path / "work"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    n = len(ShardDir(shards).qa_files())
    want = sorted({f"level{i % 2}" for i in range(n)})
    assert seen == {"reader": want, "export": want, "audit": want}


def test_candidate_fields_are_qa_columns():
    """A candidate carries only QA columns (and its record, and why it was rejected), and every
    QA column is the row id, a record column or a candidate field."""
    names = {f.name for f in fields(Candidate)} - {"record", "reject_reason"}
    assert names <= set(QA_COLUMNS)
    assert set(QA_COLUMNS) == {"id"} | set(RECORD_COLUMNS) | names


def test_to_row_has_every_qa_column_in_schema_order():
    from radvqa_data.core.pipeline_records import ImageRecord

    rec = ImageRecord(source="s", image_id="i", case_id="c", split="test", status="ok")
    cand = Candidate(
        record=rec,
        question="q?",
        answer="a",
        answer_type="open",
        question_type="OTHER",
        generator="g",
        template_id="t",
        prompt_version="v1",
        seed=3,
        span_start=1,
        span_end=2,
    )
    row = cand.to_row(cand.row_id())
    assert tuple(row) == QA_COLUMNS
    assert row["id"] == cand.row_id() and len(row["id"]) == 16
    assert (row["image_id"], row["case_id"], row["source"], row["split"]) == ("i", "c", "s", "test")
    assert (row["question"], row["seed"], row["span_end"], row["model"]) == ("q?", 3, 2, None)
