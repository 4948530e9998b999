"""The dataset card of every export: Hub YAML that parses, counts equal to the manifest,
sources with licences and citations, and the audit's contamination summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.export.sources import hub_license
from radvqa_data.export.stats import size_category
from tests.helpers.export import export

runner = CliRunner()


def table(card: str, first_header: str) -> dict[str, list[str]]:
    """The markdown table whose first header cell is `first_header`: {first cell: other cells}."""
    lines = card.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("fmt", ["llava", "sharegpt", "messages", "hf"])
def test_card_parses_and_its_counts_match_the_manifest(fmt, exports, sample_shards):
    from huggingface_hub import DatasetCard

    out = exports[fmt]
    card = DatasetCard.load(out / "README.md")  # a local file: no network
    meta = card.data.to_dict()
    assert meta["task_categories"] == ["visual-question-answering"] and meta["language"] == ["en"]
    # MedPix 2.0 publishes no licence: `other`, with what is known per source (not `unknown`)
    assert meta["license"] == "other"
    assert meta["license_details"] == "medpix2: none published (NLM MedPix content; see note)"
    man = json.loads((sample_shards["shards"] / "manifest.json").read_text())
    assert meta["size_categories"] == [size_category(man["qa_rows"])]
    data_files = meta["configs"][0]["data_files"]
    assert {d["split"] for d in data_files} == set(man["by_split"])
    assert all(list(out.glob(d["path"])) for d in data_files)  # every config path names files

    body = card.text
    assert {s: int(c[0]) for s, c in table(body, "split").items()} == man["by_split"]
    types = table(body, "question type")
    got = {
        f"{t}/{at}": int(c[i])
        for t, c in types.items()
        for i, at in enumerate(("closed", "open"))
        if int(c[i])
    }
    assert got == man["by_type_and_answer_type"]
    for t, counts in man["yes_no_counts"].items():  # "45.5% (30/66)"
        yes, total = re.search(r"\((\d+)/(\d+)\)", types[t][2]).groups()
        assert (int(yes), int(total)) == (counts["yes"], counts["yes"] + counts["no"])
        assert types[t][2].startswith(f"{man['yes_rate'][t]:.1%}")
    assert {r: int(c[0]) for r, c in table(body, "reason").items()} == man["rejects_by_reason"]
    assert "Siragusa" in body and "arXiv:2407.02994" in body  # the source's citation
    from radvqa_data.synth.rules.templates import RULES_VERSION

    assert "generator_settings:" in body and f"rules_version: {RULES_VERSION}" in body
    assert "No audit was given to this export" in body


def test_contamination_from_the_audit_and_what_fix_removed(sample_shards, tmp_path: Path):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    report, fixed = tmp_path / "audit", tmp_path / "fixed"
    args = ["--catalog", str(catalog), "--against", "vqa-rad", "--no-progress"]
    r = runner.invoke(
        app, ["audit", str(shards), *args, "--report", str(report), "--fix", str(fixed)]
    )
    assert r.exit_code == 0, r.output
    findings = json.loads((report / "audit.json").read_text())
    fix = json.loads((fixed / "fix_summary.json").read_text())
    assert fix["inputs"] == [str(shards.resolve())] and fix["affected"] > 0

    # the raw shards with the report: findings listed, flagged rows still there
    raw = tmp_path / "raw"
    export(shards, raw, "llava", "--audit", str(report))
    card = (raw / "README.md").read_text().split("## Contamination", 1)[1]
    rows = table(card, "check")
    assert {k: int(v[0]) for k, v in rows.items()} == findings["counts"]
    assert f"condemns): {fix['affected']}." in card and "not cleaned with `audit --fix`" in card

    # the raw shards with only the --fix folder: the card must not claim the rows are clean
    export(shards, tmp_path / "raw-fix", "llava", "--audit", str(fixed))
    section = (tmp_path / "raw-fix" / "README.md").read_text().split("## Contamination", 1)[1]
    assert "holds the rows *before* it" in section and "findings (protected" not in section

    # the --fix folder (its manifest found through fix_summary.json's inputs), same report
    clean = tmp_path / "clean"
    summary = export(fixed, clean, "llava", "--audit", str(report))
    assert summary["manifest"] == str((shards / "manifest.json").resolve())
    assert summary["rows"] == fix["rows_out"]
    card = (clean / "README.md").read_text()
    section = card.split("## Contamination", 1)[1]
    assert "condemns): 0." in section and "the cleaned copy written by `audit --fix`" in section
    assert f"{fix['rows_in']:,} rows in, {fix['rows_out']:,} out" in section
    removed = pl.read_parquet(fixed / "removed.parquet")
    fix_table = table(section.split("`audit --fix`", 1)[1], "check")
    assert {k: int(v[0]) for k, v in fix_table.items()} == dict(
        removed.group_by("kind").len().iter_rows()
    )
    assert sum(int(c[0]) for c in table(card, "split").values()) == fix["rows_out"]

    out = str(tmp_path / "x")
    r = runner.invoke(app, ["export", str(shards), "--out", out, "--audit", str(tmp_path)])
    assert r.exit_code == 1 and "no audit.json or fix_summary.json" in r.output


def test_hub_licence_ids_and_size_categories():
    assert hub_license("CC BY-NC-SA 4.0") == "cc-by-nc-sa-4.0"
    assert hub_license("CC0 1.0") == "cc0-1.0"
    assert hub_license("CC BY") is None  # ROCO's per-image text has no version: no exact Hub id
    assert hub_license("NO-CC CODE") is None
    assert [size_category(n) for n in (0, 999, 1000, 250_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "100K<n<1M",
    ]


def test_per_image_licences_and_mixed_sources_make_an_other_licence(sample_shards, tmp_path: Path):
    """ROCO-style per-image licences: the card lists them and the header says `other`."""
    import shutil

    import duckdb

    catalog = Path(shutil.copy(sample_shards["catalog"], tmp_path / "cat.duckdb"))
    con = duckdb.connect(str(catalog))
    con.execute(
        "UPDATE images SET licence = CASE WHEN image_id < 'MPX2' THEN 'CC BY' ELSE 'CC BY-NC' END "
        "WHERE source = 'medpix2'"
    )
    con.close()
    out = tmp_path / "out"
    export(sample_shards["shards"], out, "messages", "--catalog", str(catalog))
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "other"
    cell = table(card.text, "source")["medpix2"][3]
    assert re.fullmatch(r"CC BY \(\d+ images\), CC BY-NC \(\d+ images\)", cell)
