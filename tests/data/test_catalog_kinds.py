"""Every source kind: ROCO, ROCOv2, SLAKE (real data, skipped when absent), folder, DICOM."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radvqa_data.catalog.ingest import add_source
from radvqa_data.reader.catalog_stats import catalog_stats
from tests.conftest import dataset, query_catalog

_rows = query_catalog


@pytest.mark.slow  # all ROCO records: about 7 s (default tier <= 8 min, issue 19)
def test_roco_real(tmp_path: Path, shared_data: Path) -> None:
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "roco", dataset(shared_data, "roco"), progress=False)
    assert s.images == 8179 + 8180 + 17752 and s.missing == s.images  # ROCO ships no images
    st = catalog_stats(cat)["sources"]["roco"]
    assert st["splits"] == {"test": 8179, "validation": 8180, "train": 17752}
    assert st["modality"]["CT"] > 5000 and st["concepts"] > 100_000
    row = _rows(
        cat, "SELECT case_id, licence, modality, plane FROM images WHERE image_id = 'ROCO_00006'"
    )[0]
    assert row == ("PMC4840839", "CC BY-NC-ND", "CT", "coronal")
    cuis = {r[0] for r in _rows(cat, "SELECT cui FROM concepts WHERE image_id = 'ROCO_00006'")}
    assert "C0040405" in cuis and len(cuis) == 11
    # the train split ships captions only: no licence, no CUIs, still catalogued
    assert (
        _rows(
            cat,
            "SELECT count(*) FROM concepts c JOIN images i USING (source, image_id) "
            "WHERE i.split = 'train'",
        )[0][0]
        == 0
    )
    assert (
        s.issues.get("non_english_caption", 0) > 50
    )  # French/Spanish captions occur; rows are kept


def test_roco_with_images_beside(tmp_path: Path, shared_data: Path) -> None:
    src = dataset(shared_data, "roco") / "validation" / "radiology"
    root = tmp_path / "roco" / "data" / "validation" / "radiology"
    root.mkdir(parents=True)
    for name in ("captions.txt", "licences.txt"):
        lines = (src / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (root / name).write_text("".join(lines[:6]), encoding="utf-8")
    first = (root / "captions.txt").read_text(encoding="utf-8").split("\t", 1)[0]
    (root / "images").mkdir()
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(root / "images" / f"{first}.jpg")
    s = add_source(tmp_path / "c.duckdb", "roco", tmp_path / "roco", progress=False)
    assert s.ok == 1 and s.images in (5, 6)


def test_rocov2_real(tmp_path: Path, shared_data: Path) -> None:
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "rocov2", dataset(shared_data, "rocov2"), progress=False)
    assert s.images == 175 and s.concepts > 175
    st = catalog_stats(cat)["sources"]["rocov2"]
    assert st["splits"] == {"test": 175}
    assert st["modality"]["CT"] > 0 and "none" not in st["modality"]
    assert _rows(
        cat, "SELECT modality, modality_raw FROM images WHERE image_id = 'ROCOv2_2023_test_000001'"
    )[0] == ("CT", "C0040405")
    assert _rows(cat, "SELECT count(*) FROM cui_names")[0][0] == 1935


def test_slake_real_english_rows(tmp_path: Path, shared_data: Path) -> None:
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "slake", dataset(shared_data, "slake"), progress=False)
    st = catalog_stats(cat)["sources"]["slake"]
    # 4,919 / 1,053 / 1,061 English rows; one train row has an empty answer (recorded, skipped)
    assert st["qa_splits"] == {"train": 4918, "validation": 1053, "test": 1061}
    assert s.issues == {"bad_record": 1}
    assert _rows(
        cat, "SELECT case_id, modality, organ FROM images WHERE image_id = 'xmlab1/source.jpg'"
    )[0] == ("xmlab1", "MRI", "abdomen")
    qtypes = {r[0] for r in _rows(cat, "SELECT DISTINCT question_type FROM benchmark_qa")}
    from radvqa_data.core.schema import QUESTION_TYPES

    assert qtypes <= set(QUESTION_TYPES)


def _png(path: Path, seed: int, size: int = 64) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)


def test_folder_with_captions_csv(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    _png(root / "a.png", 1)
    _png(root / "sub" / "b.png", 2)
    (root / "notes.txt").write_text("not an image")
    (root / "captions.csv").write_text(
        "image,caption,split\na.png,Axial CT of the chest shows a left nodule.,train\n"
        "sub/b.png,Sagittal MRI of the spine.,val\ngone.png,Chest radiograph.,test\n"
    )
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "folder", root, name="mine", progress=False)
    assert (s.images, s.ok, s.missing) == (3, 2, 1)
    rows = {
        r[0]: r[1:]
        for r in _rows(cat, "SELECT image_id, split, modality, laterality, status FROM images")
    }
    assert rows["a.png"] == ("train", "CT", "left", "ok")
    assert rows["sub/b.png"] == ("validation", "MRI", None, "ok")
    assert rows["gone.png"][-1] == "missing"
    assert catalog_stats(cat)["sources"]["mine"]["kind"] == "folder"


def test_folder_with_captions_jsonl_and_no_captions(tmp_path: Path) -> None:
    root = tmp_path / "j"
    _png(root / "x.png", 3)
    (root / "captions.jsonl").write_text(
        '{"image": "x.png", "caption": "Ultrasound of the liver."}\n'
    )
    cat = tmp_path / "c.duckdb"
    add_source(cat, "folder", root, progress=False)
    assert _rows(cat, "SELECT modality FROM images")[0][0] == "ultrasound"
    (root / "captions.jsonl").unlink()
    s = add_source(cat, "folder", root, progress=False)
    assert s.texts == 0 and s.ok == 1 and s.reused == 1


def test_dicom_pydicom_testfiles_and_unreadable(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    root = tmp_path / "dicoms"
    root.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        path = get_testdata_file(name, download=False)
        if path is None:
            pytest.skip(f"pydicom test file {name} not installed")
        shutil.copy(path, root / name)
    (root / "broken.dcm").write_bytes(b"this is not DICOM at all")
    (root / "half.dcm").write_bytes(
        Path(get_testdata_file("CT_small.dcm", download=False)).read_bytes()[:400]
    )
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "dicom", root, progress=False)
    assert (s.images, s.ok, s.corrupt) == (4, 2, 2)
    assert s.issues == {"unreadable_dicom": 2}
    ct = _rows(
        cat,
        "SELECT modality, case_id, image_path, width, height, format, extra->>'series_uid' "
        "FROM images WHERE image_id = 'CT_small.dcm'",
    )[0]
    assert ct[0] == "CT" and ct[1] and ct[3:6] == (128, 128, "PNG") and ct[6]
    # the rendering lives beside the catalog and is a real 8-bit image with contrast
    assert Path(ct[2]).is_relative_to(tmp_path / "c.duckdb.assets" / "dicom")
    arr = np.asarray(Image.open(ct[2]))
    assert arr.dtype == np.uint8 and arr.std() > 10
    assert _rows(cat, "SELECT modality FROM images WHERE image_id = 'MR_small.dcm'")[0][0] == "MRI"
    err = dict(_rows(cat, "SELECT image_id, error FROM images WHERE status = 'corrupt'"))
    assert "unreadable DICOM" in err["broken.dcm"] and set(err) == {"broken.dcm", "half.dcm"}
    again = add_source(cat, "dicom", root, progress=False)  # renderings unchanged: probes reused
    assert (again.reused, again.probed, again.ok) == (2, 0, 2)
