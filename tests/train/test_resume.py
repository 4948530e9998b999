"""`--resume` reaches the same result as an uninterrupted run."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from radvqa_train.checkpoint import list_checkpoints
from radvqa_train.config import load_config
from radvqa_train.run import run_recipe

# dropout > 0 so the result depends on the restored RNG state; two sources so it depends on the
# restored data position; checkpoints every 2 steps and a stop after step 7 (qa step 5) so the
# resumed run must redo qa step 5 from the step-4 checkpoint.
STAGES = (
    "stages=[{name: align, data: [captions], train: projector, lr: 0.01, max_steps: 2, "
    "batch_size: 3, max_length: 64, save_every: 2}, {name: qa, data: [{spec: 'synthetic:train'}, "
    "{spec: 'vqa-rad:train', weight: 0.5}], train: lora_lm, lora: {r: 4, alpha: 8, dropout: 0.2}, "
    "lr: 0.005, schedule: cosine, warmup_steps: 1, max_steps: 6, batch_size: 3, grad_accum: 2, "
    "max_length: 64, save_every: 2}]"
)


def test_resume_equals_uninterrupted(tiny_models, toy_data, tmp_path):
    cfg = load_config("tiny-demo", overrides=[STAGES], model=str(tiny_models["paligemma"]))
    kw = {"shards": toy_data["shards"], "catalog": toy_data["catalog"], "progress": False}
    run_recipe(cfg, out=tmp_path / "full", **kw)

    part = run_recipe(cfg, out=tmp_path / "cut", stop_after=7, **kw)
    assert part[-1]["finished"] is False and part[-1]["step"] == 5
    assert not (tmp_path / "cut" / "qa" / "stage.json").exists()
    assert [p.name for p in list_checkpoints(tmp_path / "cut" / "qa" / "checkpoints")] == [
        "step-000002",
        "step-000004",
    ]
    run_recipe(cfg, out=tmp_path / "cut", resume=True, **kw)

    a, b = (
        load_file(str(tmp_path / "full" / "qa" / "model.safetensors")),
        load_file(str(tmp_path / "cut" / "qa" / "model.safetensors")),
    )
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    base = load_file(str(tiny_models["paligemma"] / "model.safetensors"))
    assert any(not torch.equal(base[k], a[k]) for k in a if "language_model" in k)

    def losses(out):
        return [
            (r["stage"], r["step"], r["loss"])
            for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
            if "loss" in r
        ]

    full, cut = losses(tmp_path / "full"), losses(tmp_path / "cut")
    assert [x[:2] for x in full] == [x[:2] for x in cut]  # one line per step, no duplicates
    for x, y in zip(full, cut, strict=True):
        assert abs(x[2] - y[2]) < 1e-4, (x, y)


def test_resume_with_another_config_is_refused(tiny_models, toy_data, tmp_path):
    import pytest

    from radvqa_data.core.errors import ConfigError

    cfg = load_config(
        "tiny-demo",
        overrides=[STAGES, "stages.qa.max_steps=2"],
        model=str(tiny_models["paligemma"]),
    )
    kw = {"shards": toy_data["shards"], "catalog": toy_data["catalog"], "progress": False}
    run_recipe(cfg, out=tmp_path, stop_after=2, **kw)
    other = load_config(
        "tiny-demo",
        overrides=[STAGES, "stages.qa.max_steps=2", "stages.qa.lr=0.1"],
        model=str(tiny_models["paligemma"]),
    )
    with pytest.raises(ConfigError, match="differs"):
        run_recipe(other, out=tmp_path, resume=True, **kw)
    done = run_recipe(cfg, out=tmp_path, resume=True, **kw)
    assert [s["stage"] for s in done] == ["align", "qa"] and done[-1]["finished"]
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["step"]) for r in lines if "loss" in r] == [
        ("align", 1),
        ("align", 2),
        ("qa", 1),
        ("qa", 2),
    ]
