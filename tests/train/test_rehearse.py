"""`radvqa-train rehearse`: real-size parameter counts against the published totals, the meta
trace against a real run, the JSON report of every shipped real recipe, and (slow tier) one real
CPU step of the smallest real recipe."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from radvqa_data.core.errors import ConfigError
from radvqa_train.cli import app
from radvqa_train.real_size import RealSpec, build_model, build_processor

REAL_RECIPES = ["smolvlm-256m", "qwen3-vl-2b", "paligemma-3b", "qwen2.5-vl-3b", "medgemma-4b"]


@pytest.mark.parametrize("spec", RealSpec.all(), ids=lambda s: s.model_id)
def test_parameter_count_within_2_percent_of_published(spec):
    model = build_model(spec, build_processor(spec), meta=True)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n / spec.published_params - 1) < 0.02, (n, spec.published_params)
    assert spec.source.startswith("https://huggingface.co/")


@pytest.mark.parametrize("family", ["paligemma", "qwen3_vl"])
def test_meta_trace_counts_what_a_real_step_counts(family, tmp_path):
    """The meta-device trace (weights on meta, data-dependent ops kept real) gives the FLOPs and
    saved activations of the same step run for real on CPU."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    from radvqa_train.families import build_inputs, model_inputs
    from radvqa_train.meta_trace import trace_step
    from radvqa_train.rehearse import nominal_image
    from radvqa_train.tiny_model import build_tiny_model

    folder = build_tiny_model(family, tmp_path / family)
    processor = AutoProcessor.from_pretrained(folder)
    batch, _ = build_inputs(processor, family, [nominal_image(48)], ["mass?"], ["yes"])
    # eager attention in both: torch's FLOP counter knows no formula for the CPU-only fused
    # attention kernel, which the real run would take and the meta run would not
    real = AutoModelForImageTextToText.from_pretrained(folder, attn_implementation="eager")
    with FlopCounterMode(display=False) as counter:
        out = real(**model_inputs(batch), use_cache=False)
        out.loss.backward()
    with torch.device("meta"):
        config = AutoConfig.from_pretrained(folder, attn_implementation="eager")
        meta = AutoModelForImageTextToText.from_config(config)
    trace = trace_step(meta, model_inputs(batch))
    assert trace.flops == counter.get_total_flops() > 0
    assert 0 < trace.forward_flops < trace.flops
    assert trace.saved_bytes > sum(trace.layer_saved_bytes) > 0
    assert trace.checkpointed_bytes < trace.saved_bytes


def test_lora_target_that_does_not_exist_lists_the_module_names():
    from radvqa_train.config import load_config
    from radvqa_train.rehearse import rehearse_meta

    cfg = load_config("qwen3-vl-2b", overrides=["stages.synthetic_qa.lora.targets=[q_proj, qkv]"])
    with pytest.raises(ConfigError, match=r"\['qkv'\] match no module.*down_proj.*q_proj"):
        rehearse_meta(cfg, recipe="qwen3-vl-2b")


@pytest.mark.parametrize("recipe", REAL_RECIPES)
def test_rehearse_meta_json(recipe):
    res = CliRunner().invoke(app, ["rehearse", recipe, "--meta", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    keys = {"params_total", "params_trainable", "lora_targets", "image_tokens", "max_length"}
    for s in report["stages"]:
        assert keys | {"flops_per_step", "est_gpu_memory_gb"} <= set(s)
        assert abs(s["params_error_pct"]) < 2
        assert 0 < s["params_trainable"] < s["params_total"] / 10
        assert 0 < s["image_tokens"] <= s["image_tokens_max"] < s["max_length"]
        assert s["seq_len"] <= s["max_length"]
        bounds = report["assumptions"]["pixel_bounds"]
        if bounds["max_pixels"]:  # Qwen-VL: counted at the recipe's cap, not at 512 px
            assert s["image_px"] ** 2 <= bounds["max_pixels"] < (s["image_px"] + 1) ** 2
            patch = 16 if "qwen3" in recipe else 14
            assert s["image_tokens_max"] == bounds["max_pixels"] // (2 * patch) ** 2
        assert s["flops_per_step"] > 6 * s["params_trainable"] * s["batch_size"]
        mem = s["est_gpu_memory_gb"]
        assert mem["total_checkpointed"] < mem["total"]
        assert [g["gpu"][:6] for g in s["gpus"]] == ["24 GB ", "40 GB ", "80 GB ", "141 GB"]
        assert [g["max_batch"] for g in s["gpus"]] == sorted(g["max_batch"] for g in s["gpus"])
        if s["train"].startswith("lora"):
            assert set(s["lora_targets"]["lm"]) == {
                "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
            }  # fmt: skip


@pytest.mark.slow
def test_real_step_of_the_smallest_real_recipe(sample_catalog, tmp_path):
    """SmolVLM-256M at full size, one real bf16 step per stage on sample rows (about 10 min on
    2 loaded cores: 17 image crops of 512 px per example)."""
    res = CliRunner().invoke(
        app,
        [
            "rehearse",
            "smolvlm-256m",
            "--json",
            "--rows",
            "1",
            "--catalog",
            str(sample_catalog),
            "--out",
            str(tmp_path),
            "stages.align.data=[captions:medpix2:validation]",
            "stages.synthetic_qa.data=[vqa-rad:test]",
            "stages.benchmark.data=[vqa-rad:train]",
        ],
    )
    assert res.exit_code == 0, res.output
    real = json.loads(res.stdout)["real"]
    assert [r["stage"] for r in real] == ["align", "synthetic_qa", "benchmark"]
    for r in real:
        assert r["rows"] == 1 and r["loss"] > 0 and r["saliency_shape"]
        assert (tmp_path / "smolvlm-256m" / r["stage"] / "config.json").is_file()


OOM_PROBE = """
import re, sys
from pathlib import Path
import duckdb, peft, polars, torch  # noqa: F401  (loaded before the cap, as in a real run)
from radvqa_train import data, loop, modeling  # noqa: F401
from radvqa_train.config import load_config
from radvqa_train.rehearse_step import rehearse_real
rss = int(re.search(r"VmRSS:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
cfg = load_config("smolvlm-256m", overrides=["stages.align.data=[captions:medpix2:validation]"])
# 0.25 GB above the resident memory now: less than the 0.5 GB of bf16 weights
rehearse_real(cfg, catalog=Path(sys.argv[1]), shards=None, rows=1, out=Path(sys.argv[2]),
              ram_cap_gb=rss / 1024**2 + 0.25)
print("NOT STOPPED")
"""


@pytest.mark.slow
def test_out_of_memory_under_the_ram_cap_is_one_line(sample_catalog, tmp_path):
    """A model whose resident memory passes --ram-cap-gb stops the process with one line naming
    the stage (run in a child process: the cap ends the process)."""
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-c", OOM_PROBE, str(sample_catalog), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 1, (res.stdout, res.stderr[-2000:])
    assert "NOT STOPPED" not in res.stdout
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: stage 'align': out of memory: resident memory reached"), line
    assert "over the --ram-cap-gb" in line and "(RSS)" in line
