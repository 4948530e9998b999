"""`fill_image_paths` keys images by (source, image_id), the catalog's key."""

from __future__ import annotations

import polars as pl

from radvqa_data.core.db import connect
from radvqa_diag.predictions import fill_image_paths


def _catalog(path):
    with connect(path) as con:
        con.execute(
            "INSERT INTO images (source, image_id, status, path) VALUES "
            "('a', 'img1', 'ok', '/a/img1.png'), ('b', 'img1', 'ok', '/b/img1.png'), "
            "('b', 'img2', 'ok', '/b/img2.png')"
        )
    return path


def test_same_image_id_in_two_sources_joins_its_own_row(tmp_path):
    cat = _catalog(tmp_path / "c.duckdb")
    df = pl.DataFrame(
        {
            "id": ["x1", "x2", "x3"],
            "source": ["a", "b", None],
            "image_id": ["img1", "img1", "img2"],
            "question": ["is this a ct?", " Is this a CT? ", "q"],
            "image_path": [None, None, None],
        },
        schema_overrides={"source": pl.Utf8, "image_path": pl.Utf8},
    )
    out = fill_image_paths(df, cat)
    assert out.height == 3  # no row doubled by the shared image id
    assert out["image_path"].to_list() == ["/a/img1.png", "/b/img1.png", "/b/img2.png"]
    assert out["source"].to_list() == ["a", "b", None]  # the caller's columns are untouched
