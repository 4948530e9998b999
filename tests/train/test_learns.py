"""Slow tier: a tiny model trained on the toy task answers held-out questions better than chance."""

from __future__ import annotations

import pytest

from radvqa_train.config import load_config
from radvqa_train.evaluate import evaluate
from radvqa_train.run import run_recipe


@pytest.mark.slow
@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl"])
def test_tiny_model_learns_the_toy_task(family, tiny_models, toy_data, tmp_path):
    stage = (
        "stages=[{name: qa, data: [{spec: 'vqa-rad:train'}], train: lora_lm_vision, "
        "lora: {r: 8, alpha: 32, dropout: 0.0}, lr: 0.01, schedule: cosine, warmup_steps: 5, "
        "max_steps: 80, batch_size: 8, max_length: 64, save_every: 80}]"
    )
    cfg = load_config("tiny-demo", overrides=[stage], model=str(tiny_models[family]))
    run_recipe(
        cfg,
        out=tmp_path / "run",
        shards=toy_data["shards"],
        catalog=toy_data["catalog"],
        progress=False,
    )
    m = evaluate(
        "vqa-rad:test",
        model=str(tmp_path / "run" / "qa"),
        catalog=toy_data["catalog"],
        out=tmp_path / "eval",
        max_new_tokens=4,
        progress=False,
    )
    # test images: 3 bright / 3 dark; answering from the pixels gets 1.0, a constant answer 0.5
    assert m["by_answer_type"]["closed"]["closed_accuracy"] >= 5 / 6 - 1e-6, m["overall"]
    assert m["by_answer_type"]["open"]["open_recall"] >= 5 / 6 - 1e-6, m["overall"]
