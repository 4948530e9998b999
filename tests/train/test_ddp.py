"""Two processes with DDP on CPU (gloo) through `accelerate launch`, checked against one process.

`accelerate launch --cpu --num_processes 2` starts ONE process (its CPU multi-process path needs
MPI); `--multi_gpu` uses torchrun, and on a machine without CUDA each process then runs as
MULTI_CPU with the gloo backend.

With contiguous per-process slices of the draw order, 2 processes x batch 3 equal 1 process x
batch 3 x grad_accum 2 (same examples, same groups, gradient = mean of the two group losses),
so the trained weights must match up to float summation order.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from radvqa_train.config import load_config
from radvqa_train.run import run_recipe

STAGE = (
    "{name: qa, data: [{spec: 'synthetic:train'}], train: lora_lm, "
    "lora: {r: 4, alpha: 8, dropout: 0.0}, lr: 0.005, schedule: constant, max_steps: 4, "
    "batch_size: 3, grad_accum: %d, max_length: 64, save_every: 2}"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_on_cpu_matches_one_process(tiny_models, toy_data, tmp_path):
    model = str(tiny_models["paligemma"])
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [
        str(accelerate),
        "launch",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--multi_gpu",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(_free_port()),
        "-m",
        "radvqa_train.cli",
        "run",
        "tiny-demo",
        "--model",
        model,
        "--shards",
        str(toy_data["shards"]),
        "--catalog",
        str(toy_data["catalog"]),
        "--out",
        str(tmp_path / "ddp"),
        f"stages=[{STAGE % 1}]",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "ddp" / "qa" / "stage.json").read_text())
    assert summary["world_size"] == 2 and summary["counts"]["used"] == 4 * 3  # rank 0's share
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert len([x for x in lines if '"loss"' in x]) == 4  # rank 0 logs alone

    cfg = load_config("tiny-demo", overrides=[f"stages=[{STAGE % 2}]"], model=model)
    run_recipe(
        cfg,
        out=tmp_path / "one",
        shards=toy_data["shards"],
        catalog=toy_data["catalog"],
        progress=False,
    )
    a = load_file(str(tmp_path / "ddp" / "qa" / "model.safetensors"))
    b = load_file(str(tmp_path / "one" / "qa" / "model.safetensors"))
    base = load_file(str(tiny_models["paligemma"] / "model.safetensors"))
    moved = [k for k in a if not torch.equal(a[k], base[k])]
    assert moved
    for k in moved:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
