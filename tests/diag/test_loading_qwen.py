"""Diag loads what the trainer writes, through the trainer's one loader: here a Qwen2.5-VL stage
folder, whose processor exists only once `register_processors()` ran (a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from radvqa_diag.loading import load_model
out = {}
for key, path in (("stage", sys.argv[1]), ("adapter", sys.argv[2])):
    lm = load_model(path, device="cpu")
    out[key] = {"family": lm.family, "model_type": lm.model_type,
                "processor": type(lm.processor).__name__,
                "image_processor": hasattr(lm.processor, "image_processor"),
                "attn": lm.model.config._attn_implementation, "training": lm.model.training}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def qwen_stage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Qwen2.5-VL stage folder as `radvqa-train run` leaves it: merged model + processor, with
    the LoRA adapter beside it in `adapter/`."""
    from radvqa_train.config import StageConfig
    from radvqa_train.modeling import load_model, prepare_for_stage
    from radvqa_train.run import _save_stage
    from radvqa_train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("qwen-stage")
    base = build_tiny_model("qwen2_5_vl", root / "init", seed=0)
    model, processor = load_model(str(base))
    model = prepare_for_stage(model, StageConfig(name="qa", data=[], train="lora_lm"))
    stage = root / "qa"
    _save_stage(model, processor, stage, {}, {"name": "qa"})
    return stage


def test_diag_loads_a_qwen2_5_vl_stage_folder_in_a_fresh_process(qwen_stage: Path) -> None:
    assert (qwen_stage / "adapter" / "adapter_config.json").is_file()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(qwen_stage), str(qwen_stage / "adapter")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("stage", "adapter"):
        assert got[key] == {
            "family": "qwen2_5_vl",
            "model_type": "qwen2_5_vl",
            "processor": "RadvqaQwen2_5_VLProcessor",
            "image_processor": True,
            "attn": "eager",
            "training": False,
        }, key
