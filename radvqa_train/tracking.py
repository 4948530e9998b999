"""Training logs: one JSON line per logging step in OUT/metrics.jsonl, TensorBoard when installed.

Lines look like ``{"stage": "qa", "step": 3, "loss": 2.1, "lr": 1e-4, "samples_per_s": ..,
"tokens_per_s": .., "memory_mb": .., "time": ..}``; eval lines carry ``eval_loss`` instead of
``loss``. On resume the lines past the checkpoint are dropped so the file reads as one run.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

from radvqa_data.core.atomic import write_text


def memory_mb() -> float:
    """Peak accelerator memory (CUDA) or peak resident memory of this process (CPU), in MiB."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class MetricsLog:
    """Appends metric lines (rank 0 only) and mirrors scalars to TensorBoard if available."""

    def __init__(self, out: Path, stage_names: list[str], *, enabled: bool = True):
        self.stage_names = list(stage_names)
        self.path = Path(out) / "metrics.jsonl"
        self.enabled = enabled
        self._tb: Any = None
        if enabled:
            try:  # optional: TensorBoard only when the package is installed
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(out) / "tensorboard"))
            except ImportError:
                self._tb = None

    def truncate_after(self, stage: str, step: int) -> None:
        """Drop lines of `stage` past `step` and of the stages after it (resume)."""
        if not self.enabled or not self.path.exists():
            return
        later = set(self.stage_names[self.stage_names.index(stage) + 1 :])
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: drop it
            if row.get("stage") in later or (
                row.get("stage") == stage and row.get("step", 0) > step
            ):
                continue
            kept.append(line)
        write_text(self.path, "".join(k + "\n" for k in kept))

    def log(self, row: dict) -> None:
        if not self.enabled:
            return
        row = {**row, "time": round(time.time(), 3)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k not in ("step", "time"):
                    self._tb.add_scalar(f"{row['stage']}/{k}", v, row["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
