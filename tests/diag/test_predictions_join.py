"""`fill_image_paths` keys images by (source, image_id), the catalog's key."""

from __future__ import annotations

import polars as pl

from radvqa_data.core.db import connect
from radvqa_diag.predictions import fill_image_paths


def _catalog(path):
    with connect(path) as con:
        con.execute(
            "INSERT INTO images (source, image_id, status, image_path) VALUES "
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


def test_a_predictions_file_of_the_previous_version_reads_its_reference_as_answer(tmp_path):
    """Before issue 19 the trainer wrote the gold answer as `reference`; diag renames it where
    it reads the file, and the baselines score it as they score a new file."""
    from radvqa_diag.baselines import baseline_metrics
    from radvqa_diag.predictions import read_predictions

    rows = {
        "id": ["q1", "q2"],
        "image_path": ["/a/1.png", "/a/2.png"],
        "question": ["is this a ct?", "which organ?"],
        "prediction": ["yes", "chest"],
        "correct": [True, False],
        "answer_type": ["closed", "open"],
        "question_type": ["MODALITY", "ORGAN"],
    }
    pl.DataFrame({**rows, "reference": ["yes", "head"]}).write_parquet(tmp_path / "old.parquet")
    pl.DataFrame({**rows, "answer": ["yes", "head"]}).write_parquet(tmp_path / "new.parquet")
    old = read_predictions(tmp_path / "old.parquet")
    new = read_predictions(tmp_path / "new.parquet")
    assert "reference" not in old.columns
    assert old["answer"].to_list() == ["yes", "head"]
    assert old.select(sorted(old.columns)).equals(new.select(sorted(new.columns)))
    assert baseline_metrics(old) == baseline_metrics(new) and baseline_metrics(old)
