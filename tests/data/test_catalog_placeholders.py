"""Template and placeholder texts are not captions (issue 21): flagged at catalog time, kept out
of the texts every later step reads, and so out of the audit's cross-split caption check."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from radvqa_data.audit.captions import caption_leaks
from radvqa_data.audit.neardup import NearDupConfig
from radvqa_data.catalog.ingest import add_source
from radvqa_data.catalog.textcheck import placeholder_reason
from tests.conftest import dataset

MEDPIX_PLACEHOLDER = "Replace this - DESCRIPTION OF THE IMAGE OR FINDINGS."


@pytest.mark.parametrize(
    "text",
    [MEDPIX_PLACEHOLDER, "Figure 1", "Fig. 2a", "Findings:", "No caption.", "XXX.", "-", "  "],
)
def test_templates_and_empty_templates_are_placeholders(text: str) -> None:
    assert placeholder_reason(text)


@pytest.mark.parametrize(
    "text",
    ["Hydrocephalus", "CT.", "Chest X-ray", "MRI Images", "Subsequent CT images", "T2", "e+1"],
)
def test_short_real_captions_are_not(text: str) -> None:
    assert placeholder_reason(text) is None


@pytest.fixture(scope="module")
def medpix_catalog(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    path = tmp_path_factory.mktemp("ph") / "medpix.duckdb"
    add_source(path, "medpix2", dataset(shared_data, "medpix2"), progress=False)
    return path


def test_the_medpix_placeholders_are_flagged_and_are_no_text(medpix_catalog: Path) -> None:
    con = duckdb.connect(str(medpix_catalog), read_only=True)
    try:
        flagged = con.execute(
            "SELECT item, detail FROM ingest_issues WHERE reason = 'placeholder_text'"
        ).fetchall()
        left = con.execute(
            "SELECT count(*) FROM texts WHERE text ILIKE '%replace this%'"
        ).fetchall()[0][0]
        captions = con.execute(
            "SELECT t.source, t.image_id, i.split, t.text FROM texts t "
            "JOIN images i USING (source, image_id) WHERE t.field = 'caption'"
        ).fetchall()
    finally:
        con.close()
    replace = {item for item, detail in flagged if MEDPIX_PLACEHOLDER in detail}
    assert len(replace) == 21  # the records MedPix 2.0 publishes with the authoring prompt
    assert all(detail.startswith("caption: ") for _, detail in flagged)
    assert len(flagged) <= 25  # the rest are "Figure N" captions; real captions are not flagged
    assert left == 0
    # the audit's cross-split caption check (exact and near) cites none of them
    df = pl.DataFrame(captions, schema=["source", "image_id", "split", "text"], orient="row")
    findings = caption_leaks(df, NearDupConfig(), near=True)
    cited = {s.image_id for f in findings for s in (f.a, f.b)}
    assert not cited & {item for item, _ in flagged}
    assert not any(placeholder_reason(s.text or "x") for f in findings for s in (f.a, f.b))
