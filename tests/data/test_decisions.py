"""`radvqa_data.core.decisions`: the one function that applies a person's verdicts."""

from __future__ import annotations

import polars as pl
import pytest

from radvqa_data.core.decisions import apply_decisions, empty_decisions, read_decisions
from radvqa_data.core.errors import InputError


def _rows() -> pl.DataFrame:
    return pl.DataFrame(
        {"id": ["a", "b", "c", "d"], "answer": ["yes", "no", "CT", "MRI"], "x": [1, 2, 3, 4]}
    )


def _decisions(*rows: tuple) -> pl.DataFrame:
    return pl.concat(
        [
            empty_decisions(),
            pl.DataFrame(
                [{"id": i, "action": a, "answer": ans} for i, a, ans in rows],
                schema={"id": pl.String, "action": pl.String, "answer": pl.String},
            ),
        ],
        how="diagonal_relaxed",
    )


def test_reject_drops_correct_replaces_and_reject_wins():
    d = _decisions(
        ("a", "reject", None),
        ("c", "correct", "MRI"),
        ("b", "correct", "yes"),
        ("b", "reject", None),  # both: the less favourable verdict wins
        ("d", "correct", "MRI"),  # the same answer: nothing to correct
        ("zz", "reject", None),  # not among these rows
    )
    kept, s = apply_decisions(_rows(), d)
    assert kept.rows() == [("c", "MRI", 3), ("d", "MRI", 4)]
    assert s == {"decisions": 6, "rejected": 2, "corrected": 1, "not_found": 1}


def test_other_column_names():
    rows = _rows().rename({"id": "__row_id", "answer": "ans"})
    kept, s = apply_decisions(
        rows, _decisions(("c", "correct", "x-ray")), id_col="__row_id", answer_col="ans"
    )
    assert kept["ans"].to_list() == ["yes", "no", "x-ray", "MRI"] and s["corrected"] == 1


def test_read_decisions_checks_the_file(tmp_path):
    good = tmp_path / "d.parquet"
    _decisions(("a", "reject", None)).write_parquet(good)
    assert read_decisions(good).columns[:3] == ["id", "action", "answer"]
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"id": ["a"], "action": ["drop"]}).write_parquet(bad)
    with pytest.raises(InputError, match="unknown action"):
        read_decisions(bad)
    pl.DataFrame({"id": ["a"], "action": ["correct"]}).write_parquet(bad)
    with pytest.raises(InputError, match="without an answer"):
        read_decisions(bad)
    (tmp_path / "t.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read"):
        read_decisions(tmp_path / "t.parquet")
