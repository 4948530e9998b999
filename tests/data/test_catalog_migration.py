"""A catalog written by a previous version (``images.group_id``, ``images.region``,
``images.path``, ``catalog_probe_cache.path``, ``label_issues.field = 'region'``) is migrated
when it is opened and reads the same rows under the contract's names
(`core.catalog_schema.RENAMED`, `core.db.migrate`); a label model folder of the version before
issue 19 (task ``region``) loads under the task's new name.

/work/i19-rename.py leaves this file alone: the old names here are the point."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from radvqa_data.core.catalog_schema import column_names, tables_ddl
from radvqa_data.core.db import connect, outdated_columns
from radvqa_data.reader.catalog import label_issue_rows, review_images

#: The `images` table as the version before issue 19 created it, spelled out (not generated from
#: the contract, which no longer has these names).
OLD_IMAGES_DDL = """
CREATE TABLE images (
    source VARCHAR NOT NULL, image_id VARCHAR NOT NULL, split VARCHAR, group_id VARCHAR,
    path VARCHAR, status VARCHAR NOT NULL, error VARCHAR, sha256 VARCHAR, phash UBIGINT,
    width INTEGER, height INTEGER, format VARCHAR, modality VARCHAR, modality_raw VARCHAR,
    plane VARCHAR, plane_raw VARCHAR, region VARCHAR, region_raw VARCHAR, laterality VARCHAR,
    licence VARCHAR, age VARCHAR, sex VARCHAR, extra JSON, PRIMARY KEY (source, image_id)
);
"""
OLD_ROWS = [
    ("medpix2", "MPX1_synpic1", "train", "MPX1", "/d/1.png", "ok", "CT", "axial", "abdomen", "Abd"),
    ("medpix2", "MPX1_synpic2", "train", "MPX1", "/d/2.png", "ok", "CT", "coronal", "abdomen", "A"),
    ("vqa-rad", "synpic9.jpg", None, None, None, "missing", "MRI", None, "head", "HEAD"),
]
#: The image probe cache as it was before `path` became `image_path` (its primary key).
OLD_PROBE_CACHE_DDL = """
CREATE TABLE catalog_probe_cache (
    path VARCHAR, size BIGINT, mtime_ns BIGINT, status VARCHAR, error VARCHAR, sha256 VARCHAR,
    phash UBIGINT, width INTEGER, height INTEGER, format VARCHAR, version INTEGER,
    PRIMARY KEY (path)
);
"""
OLD_PROBES = [
    ("/d/1.png", 10, 1, "ok", None, "aa", 1, 4, 4, "PNG", 1),
    ("/d/2.png", 20, 2, "ok", None, "bb", 2, 8, 8, "PNG", 1),
]


def _old_catalog(path: Path) -> Path:
    """A catalog file with the previous version's column names and a region label issue."""
    with duckdb.connect(str(path)) as con:
        other = ("sources", "texts", "concepts", "cui_names", "benchmark_qa", "ingest_issues")
        con.execute(OLD_IMAGES_DDL + OLD_PROBE_CACHE_DDL + tables_ddl(*other, "label_issues"))
        con.executemany(
            "INSERT INTO images (source, image_id, split, group_id, path, status, modality, "
            "plane, region, region_raw) VALUES (?,?,?,?,?,?,?,?,?,?)",
            OLD_ROWS,
        )
        con.executemany(
            f"INSERT INTO catalog_probe_cache VALUES ({','.join('?' * 11)})", OLD_PROBES
        )
        con.execute(
            "INSERT INTO label_issues VALUES "
            "('medpix2', 'MPX1_synpic2', 'region', 'abdomen', 'chest', 0.1, 'why', 'text'), "
            "('medpix2', 'MPX1_synpic1', 'plane', 'axial', 'coronal', 0.2, 'why', 'pixels')"
        )
    return path


def test_a_read_only_open_migrates_and_reads_the_same_rows(tmp_path: Path) -> None:
    path = _old_catalog(tmp_path / "old.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        before = con.execute(
            "SELECT * FROM images ORDER BY source, image_id"
        ).fetchall()  # old names, raw
        probes_before = con.execute("SELECT * FROM catalog_probe_cache ORDER BY 1").fetchall()
    with connect(path, read_only=True) as con:
        assert outdated_columns(con) == []
        cols = [r[0] for r in con.execute("DESCRIBE images").fetchall()]
        after = con.execute("SELECT * FROM images ORDER BY source, image_id").fetchall()
        review = review_images(con).sort("source", "image_id")
        issues = label_issue_rows(con)
        probe_cols = [r[0] for r in con.execute("DESCRIBE catalog_probe_cache").fetchall()]
        probes_after = con.execute("SELECT * FROM catalog_probe_cache ORDER BY 1").fetchall()
    # the contract's columns, in its order; every value where it was
    assert tuple(cols) == column_names("images")
    assert after == before
    assert tuple(probe_cols) == column_names("catalog_probe_cache")
    assert probes_after == probes_before
    assert review["case_id"].to_list() == ["MPX1", "MPX1", None]
    assert review["filepath"].to_list() == ["/d/1.png", "/d/2.png", None]
    assert review["organ"].to_list() == ["abdomen", "abdomen", "head"]
    assert issues is not None
    assert sorted(issues.select("image_id", "field").rows()) == [
        ("MPX1_synpic1", "plane"),
        ("MPX1_synpic2", "organ"),
    ]


def test_a_write_open_migrates_once_and_the_writer_adds_rows(tmp_path: Path) -> None:
    path = _old_catalog(tmp_path / "old.duckdb")
    with connect(path) as con:
        con.execute(
            "INSERT INTO images (source, image_id, case_id, status, organ) "
            "VALUES ('medpix2', 'MPX2_synpic3', 'MPX2', 'ok', 'chest')"
        )
    with connect(path) as con:  # already migrated: nothing to do, nothing lost
        assert outdated_columns(con) == []
        rows = con.execute("SELECT image_id, case_id, organ FROM images ORDER BY 1").fetchall()
    assert rows == [
        ("MPX1_synpic1", "MPX1", "abdomen"),
        ("MPX1_synpic2", "MPX1", "abdomen"),
        ("MPX2_synpic3", "MPX2", "chest"),
        ("synpic9.jpg", None, "head"),
    ]


def test_the_migrated_probe_cache_keeps_its_key_and_takes_new_probes(tmp_path: Path) -> None:
    """The renamed primary key still holds: a re-probed file replaces its row (as `catalog add`
    writes them), a new file adds one."""
    from radvqa_data.catalog.fast.probe_pool import _commit
    from radvqa_data.catalog.imageprobe import Probe

    path = _old_catalog(tmp_path / "old.duckdb")
    with connect(path) as con:
        _commit(con, [Probe("/d/2.png", 21, 3, "ok", None, "cc", 3, 8, 8, "PNG")])
        _commit(con, [Probe("/d/3.png", 30, 3, "ok", None, "dd", 4, 2, 2, "PNG")])
        rows = con.execute("SELECT image_path, size, sha256 FROM catalog_probe_cache ORDER BY 1")
        assert rows.fetchall() == [
            ("/d/1.png", 10, "aa"),
            ("/d/2.png", 21, "cc"),
            ("/d/3.png", 30, "dd"),
        ]


def test_a_catalog_of_the_version_before_image_path_is_migrated(tmp_path: Path) -> None:
    """The last version before this one had `case_id` and `organ` but still `images.path` and
    `catalog_probe_cache.path`: only those two are renamed, values kept."""
    path = tmp_path / "mid.duckdb"
    with connect(path) as con:
        con.execute(tables_ddl("catalog_probe_cache"))
        con.execute(
            "INSERT INTO images (source, image_id, case_id, image_path, status, organ) "
            "VALUES ('medpix2', 'MPX1_synpic1', 'MPX1', '/d/1.png', 'ok', 'chest')"
        )
        con.execute("INSERT INTO catalog_probe_cache (image_path, size) VALUES ('/d/1.png', 10)")
        for table in ("images", "catalog_probe_cache"):
            con.execute(f"ALTER TABLE {table} RENAME COLUMN image_path TO path")
    with connect(path, read_only=True) as con:
        assert outdated_columns(con) == []
        assert review_images(con).select("case_id", "filepath", "organ").rows() == [
            ("MPX1", "/d/1.png", "chest")
        ]
        assert con.execute("SELECT image_path, size FROM catalog_probe_cache").fetchall() == [
            ("/d/1.png", 10)
        ]


def test_a_new_catalog_needs_no_migration(tmp_path: Path) -> None:
    with connect(tmp_path / "new.duckdb") as con:
        assert outdated_columns(con) == []
        assert "group_id" not in [r[0] for r in con.execute("DESCRIBE images").fetchall()]


def test_an_old_catalog_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    """A read-only open migrates through a read-write open; where that fails (here: another
    connection of this process holds the file read-only), the error names the file and why."""
    from radvqa_data.core.errors import InputError

    path = _old_catalog(tmp_path / "old.duckdb")
    holder = duckdb.connect(str(path), read_only=True)
    try:
        with pytest.raises(InputError, match=r"old\.duckdb: catalog written by an earlier"):
            connect(path, read_only=True)
    finally:
        holder.close()


def test_a_label_model_folder_of_the_previous_version_loads_its_region_head_as_organ(tmp_path):
    """Before issue 19 the third task was named `region` (config.json and the weights' keys);
    the folder is read under the task's new name, `organ`, with the same weights."""
    import torch

    from radvqa_data.labels.model import LabelModelConfig, build_model, load_model, save_model

    old = LabelModelConfig(
        widths=(4, 8), classes={"modality": ["CT", "MRI"], "region": ["chest", "head"]}
    )
    torch.manual_seed(0)
    model = build_model(old)  # heads "modality" and "region", as the old version built them
    save_model(model, old, tmp_path, "full")
    loaded = load_model(tmp_path, "full")
    assert sorted(loaded.heads) == ["modality", "organ"]
    assert torch.equal(loaded.heads["organ"].weight, model.heads["region"].weight)
    x = torch.zeros(1, 1, 32, 32)
    model.eval()
    assert torch.equal(loaded(x)["organ"], model(x)["region"])
