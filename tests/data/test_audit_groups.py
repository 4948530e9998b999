"""The audit report a person reads (issue 23): findings grouped by check with benchmark leakage
first, each group's affected QA rows equal to what its printed `--fix` command takes out,
within-split pairs summarised, method details rounded and folded, an image in both VQA-RAD
splits named as such; the same figures in audit.json."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.audit.groups import REPORT_ORDER, format_detail
from radvqa_data.cli import app
from tests.helpers.audit import audited_shards

runner = CliRunner()


@pytest.fixture(scope="module")
def audit_report(tmp_path_factory: pytest.TempPathFactory, sample_catalog: Path):
    """(report folder, shards folder) of one audit of the planted shards against VQA-RAD."""
    root = tmp_path_factory.mktemp("audit-groups")
    shards = audited_shards(root, sample_catalog)
    rep = root / "report"
    res = runner.invoke(
        app,
        [
            "audit",
            str(shards),
            "--catalog",
            str(sample_catalog),
            "--against",
            "vqa-rad",
            "--report",
            str(rep),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    return rep, shards


def _run_fix(cmd: str) -> pl.DataFrame:
    """Run a command as printed in the report; returns its removed.parquet."""
    argv = shlex.split(cmd)
    assert argv[:2] == ["radvqa-data", "audit"]
    res = runner.invoke(app, [*argv[1:], "--no-progress"])
    assert res.exit_code == 0, res.output
    return pl.read_parquet(Path(argv[argv.index("--fix") + 1]) / "removed.parquet")


def test_groups_in_report_order_and_the_fix_command_does_what_it_says(audit_report):
    rep, shards = audit_report
    doc = json.loads((rep / "audit.json").read_text())
    assert set(doc) >= {"findings", "counts", "groups", "totals"}  # old keys kept
    groups = doc["groups"]
    assert [g["kind"] for g in groups] == list(REPORT_ORDER)
    assert [g["kind"] for g in groups[:3]] == [
        "benchmark_image",
        "benchmark_question",
        "group_leak",
    ]
    by = {g["kind"]: g for g in groups}
    assert all(g["findings"] == doc["counts"][g["kind"]] for g in groups)
    assert by["benchmark_image"]["findings"] >= 3 and by["qa_duplicate"]["findings"] == 3
    acting = [g for g in groups if g["affected_qa_rows"]]
    assert {"benchmark_image", "qa_duplicate"} <= {g["kind"] for g in acting}
    assert all(f"--only {g['kind']} --fix" in g["fix_command"] for g in acting)
    # checks with nothing to remove print no command
    assert all(g["fix_command"] is None for g in groups if not g["affected_qa_rows"])
    # the all-checks command, run as printed: it removes the rows the report counted, each once
    total = doc["totals"]
    assert total["qa_rows"] == pl.read_parquet(shards / "qa").height
    removed = _run_fix(total["fix_command"])
    assert removed.height == total["affected_qa_rows"] > 0
    assert removed["row_id"].n_unique() == removed.height
    assert total["affected_qa_rows"] <= sum(g["affected_qa_rows"] for g in acting)
    page = (rep / "report.html").read_text()
    assert total["fix_command"] in page and by["qa_duplicate"]["fix_command"] in page


@pytest.mark.slow  # one audit with pixel checks per group (~30 s on 2 busy cores)
def test_each_groups_fix_command_removes_its_affected_rows(audit_report):
    rep, shards = audit_report
    doc = json.loads((rep / "audit.json").read_text())
    for i, g in enumerate(g for g in doc["groups"] if g["affected_qa_rows"]):
        cmd = g["fix_command"].replace(f"{shards}-clean", f"{shards}-clean{i}")
        removed = _run_fix(cmd)
        assert removed.height == g["affected_qa_rows"], g["kind"]
        assert set(removed["kind"]) == {g["kind"]}


def test_within_split_pairs_are_summarised(audit_report):
    rep, _ = audit_report
    doc = json.loads((rep / "audit.json").read_text())
    dup = next(g for g in doc["groups"] if g["kind"] == "qa_duplicate")
    assert (dup["across_splits"], dup["within_split"]) == (1, 2)
    assert dup["within_split_by_split"] == {"medpix2:validation": 2}
    page = (rep / "report.html").read_text()
    section = page[page.index("id='g-qa_duplicate'") :]
    section = section[: section.index("</section>")]
    # the leak is listed; the two within-split pairs are a count per split, folded away
    listed, folded = section.split("<details class='pairs'>")
    assert "dupX" in listed and "dupW1" not in listed and "dupW2" not in listed
    assert "medpix2:validation</td><td>2</td>" in listed
    assert "dupW1" in folded and "dupW2" in folded


def test_leakage_first_method_details_rounded_and_vqa_rad_splits_named(audit_report):
    rep, _ = audit_report
    page = (rep / "report.html").read_text()
    sections = re.findall(r"<section class='group' id='g-(\w+)'", page)
    assert sections[0] == "benchmark_image" and sections.index("qa_duplicate") > 0
    assert not re.search(r"\d\.\d{5,}", page)  # no raw floats such as scale=0.7262901066733535
    assert "<details><summary>ncc-aligned</summary>" in page
    # synpic34054.jpg carries train and test questions: its catalog split is NULL
    assert "vqa-rad:train+test  synpic34054.jpg" in page and "vqa-rad:-" not in page
    doc = json.loads((rep / "audit.json").read_text())
    bench = [
        f["b"]
        for f in doc["findings"]
        if f["kind"] == "benchmark_image" and f["b"]["image_id"] == "synpic34054.jpg"
    ]
    assert bench and all(b["split"] is None and b["splits"] == ["train", "test"] for b in bench)


def test_format_detail_rounds_floats_and_hides_internal_keys():
    got = format_detail(
        {"scale": 0.7262901066733535, "half": 3, "path_a": "/x.png", "k_a": 4, "ncc": 0.99912}
    )
    assert got == "scale=0.726, half=3, ncc=0.999"


def test_catalog_only_audit_says_how_to_fix_rows_instead_of_a_command():
    from radvqa_data.audit.findings import Finding, Side
    from radvqa_data.audit.groups import summarize, totals
    from radvqa_data.audit.html import render

    f = Finding(
        "benchmark_image",
        Side("medpix2", "test", "MPX1_synpic1"),
        Side("vqa-rad", None, "synpic1.jpg", splits=("train", "test")),
        "ncc-aligned",
        0.98,
        {"ncc": 0.98123456, "scale": 0.7262901066733535},
    )
    groups = summarize([f], None, {"benchmark_image": "warn"}, None)
    tot = totals([f], None, None)
    assert tot == {"qa_rows": None, "affected_qa_rows": None, "fix_command": None}
    assert groups[0]["kind"] == "benchmark_image" and groups[0]["affected_qa_rows"] is None
    page = render([f], {"benchmark_image": "warn"}, "t", {}, groups, tot)
    assert "among the catalog's own sources" in page and "<pre class='cmd'" not in page
    assert "vqa-rad:train+test  synpic1.jpg" in page and "scale=0.726" in page
