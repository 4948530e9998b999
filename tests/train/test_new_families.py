"""The MedGemma-4B and Qwen3-VL recipes train (three stages), evaluate and explain on their tiny
random versions (same family code as the real checkpoints, hidden size 64)."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file

from radvqa_train.config import load_config
from radvqa_train.run import run_recipe

RECIPES = {"gemma3": "medgemma-4b", "qwen3_vl": "qwen3-vl-2b"}
PROJECTOR = {"gemma3": "multi_modal_projector.", "qwen3_vl": "visual.merger."}

SMALL = [  # the recipe's three stages and train modes, sized for the tiny model and toy data
    "stages.align.data=[captions]",
    "stages.synthetic_qa.data=[synthetic:train]",
    "stages.benchmark.data=[vqa-rad:train]",
    *[
        f"stages.{s}.{k}={v}"
        for s in ("align", "synthetic_qa", "benchmark")
        for k, v in (("batch_size", 6), ("grad_accum", 1), ("max_length", 96), ("save_every", 50))
    ],
    "stages.align.max_steps=3",
    "stages.align.lr=0.01",
    "stages.synthetic_qa.max_steps=12",
    "stages.synthetic_qa.lr=0.02",
    "stages.synthetic_qa.lora={r: 8, alpha: 32, dropout: 0.0}",
    "stages.synthetic_qa.schedule=constant",
    "stages.synthetic_qa.warmup_steps=0",
    "stages.synthetic_qa.eval={data: 'synthetic:test', every: 6, limit: 6}",
    "stages.benchmark.max_steps=2",
    "stages.benchmark.eval.data=null",
]


@pytest.mark.parametrize("family", list(RECIPES))
def test_recipe_trains_evaluates_and_explains(family, tiny_models, toy_data, tmp_path):
    import json

    from radvqa_diag.explain import explain_one
    from radvqa_train.evaluate import evaluate

    # the Qwen recipe's pixel bounds (256^2..512^2) sized for the tiny model: a 40 px toy image
    # is upscaled to min_pixels 48^2: 3 x 3 tokens of 16 px (the tiny model's own 32^2: 2 x 2)
    bounds = ["image.min_pixels=2304", "image.max_pixels=2304"] if family == "qwen3_vl" else []
    cfg = load_config(RECIPES[family], overrides=[*SMALL, *bounds], model=str(tiny_models[family]))
    out = tmp_path / "run"
    summaries = run_recipe(
        cfg, out=out, shards=toy_data["shards"], catalog=toy_data["catalog"], progress=False
    )
    assert [s["stage"] for s in summaries] == ["align", "synthetic_qa", "benchmark"]
    assert all(s["family"] == family for s in summaries)

    base = load_file(str(tiny_models[family] / "model.safetensors"))
    align = load_file(str(out / "align" / "model.safetensors"))
    proj = [k for k in base if PROJECTOR[family] in k]
    assert proj and any(not (base[k] == align[k]).all() for k in proj)  # the projector trained
    adapter = load_file(str(out / "synthetic_qa" / "adapter" / "adapter_model.safetensors"))
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    qa = [r["loss"] for r in lines if r["stage"] == "synthetic_qa" and "loss" in r]
    assert len(qa) == 12 and sum(qa[-3:]) / 3 < sum(qa[:3]) / 3 - 0.3, qa

    metrics = evaluate(
        "vqa-rad:test",
        model=str(out / "benchmark"),
        catalog=toy_data["catalog"],
        out=tmp_path / "eval",
        limit=4,
        progress=False,
    )
    assert metrics["overall"]["n"] == 4 and (tmp_path / "eval" / "predictions.parquet").is_file()

    image = sorted((toy_data["root"] / "img").glob("*.png"))[0]
    if family == "qwen3_vl":  # eval and diag load the stage's processor, bounds included
        from PIL import Image

        from radvqa_diag.loading import load_model

        processor = load_model(out / "benchmark").processor
        enc = processor(images=[Image.open(image)], text=["<|image_pad|>"], return_tensors="pt")
        assert enc["image_grid_thw"].tolist() == [[1, 6, 6]]  # 48 px / patch 8
    res = explain_one(out / "benchmark", image, "Is the image bright?", None, tmp_path / "sal.png")
    assert Path(res["png"]).is_file() and Path(res["npz"]).is_file()
