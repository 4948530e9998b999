"""Where the data steps run their batch functions: this machine, or a Ray cluster.

`catalog add`, `entities` and `synth` cut their work into batches (files, texts, shards) and hand
a plain, picklable batch function to an `Executor`; what happens around the batches (the probe
cache, the entity bookkeeping, the shard writer, manifest, filters and resume) stays in the step
and is the same for every executor. The driver process alone writes the catalog and the output
folder.

- `local` (default): each step's measured-fastest way on one machine (probe threads, forked
  spaCy workers, the synth loop in-process), unchanged from before executors existed.
- `ray`: Ray tasks over the batches (`map`), or a Ray Data map over synth shards (`map_dataset`),
  on the cluster at `--ray-address`, or a local Ray instance sized to the machine.
"""

from __future__ import annotations

from radvqa_data.executor.base import EXECUTORS, Executor, item_error, make_executor

__all__ = ["EXECUTORS", "Executor", "item_error", "make_executor"]
