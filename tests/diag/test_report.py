"""`radvqa-diag report` end to end on the shipped sample (real VQA-RAD images and paraphrase
links)."""

from __future__ import annotations

import json
import re

import polars as pl
from typer.testing import CliRunner

from radvqa_diag import failures
from radvqa_diag.cli import app


def test_report_folder_contents(sample_report):
    out, preds, inconsistent, victim = sample_report
    for name in (
        "index.html",
        "summary.json",
        "examples.parquet",
        "groups.parquet",
        "patterns.parquet",
    ):
        assert (out / name).is_file(), name
    ex = pl.read_parquet(out / "examples.parquet")
    src = pl.read_parquet(preds)
    assert ex.height == src.height and set(ex["id"]) == set(src["id"])
    s = json.loads((out / "summary.json").read_text())
    assert s["n_examples"] == src.height and s["n_analyzed"] == src.height - 1
    assert s["n_failed_items"] == 1 and s["failed_items"][0]["id"] == victim
    assert "corrupt.jpg" in s["failed_items"][0]["error"]
    assert s["paraphrase_linked"] > 0


def test_paraphrase_flags_match_planted_pairs(sample_report):
    out, _, expected, _ = sample_report
    ex = pl.read_parquet(out / "examples.parquet").filter(pl.col("status") == "ok")
    flagged = set(ex.filter(pl.col("flag_inconsistent_paraphrase"))["id"])
    assert flagged == expected and len(expected) >= 6


def test_group_accuracy_matches_predictions(sample_report):
    out, preds, _, _ = sample_report
    groups = pl.read_parquet(out / "groups.parquet")
    src = pl.read_parquet(preds)
    for dim in ("answer_type", "question_type"):
        for value, sub in src.group_by(dim):
            row = groups.filter((pl.col("dimension") == dim) & (pl.col("value") == value[0])).row(
                0, named=True
            )
            assert row["n"] == sub.height and row["n_correct"] == int(sub["correct"].sum())
            assert row["ci_low"] <= row["accuracy"] <= row["ci_high"]
    assert groups["accuracy"].to_list() == sorted(groups["accuracy"].to_list())


def test_signals_and_patterns_are_consistent(sample_report):
    out, _, _, _ = sample_report
    ex = pl.read_parquet(out / "examples.parquet").filter(pl.col("status") == "ok")
    for col in (
        "confidence",
        "body_share__grad_x_input",
        "entropy__attention",
        "agreement_spearman",
    ):
        assert ex[col].is_not_null().all() and ex[col].is_finite().all(), col
    assert ((ex["confidence"] > 0) & (ex["confidence"] <= 1)).all()
    pats = pl.read_parquet(out / "patterns.parquet")
    assert pats["n"].sum() == ex["dominant_flag"].is_not_null().sum()
    assert set(pats["dominant_flag"]) <= set(failures.FLAGS)


def test_page_is_self_contained(sample_report):
    out, _, _, _ = sample_report
    html = (out / "index.html").read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs and all((out / s).is_file() for s in srcs)


def test_rerun_resumes_without_recomputing(sample_report, planted_paligemma, sample_catalog):
    out, preds, _, _ = sample_report
    before = (out / ".work" / "maps").stat().st_mtime_ns
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "report",
            "--predictions",
            str(preds),
            "--model",
            str(planted_paligemma[0]),
            "--catalog",
            str(sample_catalog),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"report: {(out / 'index.html').resolve()}" in res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["timing"]["examples"] == 0  # every example came from the finished chunks
    assert (out / ".work" / "maps").stat().st_mtime_ns == before


def test_cli_errors_are_one_line(tmp_path, planted_paligemma):
    bad = tmp_path / "p.parquet"
    pl.DataFrame({"id": ["a"], "question": ["q"]}).write_parquet(bad)
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--predictions",
            str(bad),
            "--model",
            str(planted_paligemma[0]),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 1
    assert "missing column(s) prediction, correct" in res.output and "Traceback" not in res.output


def test_saliency_cli_writes_panel(tmp_path, planted_paligemma):
    from tests.diag.conftest import QUESTION, quadrant_image

    img = tmp_path / "q.png"
    quadrant_image((1, 0, 1, 0)).save(img)
    res = CliRunner().invoke(
        app,
        [
            "saliency",
            "--model",
            str(planted_paligemma[0]),
            "--image",
            str(img),
            "--question",
            QUESTION,
            "--out",
            str(tmp_path / "panel.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "answer: 'yes'" in res.output
    from PIL import Image

    with Image.open(tmp_path / "panel.png") as p:
        assert p.size[0] > 4 * p.size[1] / 1.5  # image + 4 overlays side by side


def _quadrant_predictions(tmp_path, n: int):
    from tests.diag.conftest import quadrant_image

    rows = []
    for i in range(n):
        quadrant_image((i % 2, 1, 0, 1), size=48, seed=i).save(tmp_path / f"q{i}.png")
        rows.append(
            {
                "id": f"q{i}",
                "image_path": f"q{i}.png",
                "question": "is the corner bright?",
                "answer": "yes",
                "prediction": ["yes", "no"][i % 2],
                "correct": i % 2 == 0,
                "answer_type": "closed",
                "question_type": "PRES",
                "modality": "X-ray",
                "organ": "chest",
                "source": "synthetic",
            }
        )
    pl.DataFrame(rows).write_parquet(tmp_path / "predictions.parquet")
    return tmp_path / "predictions.parquet"


def test_report_with_idefics3_family(tmp_path, tiny_model_dirs):
    """The report path is family-agnostic: a tiny Idefics3 (chat template, pixel shuffle) works
    too."""
    import numpy as np

    from radvqa_diag.report import ReportOptions, build_report

    _quadrant_predictions(tmp_path, 5)
    page = build_report(
        tmp_path / "predictions.parquet",
        tiny_model_dirs["idefics3"],
        tmp_path / "r",
        opts=ReportOptions(batch_size=3, progress=False),
    )
    assert page.is_file()
    ex = pl.read_parquet(tmp_path / "r" / "examples.parquet")
    assert (ex["status"] == "ok").all() and ex.height == 5
    maps = np.load(tmp_path / "r" / ".work" / "maps" / f"{ex['slug'][0]}.npz")
    assert maps["raw_attention"].shape == (2, 2) and maps["attention_lh"].shape[:2] == (2, 4)
    assert maps["map_grad_x_input"].shape == (128, 128)


def test_interrupted_report_keeps_finished_batches(tmp_path, tiny_model_dirs, monkeypatch):
    """Ctrl-C after the first batch: the rerun computes only the examples not finished before."""
    import pytest

    from radvqa_diag import report as report_mod

    preds = _quadrant_predictions(tmp_path, 5)
    real = report_mod.analyze_batch
    calls = []

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(report_mod, "analyze_batch", interrupt_second)
    opts = report_mod.ReportOptions(batch_size=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        report_mod.build_report(preds, tiny_model_dirs["paligemma"], tmp_path / "r", opts=opts)
    assert len(list((tmp_path / "r" / ".work").glob("chunk-*.parquet"))) == 1
    assert not (tmp_path / "r" / "index.html").exists()
    monkeypatch.setattr(report_mod, "analyze_batch", real)
    report_mod.build_report(preds, tiny_model_dirs["paligemma"], tmp_path / "r", opts=opts)
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["timing"]["examples"] == 3 and s["n_analyzed"] == 5


def test_saliency_cli_layers_option(tmp_path, tiny_model_dirs):
    from tests.diag.conftest import quadrant_image

    img = tmp_path / "q.png"
    quadrant_image((1, 0, 1, 0)).save(img)
    base = [
        "saliency",
        "--model",
        str(tiny_model_dirs["idefics3"]),
        "--image",
        str(img),
        "--question",
        "is it bright?",
        "--answer",
        "yes",
    ]
    ok = CliRunner().invoke(app, [*base, "--layers", "1", "--out", str(tmp_path / "a.png")])
    assert ok.exit_code == 0, ok.output
    import numpy as np

    z = np.load(tmp_path / "a.npz")
    # the attention map is layer 1's mean over heads, nothing else
    assert np.allclose(z["attention"], z["attention_lh"][1].mean(axis=0), atol=1e-6)
    bad = CliRunner().invoke(app, [*base, "--layers", "7", "--out", str(tmp_path / "b.png")])
    assert bad.exit_code == 1 and "has 2 layers" in bad.output and "Traceback" not in bad.output
    bad = CliRunner().invoke(app, [*base, "--layers", "x", "--out", str(tmp_path / "b.png")])
    assert bad.exit_code == 1 and "comma-separated" in bad.output
