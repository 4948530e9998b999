"""`radvqa-train run` checks every stage's data and the model before it trains anything, and the
override examples the docs show are valid against the recipes they name."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from radvqa_data.core.errors import ConfigError
from radvqa_train.cli import app
from radvqa_train.config import load_config, recipe_path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]):
    return CliRunner().invoke(app, ["run", *args])


def _nothing_trained(out: Path) -> bool:
    return not (out / "metrics.jsonl").exists() and not any(out.glob("*/checkpoints"))


def _stage2_overrides(model: Path) -> list[str]:
    # a quick valid stage 1, then the mistake in stage 2
    return [
        "--model",
        str(model),
        "stages.align.data=[captions]",
        "stages.align.max_steps=1",
        "stages.synthetic_qa.eval.data=null",
    ]


def test_stage2_override_mistake_fails_before_stage1_trains(tiny_models, toy_data, tmp_path):
    out = tmp_path / "run"
    data = ["--shards", str(toy_data["shards"]), "--catalog", str(toy_data["catalog"])]
    res = _run(
        [
            "tiny-demo",
            *_stage2_overrides(tiny_models["paligemma"]),
            "stages.synthetic_qa.data=[synthetic:validation]",  # toy shards: no validation rows
            *data,
            "--out",
            str(out),
        ]
    )
    assert res.exit_code != 0
    line = res.output.strip()
    assert line.startswith("Error:") and "\n" not in line, res.output
    assert "override 'stages.synthetic_qa.data=[synthetic:validation]'" in line
    assert "stage 'synthetic_qa'" in line and "stages: align, synthetic_qa, benchmark" in line
    assert "have no 'validation' rows (there: synthetic:" in line  # what the shards do hold
    assert _nothing_trained(out)


def test_stage2_mistake_in_a_recipe_file_names_the_file(tiny_models, toy_data, tmp_path):
    raw = yaml.safe_load(recipe_path("tiny-demo").read_text())
    raw["stages"][1]["data"] = ["vqa-rad:validation"]  # the toy benchmark has train/test only
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    res = _run(
        [
            str(recipe),
            "--model",
            str(tiny_models["paligemma"]),
            "stages.align.data=[captions]",
            "stages.synthetic_qa.eval.data=null",
            "--shards",
            str(toy_data["shards"]),
            "--catalog",
            str(toy_data["catalog"]),
            "--out",
            str(out),
        ]
    )
    assert res.exit_code != 0
    assert f"{recipe}: stage 'synthetic_qa' (stages.1" in res.output
    assert "'vqa-rad:validation'" in res.output
    assert _nothing_trained(out)


def test_override_of_a_missing_stage_lists_the_stages():
    with pytest.raises(ConfigError, match=r"no list item 'qa' .*align, synthetic_qa, benchmark"):
        load_config("tiny-demo", overrides=["stages.qa.lr=1e-4"])


def test_lora_target_typo_lists_the_real_module_names(tiny_models, toy_data, tmp_path):
    res = _run(
        [
            "tiny-demo",
            *_stage2_overrides(tiny_models["paligemma"]),
            "stages.synthetic_qa.data=[synthetic:train]",
            "stages.synthetic_qa.lora.targets=[q_proj, qkv_proj]",
            "--shards",
            str(toy_data["shards"]),
            "--catalog",
            str(toy_data["catalog"]),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert res.exit_code != 0
    assert "lora.targets ['qkv_proj'] match no module" in res.output
    assert "gate_proj" in res.output and "q_proj" in res.output  # the names that do exist
    assert _nothing_trained(tmp_path / "run")


def _doc_examples() -> list[tuple[str, list[str]]]:
    """(recipe, overrides) of every `radvqa-train run RECIPE ... key=value` example in docs/."""
    found = []
    for md in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        text = md.read_text("utf-8").replace("\\\n", " ")
        for m in re.finditer(r"radvqa-train run (\S+)([^\n]*)", text):
            args = shlex.split(m.group(2))
            overrides = [a for a in args if "=" in a and not a.startswith("-")]
            if overrides and not m.group(1).startswith(("RECIPE", "-")):
                found.append((m.group(1), overrides))
    return found


def test_docs_override_examples_are_valid():
    examples = _doc_examples()
    assert examples, "docs/train.md shows override examples; the parser found none"
    from radvqa_train.preflight import check_model

    for recipe, overrides in examples:
        cfg = load_config(recipe, overrides=overrides)
        assert cfg.stages
        # and the model side of `run`'s checks (real-size config on the meta device: LoRA
        # targets, pixel bounds only for Qwen-VL); a `--model` folder is not ours to build
        assert check_model(cfg, where=f"docs: {recipe}") == [], (recipe, overrides)
