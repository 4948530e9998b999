"""Atomic training checkpoints: written to a temporary folder, then renamed into place.

A checkpoint folder ``STAGE/checkpoints/step-NNNNNN/`` holds everything a resumed run needs to
reach the same result as an uninterrupted one: the trainable tensors (LoRA / projector / all),
optimizer and scheduler state, the RNG states of every process, and the step (the data
position: the example order is a pure function of the seed, see `radvqa_train.data`).
A folder is only ever seen complete, because it appears by `os.rename`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any


def rng_state() -> dict:
    """RNG states of python, numpy and torch (CPU and CUDA when present) of this process."""
    import numpy as np
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    folder: Path,
    step: int,
    *,
    trainable: dict,
    optimizer: Any,
    scheduler: Any,
    rng_states: list[dict],
    extra: dict | None = None,
    keep: int = 2,
) -> Path:
    """Write checkpoint `step` under `folder` atomically; keep only the newest `keep`."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".step-{step:06d}.", dir=folder))
    try:
        torch.save(trainable, tmp / "trainable.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_states, tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, **(extra or {})}, indent=2))
        if final.exists():  # a rerun reached the same step again: replace it
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for old in list_checkpoints(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints under `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*") if p.is_dir() and (p / "state.json").exists())


def load_checkpoint(path: Path) -> dict:
    """Everything `save_checkpoint` wrote, as a dict (tensors on CPU)."""
    import torch

    def load(name: str) -> Any:
        return torch.load(path / name, map_location="cpu", weights_only=False)

    return {
        "state": json.loads((path / "state.json").read_text()),
        "trainable": load("trainable.pt"),
        "optimizer": load("optimizer.pt"),
        "scheduler": load("scheduler.pt"),
        "rng": load("rng.pt"),
    }
