"""One readable training loop; stages differ by config only.

`train_stage` trains one stage from `start_model` and returns a summary. It runs the same on
one CPU, one GPU or N processes under `accelerate launch` (DDP: gloo on CPU, NCCL on GPU).
Micro-batches are built on the fly from the stage's deterministic draw order; an example that
cannot fit `max_length` without cutting image tokens, or whose image does not decode, is
skipped and counted.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radvqa_data.core.progress import progress_bar
from radvqa_train.checkpoint import (
    list_checkpoints,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from radvqa_train.config import StageConfig
from radvqa_train.data import StageData, draw_order, load_image, row_weights, total_steps
from radvqa_train.families import collate, encode_sample, model_inputs
from radvqa_train.tracking import MetricsLog, memory_mb


@dataclass
class Counts:
    """Per-example outcomes while building batches (reported in stage.json)."""

    used: int = 0
    truncated: int = 0
    rejected_too_long: int = 0
    bad_image: int = 0
    extra: dict = field(default_factory=dict)


def encode_rows(
    rows: list[dict], processor: Any, family: str, max_length: int, counts: Counts
) -> dict | None:
    """Collated training batch of `rows` (dicts with image_path/question/answer),
    or None if empty."""
    feats = []
    for r in rows:
        image = load_image(r["image_path"])
        if image is None:
            counts.bad_image += 1
            continue
        enc = encode_sample(
            processor, family, image, r["question"], r["answer"], max_length=max_length
        )
        if enc.features is None:
            counts.rejected_too_long += 1
            continue
        counts.truncated += int(enc.truncated)
        counts.used += 1
        feats.append(enc.features)
    return collate(feats, processor.tokenizer.pad_token_id) if feats else None


def _autocast(precision: str, device: Any) -> Any:
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def eval_loss(
    model: Any, rows: list[dict], processor: Any, family: str, stage: StageConfig, device: Any
) -> float:
    """Mean answer-token loss of `model` over `rows` (no gradient)."""
    import torch

    total, n = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), stage.batch_size):
            batch = encode_rows(
                rows[i : i + stage.batch_size], processor, family, stage.max_length, Counts()
            )
            if batch is None:
                continue
            with _autocast(stage.precision, device):
                out = model(**{k: v.to(device) for k, v in model_inputs(batch).items()})
            total += float(out.loss) * len(batch["input_ids"])
            n += len(batch["input_ids"])
    model.train()
    return total / max(n, 1)


def train_stage(
    model: Any,
    processor: Any,
    family: str,
    stage: StageConfig,
    data: StageData,
    stage_dir: Path,
    accelerator: Any,
    log: MetricsLog,
    *,
    resume: bool,
    eval_rows: list[dict] | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> dict:
    """Train `model` (already wrapped for the stage) and return a summary dict.

    `stop_after`: leave after this many optimizer steps in this call (a time-boxed job); the
    summary then has ``"finished": False`` and a rerun with `resume=True` continues.
    """
    import torch
    from transformers import get_scheduler

    world, rank = accelerator.num_processes, accelerator.process_index
    steps = total_steps(stage, data.total, world)
    per_step = stage.batch_size * stage.grad_accum * world
    order = draw_order(
        [f.height for f in data.frames],
        data.weights,
        steps * per_step,
        stage.seed,
        rows=[row_weights(f) for f in data.frames],  # synth --balance weight
    )
    frames = [f.to_dicts() for f in data.frames]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.weight_decay)
    sched_name = {"constant": "constant_with_warmup"}.get(stage.schedule, stage.schedule)
    scheduler = get_scheduler(
        sched_name, optimizer, num_warmup_steps=stage.warmup_steps, num_training_steps=steps
    )
    start = 0
    ckpt_dir = stage_dir / "checkpoints"
    last = list_checkpoints(ckpt_dir)[-1:] if resume else []
    if last:
        from radvqa_train.modeling import load_trainable_state

        ck = load_checkpoint(last[0])
        load_trainable_state(model, ck["trainable"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        set_rng_state(ck["rng"][rank])
        start = ck["state"]["step"]
    if resume and accelerator.is_main_process:  # drop log lines of steps that will be redone
        log.truncate_after(stage.name, start)
    model, optimizer = accelerator.prepare(model, optimizer)
    device = accelerator.device
    counts = Counts()
    model.train()
    bar = contextlib.ExitStack()  # the progress bar; closed where the loop ends or stops early
    advance = bar.enter_context(
        progress_bar(
            stage.name, steps, "steps", progress and accelerator.is_main_process, start=start
        )
    )
    loss_value, taken = float("nan"), 0
    for step in range(start, steps):
        if stop_after is not None and taken >= stop_after:  # time-boxed call: leave, resume later
            bar.close()
            return {"finished": False, "step": step, "steps": steps}
        t0, n_tokens, n_samples, losses = time.perf_counter(), 0, 0, []
        for micro in range(stage.grad_accum):
            # contiguous slice per process: N processes x accum k == 1 process x accum N*k
            lo = ((step * stage.grad_accum + micro) * world + rank) * stage.batch_size
            draws = order[lo : lo + stage.batch_size]
            batch = encode_rows(
                [frames[s][i] for s, i in draws], processor, family, stage.max_length, counts
            )
            if batch is None:
                continue
            sync = micro == stage.grad_accum - 1
            with contextlib.nullcontext() if sync else accelerator.no_sync(model):
                with _autocast(stage.precision, device):
                    out = model(**{k: v.to(device) for k, v in model_inputs(batch).items()})
                accelerator.backward(out.loss / stage.grad_accum)
            losses.append(float(out.loss.detach()))
            n_tokens += int(batch["attention_mask"].sum())
            n_samples += len(batch["input_ids"])
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        # Every process reports its mean loss and counts; the log shows the mean over processes.
        stats = torch.tensor(
            [sum(losses) / max(len(losses), 1), n_tokens, n_samples], device=device
        )
        stats = accelerator.reduce(stats, reduction="sum")
        loss_value = float(stats[0]) / world
        dt = time.perf_counter() - t0
        done = step + 1
        if done % stage.log_every == 0 or done == steps:
            log.log(
                {
                    "stage": stage.name,
                    "step": done,
                    "loss": round(loss_value, 6),
                    "lr": scheduler.get_last_lr()[0],
                    "samples_per_s": round(float(stats[2]) / dt, 3),
                    "tokens_per_s": round(float(stats[1]) / dt, 1),
                    "memory_mb": round(memory_mb(), 1),
                }
            )
        if done % stage.save_every == 0 or done == steps:
            states = accelerator.gather_for_metrics([rng_state()], use_gather_object=True)
            if accelerator.is_main_process:
                from radvqa_train.modeling import trainable_state

                save_checkpoint(
                    ckpt_dir,
                    done,
                    trainable=trainable_state(accelerator.unwrap_model(model)),
                    optimizer=optimizer,
                    scheduler=scheduler,
                    rng_states=states,
                    extra={"stage": stage.name, "loss": loss_value},
                    keep=stage.keep_checkpoints,
                )
            accelerator.wait_for_everyone()
        if eval_rows and stage.eval.every and done % stage.eval.every == 0 and done != steps:
            ev = eval_loss(
                accelerator.unwrap_model(model), eval_rows, processor, family, stage, device
            )
            log.log({"stage": stage.name, "step": done, "eval_loss": round(ev, 6)})
        advance(
            1,
            label=f"{stage.name} loss {loss_value:.4f}",
            note=f"{float(stats[2]) / dt:.1f} samples/s {float(stats[1]) / dt:.0f} tok/s "
            f"lr {scheduler.get_last_lr()[0]:.1e} {memory_mb():.0f} MiB",
        )
        taken += 1
    bar.close()
    summary = {
        "finished": True,
        "steps": steps,
        "final_loss": loss_value,
        "counts": counts.__dict__,
    }
    if eval_rows:
        ev = eval_loss(accelerator.unwrap_model(model), eval_rows, processor, family, stage, device)
        log.log({"stage": stage.name, "step": steps, "eval_loss": round(ev, 6)})
        summary["eval_loss"] = ev
    summary["model"] = accelerator.unwrap_model(model)
    return summary
