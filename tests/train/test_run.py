"""Multi-stage training on CPU with tiny models of two families."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from radvqa_train.config import load_config
from radvqa_train.run import run_recipe


def _weights(folder: Path) -> dict:
    return load_file(str(folder / "model.safetensors"))


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


TWO_STAGES = [
    "stages=[{name: align, data: [captions], train: projector, lr: 0.01, schedule: constant, "
    "max_steps: 4, batch_size: 4, max_length: 64, save_every: 2}, "
    "{name: qa, data: [{spec: 'synthetic:train'}, {spec: 'vqa-rad:train', weight: 0.5}], "
    "train: lora_lm, lora: {r: 8, alpha: 32, dropout: 0.0}, lr: 0.02, schedule: constant, "
    "max_steps: 12, batch_size: 6, "
    "max_length: 64, save_every: 6, eval: {data: 'synthetic:test', every: 6, limit: 8}}]",
]


@pytest.mark.parametrize(
    "family", ["paligemma", "idefics3", pytest.param("qwen2_5_vl", marks=pytest.mark.slow)]
)
def test_two_stage_run_loss_falls_lora_changes_projector_only(
    family, tiny_models, toy_data, tmp_path
):
    cfg = load_config("tiny-demo", overrides=TWO_STAGES, model=str(tiny_models[family]))
    out = tmp_path / "run"
    summaries = run_recipe(
        cfg, out=out, shards=toy_data["shards"], catalog=toy_data["catalog"], progress=False
    )
    assert [s["stage"] for s in summaries] == ["align", "qa"]

    base, align, qa = _weights(tiny_models[family]), _weights(out / "align"), _weights(out / "qa")
    proj = {
        "paligemma": "multi_modal_projector.",
        "idefics3": "connector.",
        "qwen2_5_vl": "visual.merger.",
    }[family]
    # saved key names: Qwen2.5-VL is written in its original layout (LM under "model.layers.")
    lm = {"paligemma": "language_model.", "idefics3": "text_model.", "qwen2_5_vl": "model.layers."}[
        family
    ]
    assert all(
        any(part in k for k in base) for part in (proj, lm)
    )  # the checks below are not vacuous

    def changed(a, b, part):
        return [k for k in a if part in k and not (a[k] == b[k]).all()]

    # projector-only stage: the projector moved, the language model and vision tower did not
    assert changed(base, align, proj)
    assert not changed(base, align, lm)
    assert not changed(base, align, "vision") and not changed(base, align, "visual.blocks")
    # LoRA stage: the merged language-model weights differ from stage 1's
    assert changed(align, qa, lm)

    adapter = load_file(str(out / "qa" / "adapter" / "adapter_model.safetensors"))
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: it trained

    rows = [r for r in _lines(out) if r["stage"] == "qa" and "loss" in r]
    assert len(rows) == 12
    first, last = sum(r["loss"] for r in rows[:3]) / 3, sum(r["loss"] for r in rows[-3:]) / 3
    print(family, "loss first, last:", first, last)
    assert last < first - 0.5, (first, last)
    assert {"lr", "samples_per_s", "tokens_per_s", "memory_mb"} <= set(rows[0])
    assert any("eval_loss" in r for r in _lines(out))
    stage = json.loads((out / "qa" / "stage.json").read_text())
    assert stage["counts"]["used"] == 12 * 6 and stage["counts"]["rejected_too_long"] == 0
    assert (out / "config.yaml").exists()


def test_rerun_without_resume_refuses(tiny_models, toy_data, tmp_path):
    from radvqa_data.core.errors import InputError

    cfg = load_config(
        "tiny-demo",
        overrides=[
            "stages=[{name: a, data: [captions], train: projector, max_steps: 1, batch_size: 2}]"
        ],
        model=str(tiny_models["paligemma"]),
    )
    run_recipe(
        cfg, out=tmp_path, shards=toy_data["shards"], catalog=toy_data["catalog"], progress=False
    )
    with pytest.raises(InputError, match="--resume"):
        run_recipe(
            cfg,
            out=tmp_path,
            shards=toy_data["shards"],
            catalog=toy_data["catalog"],
            progress=False,
        )


def test_next_stage_loads_after_the_previous_model_is_freed(
    tiny_models, toy_data, tmp_path, monkeypatch
):
    """Each stage starts from the previous stage's saved folder; the previous stage's model and
    optimizer must be gone by then (accelerate's `prepare` keeps references to both), or a
    3-4 B model is held twice (on a GPU: its weights and AdamW state beside the next stage)."""
    import gc
    import weakref

    from radvqa_train import modeling

    real_load, loaded, alive_at_load = modeling.load_model, [], []

    def load_and_track(*args, **kwargs):
        gc.collect()
        alive_at_load.append(sum(ref() is not None for ref in loaded))
        model, processor = real_load(*args, **kwargs)
        loaded.append(weakref.ref(model))
        return model, processor

    monkeypatch.setattr(modeling, "load_model", load_and_track)
    stages = (
        "stages=[{name: a, data: [captions], train: projector, max_steps: 1, batch_size: 2}, "
        "{name: b, data: [captions], train: lora_lm, max_steps: 1, batch_size: 2}]"
    )
    cfg = load_config("tiny-demo", overrides=[stages], model=str(tiny_models["paligemma"]))
    run_recipe(
        cfg, out=tmp_path, shards=toy_data["shards"], catalog=toy_data["catalog"], progress=False
    )
    assert alive_at_load == [0, 0]
