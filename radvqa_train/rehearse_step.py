"""`radvqa-train rehearse RECIPE` without --meta: one real step of every stage at full size, CPU.

Per stage, with random bf16 weights built from the shipped real-size config (stage 1) or the
previous stage's saved folder: one AdamW step on `rows` real catalog rows of the stage's first
data source (the trainable weights must change), the stage result saved as `run` saves it
(LoRA merged) and reloaded through the one loader, one greedy answer generated from it (the
eval path), and one saliency map computed by `radvqa_diag` on it. Wall time and the peak RSS
of each stage (the kernel's high-water mark, reset at each stage start) are reported.

`--ram-cap-gb` bounds resident memory (RSS), what "fits in N GB of RAM" means, not address
space: the one loader maps each safetensors file whole and its tensors are views of the map
(no copy), so a reload adds the file's size to the address space but to RSS only the pages
touched; under the address-space cap used before (RLIMIT_AS) the Qwen2.5-VL-3B and MedGemma-4B
reloads failed on that charge, not for lack of RAM.

This is an orchestrator like `radvqa_experiment`: the one trainer module that may import
diag (tests/test_boundaries.py).
"""

from __future__ import annotations

import gc
import os
import re
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import InputError
from radvqa_train.config import DataSpec, TrainConfig


def peak_rss_gb() -> float:
    """Peak resident memory of this process since start or the last `reset_peak_rss` (KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM, ru_maxrss) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or /proc read-only: the peak stays a lifetime maximum
        pass


def _status_kb(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


class RssCap:
    """Stop this process, with one `Error:` line naming the stage, when its peak RSS passes
    `cap_gb`, before the kernel's OOM killer picks some process on a shared machine.

    A thread reads the kernel's high-water mark (VmHWM) every `interval` s, so a spike between
    two reads is still seen; the process may overshoot the cap by what it touches in one interval
    (at most a few hundred MB). It ends the process with `os._exit`: the allocation in flight
    may be inside one C++ call (a backward pass) that no Python exception could interrupt.
    """

    def __init__(self, cap_gb: float, interval: float = 0.02) -> None:
        self.cap_gb = cap_gb
        self.interval = interval
        self.stage = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="rss-cap", daemon=True)

    def __enter__(self) -> RssCap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        cap_kb = self.cap_gb * 1024**2
        while not self._stop.wait(self.interval):
            hwm = _status_kb("VmHWM")
            if hwm > cap_kb:
                sys.stdout.flush()
                sys.stderr.write(
                    f"Error: stage '{self.stage}': out of memory: resident memory reached "
                    f"{hwm / 1024**2:.2f} GB, over the --ram-cap-gb {self.cap_gb:g} cap "
                    "(RSS); stopped before the machine runs out\n"
                )
                sys.stderr.flush()
                os._exit(1)


def _rows(stage: Any, rows: int, catalog: Path | None, shards: Path | None) -> list[dict]:
    from radvqa_train.data import load_source

    if catalog is None:
        raise InputError("rehearse without --meta needs --catalog (a few real rows per stage)")
    d = stage.data[0]
    spec = DataSpec(spec=d.spec, sources=d.sources, question_types=d.question_types, limit=rows)
    return load_source(spec, shards=shards, catalog=catalog).to_dicts()


def _one_step(model: Any, batch: dict, precision: str) -> float:
    import torch

    from radvqa_train.families import model_inputs
    from radvqa_train.loop import _autocast

    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    opt = torch.optim.AdamW(trainable, lr=1e-3)
    model.train()
    with _autocast(precision, torch.device("cpu")):
        loss = model(**model_inputs(batch)).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    moved = sum(int(not torch.equal(a, p.detach())) for a, p in zip(before, trainable, strict=True))
    if moved == 0:
        raise RuntimeError("one optimizer step changed no trainable tensor")
    return float(loss.detach())


def _answer_and_map(folder: Path, row: dict) -> tuple[str, tuple, str]:
    """Reload `folder` (bf16, eager attention), answer `row` greedily, explain the answer."""
    import torch

    from radvqa_diag.loading import LoadedModel
    from radvqa_diag.saliency import explain_batch
    from radvqa_train.data import load_image
    from radvqa_train.families import build_inputs, family_of, image_token_id, model_inputs
    from radvqa_train.modeling import load_model

    # eager attention (diag needs the attention maps) in the language model only: in the vision
    # tower it would keep every crop's attention matrices (SmolVLM, 17 crops of 1,024 patches:
    # about 20 GB on a CPU); the map then uses LM rollout, noted by diag as "lm_only"
    attn = {"": "eager", "text_config": "eager", "vision_config": "sdpa"}
    model, processor = load_model(folder, precision="bf16", attn_implementation=attn)
    model.eval()
    family = family_of(model)
    note = ""
    if getattr(processor.image_processor, "do_image_splitting", False):
        # SmolVLM upscales every image to 2,048 px: 16 tiles + global. Saliency over 17 crops
        # needs more than 10 GB on a CPU (activations + LM attentions), so the map is made from
        # the global image alone; training and generation above used the published setting.
        processor.image_processor.do_image_splitting = False
        note = "saliency on the global image only (no tiles)"
    image = load_image(row["image_path"])
    inputs, _ = build_inputs(processor, family, [image], [row["question"]])
    with torch.no_grad():
        out = model.generate(**model_inputs(inputs), max_new_tokens=4, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :]
    answer = processor.tokenizer.decode(new, skip_special_tokens=True).strip()
    # no weight gradients: saliency needs them only on the pixels and the projected image
    # features (the LM's 2 B weight gradients would cost 4 GB for nothing)
    model.requires_grad_(False)
    lm = LoadedModel(
        model, processor, family, model.config.model_type, image_token_id(processor), folder
    )
    sal = explain_batch(lm, [image], [row["question"]], [answer or "yes"])[0]
    return answer, tuple(sal.maps["grad_x_input"].shape), note


def _out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is an allocation failure: torch and safetensors raise RuntimeError, DuckDB
    (reading the stage's rows from the catalog) its own `OutOfMemoryException`."""
    text = str(exc)
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryException"
        or any(
            m in text
            for m in ("Cannot allocate memory", "not enough memory", "DefaultCPUAllocator")
        )
    )


def _stage(
    stage: Any,
    spec: Any,
    processor: Any,
    family: str,
    previous: Path | None,
    out: Path,
    rows: int,
    catalog: Path | None,
    shards: Path | None,
) -> tuple[dict, Any]:
    """One stage of the rehearsal: step, save, reload, answer, map; (report entry, processor)."""
    import torch

    from radvqa_train.loop import Counts, encode_rows
    from radvqa_train.modeling import (
        finalize,
        load_model,
        prepare_for_stage,
        save_model_folder,
    )
    from radvqa_train.real_size import build_model

    data = _rows(stage, rows, catalog, shards)
    if previous is None:
        model = build_model(spec, processor, meta=False)
    else:
        model, processor = load_model(previous, precision="bf16")
    model = prepare_for_stage(model, stage)
    counts = Counts()
    batch = encode_rows(data, processor, family, stage.max_length, counts)
    if batch is None:
        raise InputError(
            f"stage '{stage.name}': none of {len(data)} rows fits max_length="
            f"{stage.max_length} (rejected {counts.rejected_too_long}, "
            f"bad image {counts.bad_image})"
        )
    batch.pop("answer_mask")
    loss = _one_step(model, batch, stage.precision)
    folder = out / stage.name
    model = finalize(model)
    model.to(dtype=torch.bfloat16)  # a projector stage upcast its trainable weights
    save_model_folder(model, processor, folder)
    del model, batch
    gc.collect()
    answer, shape, note = _answer_and_map(folder, data[0])
    gc.collect()
    entry = {
        "stage": stage.name,
        "rows": counts.used,
        "loss": loss,
        "generated": answer,
        "saliency_shape": list(shape),
        "saliency_note": note,
    }
    return entry, processor


def rehearse_real(
    cfg: TrainConfig,
    *,
    catalog: Path | None,
    shards: Path | None,
    rows: int = 2,
    out: Path = Path("out/rehearse"),
    recipe: str = "",
    ram_cap_gb: float = 0,
) -> list[dict]:
    """One real step, save, reload, answer and saliency map per stage (see module doc).

    `ram_cap_gb`: the most resident memory (RSS, GB) this process may reach; past it the
    process stops with one line naming the stage (`RssCap`) instead of waking the kernel's OOM
    killer, which may pick another process on a shared machine. 0: no cap; an allocation the
    machine cannot serve is then reported as one line too (InputError)."""
    if ram_cap_gb:
        with RssCap(ram_cap_gb) as cap:
            return _rehearse_stages(cfg, catalog, shards, rows, out, recipe, cap)
    return _rehearse_stages(cfg, catalog, shards, rows, out, recipe, None)


def _rehearse_stages(
    cfg: TrainConfig,
    catalog: Path | None,
    shards: Path | None,
    rows: int,
    out: Path,
    recipe: str,
    cap: RssCap | None,
) -> list[dict]:
    from radvqa_train.families import FAMILY_OF_MODEL_TYPE
    from radvqa_train.processors import set_pixel_bounds
    from radvqa_train.real_size import RealSpec, build_processor

    spec = RealSpec.for_model(cfg.model)
    processor = build_processor(spec)
    # the recipe's pixel bounds (Qwen-VL), as `run` applies them; saved with each stage folder
    set_pixel_bounds(processor, cfg.image.min_pixels, cfg.image.max_pixels, where=recipe)
    family = FAMILY_OF_MODEL_TYPE[spec.model_type]
    out = Path(out) / (recipe or spec.model_id.replace("/", "--"))
    previous: Path | None = None
    report = []
    for stage in cfg.stages:
        t0, c0 = time.perf_counter(), cpu_seconds()
        if cap is not None:
            cap.stage = stage.name
        gc.collect()
        rss_start = round(_status_kb("VmRSS") / 1024**2, 2)
        reset_peak_rss()  # the peak of this stage, not of the stages before it
        try:
            entry, processor = _stage(
                stage, spec, processor, family, previous, out, rows, catalog, shards
            )
        except Exception as exc:  # which allocator gives up depends on where the cap is hit
            if not _out_of_memory(exc):
                raise
            raise InputError(
                f"stage '{stage.name}': out of memory (peak RSS of the stage {peak_rss_gb()} "
                f"GB): {str(exc).splitlines()[0][:200]}"
            ) from exc
        entry = {
            **entry,
            "seconds": round(time.perf_counter() - t0, 1),
            "cpu_seconds": round(cpu_seconds() - c0, 1),
            "rss_start_gb": rss_start,
            "peak_rss_gb": peak_rss_gb(),
        }
        report.append(entry)
        previous = out / stage.name
        print(f"rehearse {stage.name}: {entry}", file=sys.stderr, flush=True)
    return report
