"""`radvqa-train` through Typer's CliRunner: tiny-model, recipes, run, eval, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from radvqa_train.cli import app

runner = CliRunner()


def test_tiny_model_run_eval_end_to_end(toy_data, tmp_path):
    model = tmp_path / "tiny"
    r = runner.invoke(app, ["tiny-model", "--family", "paligemma", "--out", str(model)])
    assert r.exit_code == 0, r.output
    assert (model / "config.json").exists() and (model / "model.safetensors").exists()

    r = runner.invoke(app, ["recipes"])
    assert r.exit_code == 0 and "tiny-demo" in r.output and "paligemma-3b" in r.output

    out = tmp_path / "train"
    r = runner.invoke(
        app,
        [
            "run",
            "tiny-demo",
            "--model",
            str(model),
            "--shards",
            str(toy_data["shards"]),
            "--catalog",
            str(toy_data["catalog"]),
            "--out",
            str(out),
            "stages.0.max_steps=1",
            "stages.1.max_steps=2",
            "stages.2.max_steps=1",
            "stages.synthetic_qa.eval.every=0",
            # toy data: train splits (the shipped recipe targets the sample's validation split)
            "stages.align.data=[captions]",
            "stages.synthetic_qa.data=['synthetic:train']",
        ],
    )
    assert r.exit_code == 0, r.output
    assert all((out / s / "stage.json").exists() for s in ("align", "synthetic_qa", "benchmark"))
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps[:3] == [1, 1, 2]

    r = runner.invoke(
        app,
        [
            "eval",
            "--data",
            "vqa-rad:test",
            "--model",
            str(out / "benchmark"),
            "--catalog",
            str(toy_data["catalog"]),
            "--limit",
            "4",
            "--out",
            str(tmp_path / "ev"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["overall"]["n"] == 4


def test_user_mistakes_are_one_line_errors(toy_data, tmp_path):
    r = runner.invoke(app, ["run", "no-such-recipe", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "Error: recipe 'no-such-recipe' not found" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["run", "tiny-demo", "stages.0.train=bogus", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "train: 'bogus' is not one of" in r.output
    r = runner.invoke(app, ["eval", "--data", "vqa-rad:test", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "exactly one of --model" in r.output
    r = runner.invoke(
        app,
        [
            "eval",
            "--data",
            "vqa-rad:test",
            "--model",
            str(tmp_path / "nope"),
            "--catalog",
            str(toy_data["catalog"]),
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 1 and "cannot load a vision-language model" in r.output, r.output
    r = runner.invoke(app, ["tiny-model", "--family", "llava", "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "unknown model family" in r.output
