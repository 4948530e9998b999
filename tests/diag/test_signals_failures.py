"""Signals (region masks, shares, entropy, agreement) and failure-mode logic, without a model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from radvqa_diag import failures, maps, signals


def _phantom():
    """A bright disc (body) on black, with a small saturated 'L' marker in the top-left corner."""
    from PIL import Image

    h = w = 128
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.zeros((h, w), dtype=np.uint8)
    arr[(yy - 70) ** 2 + (xx - 70) ** 2 < 40**2] = 150
    arr[8:20, 10:13] = 255
    arr[17:20, 10:18] = 255
    return Image.fromarray(arr).convert("RGB")


def test_region_masks_find_body_and_marker():
    masks = signals.region_masks(_phantom())
    assert masks.body[70, 70] and not masks.body[5, 5]
    assert masks.markers[12, 11] and not masks.markers[70, 70]
    assert masks.border[0, 64] and not masks.border[64, 64]


def test_shares_follow_where_the_map_is():
    masks = signals.region_masks(_phantom())
    on_body = np.zeros((128, 128), np.float32)
    on_body[60:80, 60:80] = 1
    s = signals.shares(on_body, masks)
    assert s["body"] == pytest.approx(1.0) and s["markers"] == 0
    on_marker = np.zeros((128, 128), np.float32)
    on_marker[8:20, 9:14] = 1
    s = signals.shares(on_marker, masks)
    assert s["markers"] > 0.6 and s["body"] == 0
    assert np.isnan(signals.shares(np.zeros((128, 128)), masks)["body"])


def test_entropy_and_agreement():
    flat = np.ones((16, 16))
    peak = np.zeros((16, 16))
    peak[3, 3] = 1
    assert signals.entropy(flat) == pytest.approx(1.0)
    assert signals.entropy(peak) == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    a = rng.random((16, 16))
    agree = signals.agreement({"x": a, "y": a * 2, "z": 1 - a})
    assert agree["rho_x_vs_y"] == pytest.approx(1.0)
    assert agree["rho_x_vs_z"] == pytest.approx(-1.0)
    assert signals.topk_iou(a, a) == 1.0


def test_normalize_and_overlay():
    m = maps.normalize(np.array([[0.0, 1.0], [2.0, np.nan]]))
    assert m.max() == pytest.approx(1.0) and np.isfinite(m).all()
    up = maps.on_image(np.eye(4), (20, 10))
    assert up.shape == (10, 20) and 0 <= up.min() and up.max() == pytest.approx(1.0)
    img = maps.overlay(_phantom(), maps.on_image(np.eye(4), (128, 128)))
    assert img.size == (128, 128)
    assert maps.normalize(np.zeros((3, 3))).sum() == 0


def test_wilson_interval():
    lo, hi = failures.wilson(8, 10)
    assert lo == pytest.approx(0.490, abs=1e-3) and hi == pytest.approx(0.943, abs=1e-3)
    assert failures.wilson(0, 0) != failures.wilson(0, 0)  # nan
    assert failures.wilson(0, 5)[0] == 0.0
    for n in range(1, 60):  # the interval always holds the observed proportion
        for k in (0, n // 3, n):
            lo, hi = failures.wilson(k, n)
            assert lo <= k / n <= hi


def _table():
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "correct": [True, False, False, True, False, True],
            "prediction": ["yes", "no", "left", "Left.", "yes", "no"],
            "confidence": [0.9, 0.95, 0.2, 0.8, 0.9, 0.1],
            "linked_id": ["L1", "L1", "L2", "L2", None, None],
            "question_type": ["PRES", "PRES", "POS", "POS", "POS", "PRES"],
            "modality": ["X-ray"] * 6,
            "organ": ["chest"] * 6,
            "answer_type": ["closed", "closed", "open", "open", "closed", "closed"],
            "source": ["vqa-rad"] * 6,
            "body_share__grad_x_input": [0.9, 0.9, 0.3, 0.9, 0.2, float("nan")],
            "marker_share__grad_x_input": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        }
    )


def test_flags_and_patterns():
    df, thr = failures.add_flags(_table(), confident=0.5)
    assert thr == 0.5
    got = {r["id"]: r for r in df.iter_rows(named=True)}
    assert got["b"]["flag_confidently_wrong"] and got["e"]["flag_confidently_wrong"]
    assert not got["c"]["flag_confidently_wrong"]  # wrong but unsure
    assert got["a"]["flag_inconsistent_paraphrase"] and got["b"]["flag_inconsistent_paraphrase"]
    assert not got["c"]["flag_inconsistent_paraphrase"]  # "left" == "Left." after normalizing
    assert got["c"]["flag_on_markers"] and got["c"]["dominant_flag"] == "on_markers"
    assert got["e"]["dominant_flag"] == "off_anatomy"
    assert not got["f"]["flag_off_anatomy"] and got["f"]["dominant_flag"] is None
    pats = failures.failure_patterns(df)
    assert pats["n"].sum() == df["dominant_flag"].is_not_null().sum()
    assert pats["n"].to_list() == sorted(pats["n"].to_list(), reverse=True)
    assert "X-ray · chest" in pats["label"][0]


def test_group_accuracy_worst_first():
    acc = failures.group_accuracy(_table())
    assert acc["accuracy"].to_list() == sorted(acc["accuracy"].to_list())
    pos = acc.filter((pl.col("dimension") == "question_type") & (pl.col("value") == "POS")).row(
        0, named=True
    )
    assert (pos["n"], pos["n_correct"]) == (3, 1)
    assert pos["ci_low"] <= pos["accuracy"] <= pos["ci_high"]


def test_auto_confidence_threshold():
    assert failures.confidence_threshold(pl.Series([0.001, 0.002, 0.003, 0.004])) == 0.2
    assert failures.confidence_threshold(pl.Series([0.9, 0.95, 0.99, 0.99])) == 0.5
    assert failures.confidence_threshold(pl.Series([0.1, 0.2, 0.3, 0.4, 0.3])) == pytest.approx(0.3)
