"""Ingestion of the shipped sample and of the real MedPix 2.0 / VQA-RAD data."""

from __future__ import annotations

import json
from pathlib import Path

from radvqa_data.catalog.ingest import add_source
from radvqa_data.reader.catalog_stats import catalog_stats
from tests.conftest import query_catalog

_rows = query_catalog


def test_sample_catalog_medpix_and_vqarad(sample_catalog: Path) -> None:
    stats = catalog_stats(sample_catalog)["sources"]
    mp, vq = stats["medpix2"], stats["vqa-rad"]
    assert mp["kind"] == "medpix2" and mp["images"] == 40
    assert mp["status"] == {"ok": 40, "missing": 0, "corrupt": 0}
    assert mp["splits"] == {"validation": 27, "test": 13}
    assert mp["modality"] == {"CT": 17, "MRI": 23}
    assert vq["images"] == 9 and vq["qa_rows"] == 66 and sum(vq["qa_splits"].values()) == 66
    # ids are the sources' own names; images of one case share the case id as group
    row = _rows(
        sample_catalog,
        "SELECT case_id, modality_raw, plane, organ, sha256, phash, width, format FROM images "
        "WHERE image_id = 'MPX1007_synpic46720'",
    )[0]
    assert (
        row[0] == "MPX1007"
        and row[1].startswith("MR")
        and row[5] is not None
        and row[6] > 0
        and row[7] == "PNG"
    )
    assert len(row[4]) == 64
    texts = dict(
        _rows(
            sample_catalog, "SELECT field, text FROM texts WHERE image_id = 'MPX1007_synpic46720'"
        )
    )
    assert {"caption", "history", "findings", "diagnosis", "discussion", "title"} <= set(texts)


def test_sample_vqarad_fields_normalized(sample_catalog: Path) -> None:
    qa = _rows(sample_catalog, "SELECT DISTINCT answer_type FROM benchmark_qa")
    assert {r[0] for r in qa} <= {"closed", "open"}
    qtypes = {
        r[0] for r in _rows(sample_catalog, "SELECT DISTINCT question_type FROM benchmark_qa")
    }
    from radvqa_data.core.schema import QUESTION_TYPES

    assert qtypes <= set(QUESTION_TYPES)
    # the shared picture: same synpic in both sources, perceptual hashes close
    (dist,) = _rows(
        sample_catalog,
        "SELECT bit_count(xor(a.phash, b.phash)) FROM images a, images b "
        "WHERE a.image_id = 'MPX1007_synpic46720' AND b.image_id = 'synpic46720.jpg'",
    )[0]
    assert dist <= 10


def test_readd_replaces_never_duplicates(tmp_path: Path, sample_dir: Path) -> None:
    cat = tmp_path / "c.duckdb"
    first = add_source(cat, "vqa-rad", sample_dir / "vqa-rad", progress=False)
    second = add_source(cat, "vqa-rad", sample_dir / "vqa-rad", progress=False)
    assert second.reused == first.probed == 9 and second.probed == 0
    assert _rows(cat, "SELECT count(*) FROM images")[0][0] == 9
    assert _rows(cat, "SELECT count(*) FROM benchmark_qa")[0][0] == 66
    add_source(cat, "vqa-rad", sample_dir / "vqa-rad", name="vqa-rad-copy", progress=False)
    assert _rows(cat, "SELECT count(*) FROM images")[0][0] == 18
    assert json.loads(_rows(cat, "SELECT meta FROM sources WHERE name = 'vqa-rad-copy'")[0][0])[
        "files"
    ]


def test_real_medpix_and_vqarad_figures(real_catalog: Path) -> None:
    stats = catalog_stats(real_catalog)["sources"]
    mp, vq = stats["medpix2"], stats["vqa-rad"]
    assert mp["images"] == 2050
    assert mp["modality"] == {"CT": 1062, "MRI": 988}
    assert mp["status"] == {"ok": 397, "missing": 1653, "corrupt": 0}
    assert mp["splits"] == {"train": 1653, "validation": 197, "test": 200}
    assert vq["images"] == 315 and vq["status"]["ok"] == 315
    assert vq["qa_rows"] == 2248 and vq["qa_splits"] == {"train": 1797, "test": 451}
    assert vq["issues"] == {}
    assert (
        sum(n for m, n in vq["modality"].items() if m != "none") == 63
    )  # stated by open MODALITY answers
    # a record without its file is `missing` with no path, never an error
    (path, err) = _rows(
        real_catalog,
        "SELECT image_path, error FROM images WHERE source='medpix2' AND status='missing' LIMIT 1",
    )[0]
    assert path is None and "no file" in err
