"""Issue 23, the training side of a new user's first day, driven through `radvqa-train`.

- `run` on a `scratch-model` (random weights) refuses LoRA and names `experiment`; the tiny
  test model of `tiny-model` stays accepted (`just demo` trains LoRA on it).
- a mistyped benchmark split lists the valid ones; an empty synthetic split says what is there.
- metrics.txt never cuts a metric name; transformers' "Loading weights" bar is silenced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radvqa_train.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny test model and a small scratch model, made with the CLI as a user would."""
    root = tmp_path_factory.mktemp("newcomer-models")
    tiny = runner.invoke(app, ["tiny-model", "--family", "paligemma", "--out", str(root / "tiny")])
    assert tiny.exit_code == 0, tiny.output
    scratch = runner.invoke(
        app,
        ["scratch-model", "--out", str(root / "scratch"), "--hidden", "32", "--layers", "1"]
        + ["--heads", "2", "--image-size", "32", "--patch", "16"],
    )
    assert scratch.exit_code == 0, scratch.output
    return {"tiny": root / "tiny", "scratch": root / "scratch"}


def test_run_refuses_lora_on_a_scratch_model_and_points_to_experiment(models, tmp_path):
    r = runner.invoke(
        app, ["run", "tiny-demo", "--model", str(models["scratch"]), "--out", str(tmp_path / "r")]
    )
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "random weights (radvqa-train scratch-model)" in r.output
    assert "radvqa-experiment run" in r.output and "stages.N.train=full" in r.output
    assert not (tmp_path / "r").exists()  # refused before anything was written
    # every weight trained: allowed (it goes on to the data checks, which fail here: no data)
    full = runner.invoke(
        app,
        ["run", "tiny-demo", "--model", str(models["scratch"]), "--out", str(tmp_path / "f")]
        + [f"stages.{i}.train=full" for i in range(3)],
    )
    assert full.exit_code == 1 and "random weights" not in full.output, full.output
    # the tiny test model is a flagged fixture: LoRA allowed (the demo's path)
    tiny = runner.invoke(
        app, ["run", "tiny-demo", "--model", str(models["tiny"]), "--out", str(tmp_path / "t")]
    )
    assert tiny.exit_code == 1 and "random weights" not in tiny.output
    marker = json.loads((models["tiny"] / "radvqa_model.json").read_text())
    assert marker["test_fixture"] is True and marker["weights"] == "random"


def test_a_wrong_split_name_lists_the_valid_splits(sample_catalog, tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "1", "prediction": "yes"}) + "\n")
    r = runner.invoke(
        app,
        ["eval", "--data", "vqa-rad:tset", "--predictions", str(preds)]
        + ["--catalog", str(sample_catalog), "--out", str(tmp_path / "e")],
    )
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "no split 'tset' in vqa-rad (valid: vqa-rad:test, vqa-rad:train)" in r.output
    assert "catalog add" not in r.output  # the source is there: adding it again fixes nothing


def test_metrics_txt_never_cuts_a_name(sample_catalog, tmp_path):
    """Scoring a predictions file (no model): every metric column keeps its whole name."""
    import duckdb

    con = duckdb.connect(str(sample_catalog), read_only=True)
    qids = [
        q for (q,) in con.execute("SELECT qid FROM benchmark_qa WHERE split = 'test'").fetchall()
    ]
    con.close()
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": q, "prediction": "yes"}) + "\n" for q in qids))
    out = tmp_path / "e"
    r = runner.invoke(
        app,
        ["eval", "--data", "vqa-rad:test", "--predictions", str(preds)]
        + ["--catalog", str(sample_catalog), "--out", str(out), "--no-progress"],
    )
    assert r.exit_code == 0, r.output
    header = (out / "metrics.txt").read_text().splitlines()[0].split()
    assert header[:4] == ["group", "n", "closed_accuracy", "closed_accuracy_yesno"]
    metrics = json.loads((out / "metrics.json").read_text())
    for line in (out / "metrics.txt").read_text().splitlines()[1:]:
        if not line.startswith("--"):
            assert len(line.split()) == len(header)  # no name ran into its first number
    assert metrics["by_question_type"]


def test_transformers_progress_bars_are_silenced(models, sample_catalog, tmp_path):
    """`eval` loads the model with from_pretrained, which draws transformers' own bar."""
    env = {k: v for k, v in os.environ.items() if "PROGRESS_BARS" not in k}
    res = subprocess.run(
        [sys.executable, "-c", "from radvqa_train.cli import app; app()", "eval"]
        + ["--data", "vqa-rad:test", "--model", str(models["tiny"]), "--limit", "2"]
        + ["--catalog", str(sample_catalog), "--out", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Loading weights" not in res.stderr and "it/s]" not in res.stderr
    assert "closed_accuracy_yesno" in res.stdout  # the result: stdout
