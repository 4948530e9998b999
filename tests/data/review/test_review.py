"""`radvqa-data review` on the shipped MedPix sample (real images): the dataset's shape, the
round trip review -> tag -> pull -> export / audit --fix / read_qa, and an incremental rerun."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.core.shards import ShardDir
from radvqa_data.reader import read_qa
from radvqa_data.review.run import build_review
from tests.helpers.export import export, qa_rows
from tests.helpers.review import label_ids, labels_by_row

runner = CliRunner()


def _images_with_files(shards: Path, catalog: Path) -> set[tuple[str, str]]:
    import duckdb

    rows = qa_rows(shards).select("source", "image_id").unique()
    with duckdb.connect(str(catalog), read_only=True) as con:
        ok = con.sql("SELECT source, image_id, image_path FROM images WHERE status = 'ok'").pl()
    have = rows.join(ok, on=["source", "image_id"])
    return {(s, i) for s, i, p in have.iter_rows() if Path(p).is_file()}


def test_one_sample_per_image_one_label_per_row(fo, sample_shards, dataset_name):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    r = runner.invoke(
        app,
        ["review", str(shards), "--catalog", str(catalog), "--name", dataset_name, "--no-progress"],
    )
    assert r.exit_code == 0, r.output
    ds = fo.load_dataset(dataset_name)
    assert ds.persistent  # `fiftyone app launch NAME` runs in another process
    images = _images_with_files(shards, catalog)
    assert len(images) > 10 and len(ds) == len(images)
    assert set(zip(*ds.values(["source", "image_id"]), strict=True)) == images
    rows = qa_rows(shards)
    ids = label_ids(ds)
    assert len(ids) == len(set(ids)) == rows.height  # every row, once
    assert set(ids) == set(rows["id"].to_list())
    # each label carries its row: question, answer, type, generator, span
    by_row = labels_by_row(ds)
    for row in rows.head(25).iter_rows(named=True):
        sample, lab = by_row[row["id"]]
        assert (sample.source, sample.image_id) == (row["source"], row["image_id"])
        assert Path(sample.filepath).is_file()
        for col in ("question", "answer", "question_type", "generator", "source_text"):
            assert lab[col] == row[col]
        assert lab.label == f"{row['question']} -> {row['answer']}"
    assert f"{len(ds)} images, {rows.height} QA rows (added {len(ds)}," in r.output


def test_round_trip_tags_to_export_audit_fix_and_reader(fo, sample_shards, dataset_name, tmp_path):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    build_review(shards, catalog, dataset_name, progress=False)
    ds = fo.load_dataset(dataset_name)
    by_row = labels_by_row(ds)
    rows = qa_rows(shards).sort("id")
    # a person's verdicts, set through FiftyOne's API: three rows rejected, one image rejected,
    # one answer corrected
    rejected_rows = rows["id"].to_list()[:3]
    for rid in rejected_rows:
        sample, lab = by_row[rid]
        lab.tags.append("reject")
        sample.save()
    sample = ds.skip(5).first()
    sample.tags.append("reject")
    sample.save()
    image_rows = [lab.row_id for lab in sample.qa.classifications]
    fix_id = next(r for r in rows["id"].to_list()[3:] if r not in image_rows)
    s2, lab = by_row[fix_id]
    s2 = ds[s2.id]
    lab = next(c for c in s2.qa.classifications if c.row_id == fix_id)
    lab["corrected_answer"] = "a corrected answer"
    s2.save()
    gone = set(rejected_rows) | set(image_rows)

    decisions = tmp_path / "decisions.parquet"
    r = runner.invoke(app, ["review", "pull", dataset_name, "--out", str(decisions)])
    assert r.exit_code == 0, r.output
    d = pl.read_parquet(decisions)
    assert set(d.filter(pl.col("action") == "reject")["id"].to_list()) == gone
    assert d.filter(pl.col("action") == "correct").rows() == [
        tuple(d.filter(pl.col("id") == fix_id).row(0))
    ]

    # export: the rejected rows are gone, the correction is in, the images are real files
    before = export(shards, tmp_path / "all", "llava")
    summary = export(shards, tmp_path / "reviewed", "llava", "--decisions", str(decisions))
    assert summary["rows"] == before["rows"] - len(gone)
    assert summary["decisions"]["rejected"] == len(gone) and summary["decisions"]["corrected"] == 1
    records = [
        x
        for f in (tmp_path / "reviewed").glob("*.json")
        if f.name not in ("export.json",)
        for x in json.loads(f.read_text())
    ]
    assert gone.isdisjoint({x["id"] for x in records})
    fixed = next(x for x in records if x["id"] == fix_id)
    assert fixed["conversations"][1]["value"] == "a corrected answer"
    assert all((tmp_path / "reviewed" / x["image"]).is_file() for x in records)
    card = (tmp_path / "reviewed" / "README.md").read_text()
    assert f"{len(gone)} rows rejected by a reviewer and left out, 1 answers corrected" in card

    # audit --fix --decisions: the cleaned copy lacks them too
    out = tmp_path / "fixed"
    r = runner.invoke(
        app,
        ["audit", str(shards), "--catalog", str(catalog), "--no-images", "--no-progress",
         "--only", "qa_duplicate", "--fix", str(out), "--decisions", str(decisions)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    kept = pl.read_parquet(ShardDir(out).qa_files())
    assert gone.isdisjoint(set(kept["id"].to_list()))
    assert kept.filter(pl.col("id") == fix_id)["answer"].to_list() == ["a corrected answer"]
    summ = json.loads(ShardDir(out).fix_summary.read_text())["decisions"]
    assert summ["rejected"] == len(gone) and f"review: {len(gone)} rows rejected" in r.output

    # the trainer's reader
    stats: dict = {}
    df = read_qa("synthetic", shards=shards, catalog=catalog, decisions=decisions, stats=stats)
    assert gone.isdisjoint(set(df["id"].to_list())) and stats["decisions"]["rejected"] == len(gone)
    assert df.filter(pl.col("id") == fix_id)["answer"].to_list() == ["a corrected answer"]


def test_rerun_adds_only_what_changed_and_keeps_verdicts(fo, sample_shards, dataset_name, tmp_path):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    first = build_review(shards, catalog, dataset_name, progress=False)
    again = build_review(shards, catalog, dataset_name, progress=False)
    assert again["added"] == again["updated"] == again["removed"] == 0
    assert again["unchanged"] == first["images"]
    ds = fo.load_dataset(dataset_name)
    modified_before = dict(zip(*ds.values(["image_key", "last_modified_at"]), strict=True))

    # a person tags a row on image A and image B itself; image C untouched
    keys = sorted(modified_before)
    a, b, c = keys[0], keys[1], keys[2]
    sa = ds.one({"image_key": a})
    kept_row = sa.qa.classifications[-1].row_id
    sa.qa.classifications[-1].tags.append("wrong")
    sa.qa.classifications[-1]["corrected_answer"] = "fixed"
    sa.save()
    sb = ds.one({"image_key": b})
    sb.tags.append("reject")
    sb.save()

    # new shards: A loses its first row, B and C are gone
    rows = qa_rows(shards)
    drop_a = sa.qa.classifications[0].row_id
    src = lambda k: tuple(k.split(":", 1))  # noqa: E731
    changed = rows.filter(
        (pl.col("id") != drop_a)
        & ~pl.struct("source", "image_id").is_in(
            [dict(zip(("source", "image_id"), src(k), strict=True)) for k in (b, c)]
        )
    )
    new = tmp_path / "shards"
    shutil.copytree(shards, new)
    for f in ShardDir(new).qa_files():
        f.unlink()
    changed.write_parquet(ShardDir(new).qa_path(0))
    third = build_review(new, catalog, dataset_name, progress=False)
    assert (third["added"], third["updated"], third["removed"], third["stale"]) == (0, 1, 1, 1)
    ds.reload()
    after = dict(zip(*ds.values(["image_key", "last_modified_at"]), strict=True))
    untouched = set(keys) - {a, b, c}
    assert all(after[k] == modified_before[k] for k in untouched)  # not rewritten
    assert c not in after and ds.one({"image_key": b}).stale  # B kept: it carries a verdict
    sa = ds.one({"image_key": a})
    tags = {lab.row_id: lab.tags for lab in sa.qa.classifications}
    assert drop_a not in tags and tags[kept_row] == ["wrong"]
    assert sa.qa.classifications[-1].row_id == kept_row
    assert sa.qa.classifications[-1]["corrected_answer"] == "fixed"


def test_label_issues_and_audit_findings_on_the_samples(fo, sample_shards, dataset_name, tmp_path):
    import duckdb

    shards = sample_shards["shards"]
    catalog = Path(shutil.copy(sample_shards["catalog"], tmp_path / "catalog.duckdb"))
    args = ["review", str(shards), "--catalog", str(catalog), "--name", dataset_name]
    r = runner.invoke(app, [*args, "--label-issues", "--no-progress"])
    assert r.exit_code == 1 and "no label_issues table" in r.output and str(catalog) in r.output

    image_id = qa_rows(shards)["image_id"][0]
    with duckdb.connect(str(catalog)) as con:  # issue 21's table, as the label check writes it
        con.execute(
            "CREATE TABLE label_issues (source VARCHAR, image_id VARCHAR, field VARCHAR, "
            "given VARCHAR, suggested VARCHAR, score DOUBLE, evidence VARCHAR, method VARCHAR)"
        )
        con.execute(
            "INSERT INTO label_issues VALUES ('medpix2', ?, 'plane', 'axial', 'coronal', 0.91, "
            "'caption says coronal', 'caption')",
            [image_id],
        )
    # the shards plus one row repeated under another id: a QA duplicate finding on a row
    rows = qa_rows(shards)
    dup = rows.head(1).with_columns(pl.lit("dup0000000000001").alias("id"))
    dup_shards = tmp_path / "shards"
    shutil.copytree(shards, dup_shards)
    pl.concat([rows, dup]).write_parquet(ShardDir(dup_shards).qa_path(0))
    for f in ShardDir(dup_shards).qa_files()[1:]:
        f.unlink()
    report = tmp_path / "audit"
    r = runner.invoke(
        app,
        ["audit", str(dup_shards), "--catalog", str(catalog), "--against", "vqa-rad",
         "--no-progress", "--report", str(report)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    args[1] = str(dup_shards)
    r = runner.invoke(app, [*args, "--label-issues", "--audit", str(report), "--no-progress"])
    assert r.exit_code == 0, r.output
    ds = fo.load_dataset(dataset_name)
    flagged = ds.match({"flags": "plane"})
    assert flagged.values("image_id") == [image_id]
    assert flagged.first().label_issues == ["plane: axial -> coronal (caption 0.91)"]
    findings = json.loads((report / "audit.json").read_text())["findings"]
    on_rows = [f for f in findings if f["a"].get("row_id")]
    on_images = [f for f in findings if not f["a"].get("row_id")]
    assert {f["kind"] for f in on_rows} == {"qa_duplicate"}
    assert {f["kind"] for f in on_images} >= {"benchmark_image"}
    notes = [n for ns in ds.values("qa.classifications.audit") for ls in ns for n in ls or []]
    assert sorted(n.split(" ")[0] for n in notes) == sorted(f["kind"] for f in on_rows)
    image_notes = [n for ns in ds.values("audit") for n in ns or []]
    same = sum(f["kind"] == "image_same_picture" for f in on_images)  # noted on both images
    assert len(image_notes) == len(on_images) + same
    for f in on_images:
        sample = ds.one({"image_key": f"{f['a']['source']}:{f['a']['image_id']}"})
        assert any(n.startswith(f["kind"]) for n in sample.audit)


def test_errors_are_one_line(fo, tmp_path):
    r = runner.invoke(app, ["review", "pull", "no-such-dataset", "--out", str(tmp_path / "d")])
    assert r.exit_code == 1 and "no FiftyOne dataset named 'no-such-dataset'" in r.output
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"row": ["x"]}).write_parquet(bad)
    r = runner.invoke(app, ["review", "score", "no-such-dataset"])
    assert r.exit_code == 1 and r.output.startswith("Error:")


@pytest.mark.parametrize("missing", [True, False])
def test_export_refuses_a_bad_decisions_file(sample_shards, tmp_path, missing):
    bad = tmp_path / "bad.parquet"
    if not missing:
        pl.DataFrame({"row": ["x"]}).write_parquet(bad)
    r = runner.invoke(
        app,
        ["export", str(sample_shards["shards"]), "--out", str(tmp_path / "o"), "--decisions",
         str(bad), "--no-progress"],
    )  # fmt: skip
    assert r.exit_code == 1 and str(bad) in r.output
    assert ("file not found" if missing else "lacks columns ['action', 'id']") in r.output
