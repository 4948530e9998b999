"""Bad data: per-item problems are recorded and counted, top-level problems stop with one line."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radvqa_data.catalog.imageprobe import probe_file
from radvqa_data.catalog.ingest import add_source
from radvqa_data.core.errors import InputError
from tests.conftest import query_catalog

_rows = query_catalog


def _image_bytes(fmt: str, size: int = 96) -> bytes:
    rng = np.random.default_rng(7)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture()
def bad_folder(tmp_path: Path) -> Path:
    root = tmp_path / "bad"
    root.mkdir()
    png, jpg = _image_bytes("PNG"), _image_bytes("JPEG")
    (root / "good.png").write_bytes(png)
    (root / "good.jpg").write_bytes(jpg)
    (root / "truncated.png").write_bytes(png[: len(png) // 2])
    (root / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    (root / "text.png").write_text("I am a text file with a .png name\n")
    (root / "empty.png").write_bytes(b"")
    (root / "captions.csv").write_text(
        "image,caption\n"
        "good.png,Axial CT image showing a mass in the left kidney.\n"
        "good.jpg,Coupe axiale de la tomodensitométrie montrant une masse dans le rein gauche "
        "avec des calcifications\n",
        encoding="utf-8",
    )
    return root


def test_bad_images_are_recorded_and_the_run_continues(tmp_path: Path, bad_folder: Path) -> None:
    cat = tmp_path / "c.duckdb"
    s = add_source(cat, "folder", bad_folder, progress=False)
    assert (s.images, s.ok, s.corrupt, s.missing) == (6, 2, 4, 0)
    assert s.issues == {"corrupt_image": 4, "non_english_caption": 1}
    rows = {
        r[0]: r[1:] for r in _rows(cat, "SELECT image_id, status, error, phash, width FROM images")
    }
    assert "truncated" in rows["truncated.png"][1] and "truncated" in rows["truncated.jpg"][1]
    assert rows["text.png"][1].startswith("not an image")
    assert rows["empty.png"][1] == "empty file"
    for name in ("truncated.png", "truncated.jpg", "text.png", "empty.png"):
        assert (
            rows[name][0] == "corrupt" and rows[name][2] is None and rows[name][3] is None
        )  # never a partial picture
    issues = _rows(cat, "SELECT item, reason FROM ingest_issues ORDER BY item")
    assert ("good.jpg", "non_english_caption") in issues
    # the non-English caption's row is kept
    assert _rows(cat, "SELECT count(*) FROM texts WHERE image_id = 'good.jpg'")[0][0] == 1


def test_truncated_file_never_decodes_partially(tmp_path: Path) -> None:
    data = _image_bytes("PNG", 256)
    p = tmp_path / "t.png"
    p.write_bytes(data[: len(data) - 200])
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # even if some other code flipped the global
    try:
        assert probe_file(str(p)).status == "corrupt"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def _medpix_copy(sample_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "medpix2"
    shutil.copytree(sample_dir / "medpix2", root, ignore=shutil.ignore_patterns("images"))
    return root


def test_malformed_json_stops_with_file_and_line(tmp_path: Path, sample_dir: Path) -> None:
    root = _medpix_copy(sample_dir, tmp_path)
    lines = (root / "Descriptions.json").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].rstrip(",")  # drop a comma on line 5
    (root / "Descriptions.json").write_text("\n".join(lines), encoding="utf-8")
    cat = tmp_path / "c.duckdb"
    with pytest.raises(InputError) as err:
        add_source(cat, "medpix2", root, progress=False)
    msg = str(err.value)
    assert "Descriptions.json" in msg and "line " in msg and "expected" in msg and "\n" not in msg
    assert not cat.exists()  # stopped before touching the catalog


def test_malformed_jsonl_split_file(tmp_path: Path, sample_dir: Path) -> None:
    root = _medpix_copy(sample_dir, tmp_path)
    with (root / "splitted_dataset" / "descriptions_dev.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(InputError, match=r"descriptions_dev\.jsonl: line 28: invalid JSON"):
        add_source(tmp_path / "c.duckdb", "medpix2", root, progress=False)


def test_wrong_top_level_type(tmp_path: Path) -> None:
    root = tmp_path / "vq"
    root.mkdir()
    (root / "VQA_RAD Dataset Public.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(InputError, match="top level is a dict; expected a JSON list"):
        add_source(tmp_path / "c.duckdb", "vqa-rad", root, progress=False)


def test_csv_missing_columns(tmp_path: Path) -> None:
    root = tmp_path / "r2"
    root.mkdir()
    (root / "test_captions.csv").write_text("ID,Text\nx,y\n")
    with pytest.raises(
        InputError, match=r"test_captions\.csv: line 1: header ID,Text lacks column\(s\) Caption"
    ):
        add_source(tmp_path / "c.duckdb", "rocov2", root, progress=False)
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "captions.csv").write_text("file,text\na.png,b\n")
    with pytest.raises(
        InputError, match=r"captions\.csv: line 1: .*lacks column\(s\) image, caption"
    ):
        add_source(tmp_path / "c.duckdb", "folder", folder, progress=False)


def test_bad_records_are_skipped_and_counted(tmp_path: Path, sample_dir: Path) -> None:
    root = tmp_path / "vq"
    shutil.copytree(sample_dir / "vqa-rad", root)
    path = root / "VQA_RAD Dataset Public.json"
    rows = json.loads(path.read_text())
    rows[0].pop("question")
    rows.append(dict(rows[1]))  # a repeated qid
    rows.append("not an object")
    path.write_text(json.dumps(rows))
    s = add_source(tmp_path / "c.duckdb", "vqa-rad", root, progress=False)
    assert s.qa_rows == 65 and s.issues == {"bad_record": 2, "duplicate_record": 1}


def test_unknown_kind_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown source kind 'mimic'; expected one of"):
        add_source(tmp_path / "c.duckdb", "mimic", tmp_path, progress=False)
    with pytest.raises(InputError, match="no such file or folder"):
        add_source(tmp_path / "c.duckdb", "medpix2", tmp_path / "nope", progress=False)
    with pytest.raises(InputError, match="Descriptions.json: file not found; expected"):
        add_source(tmp_path / "c.duckdb", "medpix2", tmp_path, progress=False)


def test_large_jpeg_draft_decode_keeps_size_and_catches_truncation(tmp_path: Path) -> None:
    """Large JPEGs are decoded at reduced scale for the hash: size stays the file's, truncation
    is caught."""
    data = _image_bytes("JPEG", 640)
    good, cut = tmp_path / "big.jpg", tmp_path / "big_cut.jpg"
    good.write_bytes(data)
    cut.write_bytes(data[: int(len(data) * 0.6)])
    ok = probe_file(str(good))
    assert (ok.status, ok.width, ok.height, ok.format) == ("ok", 640, 640, "JPEG")
    bad = probe_file(str(cut))
    assert bad.status == "corrupt" and "truncated" in bad.error and bad.phash is None
    # the reduced-scale hash stays close to the textbook full-size imagehash.phash
    import imagehash

    with Image.open(good) as im:
        textbook = int(str(imagehash.phash(im)), 16)
    assert bin(textbook ^ ok.phash).count("1") <= 6


def test_phash_equals_imagehash_on_the_thumbnail(sample_dir: Path) -> None:
    """Our numpy phash gives imagehash.phash's exact bits (real MedPix PNGs and VQA-RAD JPEGs)."""
    import imagehash

    from radvqa_data.catalog.imageprobe import phash_bits, thumbnail32

    files = sorted((sample_dir / "medpix2" / "images").glob("*.png")) + sorted(
        (sample_dir / "vqa-rad").rglob("*.jpg")
    )
    assert len(files) == 49
    for f in files:
        with Image.open(f) as im:
            small = thumbnail32(im)
        assert phash_bits(small) == int(str(imagehash.phash(small)), 16), f.name


def test_probe_threads_give_the_probes_of_a_serial_run(sample_dir: Path, tmp_path: Path) -> None:
    """The thread pool probes exactly as one thread does, bad files included (no shared state)."""
    from radvqa_data.catalog.fast.probe_pool import POOL_MIN, _submit
    from radvqa_data.executor.workerpool import close_pool

    files = sorted((sample_dir / "medpix2" / "images").glob("*.png")) + sorted(
        (sample_dir / "vqa-rad").rglob("*.jpg")
    )
    data = files[0].read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not an image")
    paths = [str(f) for f in files] + [
        str(tmp_path / "truncated.png"),
        str(tmp_path / "text.png"),
        str(tmp_path / "gone.png"),
    ]
    assert len(paths) >= POOL_MIN  # so `_submit` uses the pool
    serial = {p: probe_file(p) for p in paths}
    try:
        threaded = {
            probe.image_path: probe for probe in _submit(paths * 2, workers=2)
        }  # each file twice, concurrently
    finally:
        close_pool()
    assert threaded == serial
    assert [serial[p].status for p in paths[-3:]] == ["corrupt", "corrupt", "missing"]


def test_probes_queued_before_the_cache_lookup_are_counted_once(
    sample_dir: Path, tmp_path: Path
) -> None:
    """Files are queued before the cache lookup of an existing catalog ends; whichever finishes
    first, each file is counted once, cached files count as reused, and the probes are right."""
    import time

    from radvqa_data.catalog.fast.probe_pool import POOL_MIN, prefetch, probe_all
    from radvqa_data.core.db import connect
    from radvqa_data.executor.workerpool import close_pool

    files = sorted((sample_dir / "medpix2" / "images").glob("*.png")) + sorted(
        (sample_dir / "vqa-rad").rglob("*.jpg")
    )
    assert len(files) >= POOL_MIN
    con = connect(tmp_path / "c.duckdb")
    try:
        first, reused = probe_all(con, files[:30], workers=2)  # cache 30 of the files
        assert reused == 0 and len(first) == 30
        for wait in (0.0, 1.0):  # lookup before the threads start / after they finished every chunk
            pre = prefetch(files, 2)
            assert pre is not None
            time.sleep(wait)
            pre.use_cache(con)
            counts: list[int] = []
            done, reused = probe_all(con, files, workers=2, on_done=counts.append, pre=pre)
            assert sum(counts) == len(files) and reused >= 30
            assert {p: done[p] for p in first} == first
            assert all(done[str(f)].status == "ok" for f in files)
    finally:
        close_pool()
        con.close()
