"""`radvqa-train rehearse RECIPE --meta`: every stage of a recipe at its real size, no weights.

Per stage, on the meta device (`radvqa_train.meta_trace`): parameter counts (total, trainable),
the LoRA targets resolved against the real module names (`radvqa_train.preflight`), the image
tokens of a nominal image (512 x 512, about a MedPix image; for Qwen-VL the square at the
recipe's `image.max_pixels` cap, and the most any aspect ratio gives under it) against the
recipe's `max_length`, the FLOPs of one optimizer step (torch's FLOP counter on one example,
times batch x grad_accum) and an estimated GPU memory:

    weights + gradients + AdamW state (trainable) + saved activations x batch
    + the fp32 logits' gradient x batch + OVERHEAD_GB (CUDA context, workspace, fragmentation)

with and without gradient checkpointing of every transformer layer. `gpu_table` turns that into
fits / largest batch / steps per second at a stated MFU for common GPUs. These are estimates:
they have not been checked on a GPU yet (no GPU was lent to the project when they were written).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_train.config import StageConfig, TrainConfig, to_dict

GB = 1024**3
#: CUDA context + cuBLAS workspace + allocator fragmentation: a common rule of thumb.
OVERHEAD_GB = 1.5
#: Share of the peak bf16 tensor throughput a LoRA fine-tune of this kind reaches (assumed).
MFU = 0.4


@dataclass(frozen=True)
class Gpu:
    """A GPU class: memory and dense bf16 peak (vendor data sheets)."""

    name: str
    memory_gb: float
    bf16_tflops: float


GPUS = (
    Gpu("24 GB (L4)", 24, 121),
    Gpu("40 GB (A100 40GB)", 40, 312),
    Gpu("80 GB (H100 SXM)", 80, 989),
    Gpu("141 GB (H200)", 141, 989),
)


def nominal_image(size: int = 512) -> Any:
    """A deterministic noise image of `size` px (the image content does not change costs)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((size, size, 3)) * 255).astype("uint8"))


def nominal_size(processor: Any) -> int:
    """Side in px of the image the estimates use: 512 (MedPix images are about that size), or
    for a processor with pixel bounds (Qwen-VL) the square at its `max_pixels` cap, since any
    larger scan is resized down to it."""
    from radvqa_train.processors import has_pixel_bounds

    if has_pixel_bounds(processor):
        return math.isqrt(int(processor.image_processor.size["longest_edge"]))
    return 512


def _example(processor: Any, family: str, stage: StageConfig, image: Any) -> tuple[dict, int, int]:
    """One training example that fills `max_length` (long answer, cut to fit); (features,
    image tokens of `image`, most image tokens any image can give). Raises ConfigError when
    the image tokens of the largest image alone do not fit."""
    from radvqa_train.families import _encode, encode_sample, image_token_id
    from radvqa_train.processors import has_pixel_bounds, max_image_tokens

    question = "Is there a mass in the left upper lobe of the lung?"
    full = _encode(processor, family, image, question, "yes")
    n_image = int((full["input_ids"] == image_token_id(processor)).sum())
    # under a pixel cap, an image of another aspect ratio can give a few more tokens than the
    # square one (e.g. 334 vs 324 for Qwen2.5-VL at 512 x 512): check the worst case
    n_max = max(n_image, max_image_tokens(processor)) if has_pixel_bounds(processor) else n_image
    need = len(full["input_ids"]) - n_image + n_max
    where = f"stage '{stage.name}': max_length={stage.max_length}"
    if need > stage.max_length:
        raise ConfigError(
            f"{where} cannot hold one example: up to {n_max} image tokens per image plus the "
            f"prompt ({need} tokens with a one-word answer); raise max_length or lower the "
            "recipe's image.max_pixels"
        )
    # an answer about as long as the room left (each processor call re-tiles the image, so
    # avoid the shortening loop's retries), then cut to fit exactly
    room = max(1, stage.max_length - len(full["input_ids"]) + 2)
    answer = " ".join(["the"] * room)
    enc = encode_sample(processor, family, image, question, answer, max_length=stage.max_length)
    if enc.features is None:
        raise ConfigError(
            f"{where} cannot hold one example: {n_image} image tokens per "
            f"{image.width} px image plus the prompt "
            f"({len(full['input_ids'])} tokens with a one-word answer)"
        )
    return enc.features, n_image, n_max


def _memory(model: Any, trace: Any, batch: int) -> dict:
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    grads = sum(p.numel() * p.element_size() for p in trainable)
    optim = 2 * grads  # AdamW: exp_avg and exp_avg_sq in the parameter's dtype
    act = (trace.saved_bytes + trace.logits_bytes) * batch
    act_ckpt = (trace.checkpointed_bytes + trace.logits_bytes) * batch
    static = weights + grads + optim + OVERHEAD_GB * GB
    return {
        "weights": round(weights / GB, 2),
        "gradients": round(grads / GB, 2),
        "optimizer": round(optim / GB, 2),
        "activations": round(act / GB, 2),
        "activations_checkpointed": round(act_ckpt / GB, 2),
        "overhead": OVERHEAD_GB,
        "total": round((static + act) / GB, 2),
        "total_checkpointed": round((static + act_ckpt) / GB, 2),
        "_static": static / GB,
        "_per_example": (trace.saved_bytes + trace.logits_bytes) / GB,
        "_per_example_ckpt": (trace.checkpointed_bytes + trace.logits_bytes) / GB,
    }


def gpu_table(stage: dict, mfu: float = MFU) -> list[dict]:
    """Per GPU: fits at the recipe's batch (plain / checkpointed), largest batch, steps/s."""
    mem = stage["est_gpu_memory_gb"]
    out = []
    for g in GPUS:
        free = g.memory_gb - mem["_static"]
        out.append(
            {
                "gpu": g.name,
                "fits": mem["total"] <= g.memory_gb,
                "fits_checkpointed": mem["total_checkpointed"] <= g.memory_gb,
                "max_batch": max(0, int(free // mem["_per_example"])),
                "max_batch_checkpointed": max(0, int(free // mem["_per_example_ckpt"])),
                "steps_per_s": round(mfu * g.bf16_tflops * 1e12 / stage["flops_per_step"], 3),
                "steps_per_s_checkpointed": round(
                    mfu * g.bf16_tflops * 1e12 / stage["flops_per_step_checkpointed"], 3
                ),
            }
        )
    return out


def rehearse_meta(cfg: TrainConfig, *, mfu: float = MFU, recipe: str = "") -> dict:
    """The `--meta` report of every stage of `cfg` (see module doc)."""
    from radvqa_train.families import FAMILY_OF_MODEL_TYPE, collate, model_inputs
    from radvqa_train.meta_trace import trace_step
    from radvqa_train.modeling import prepare_for_stage
    from radvqa_train.preflight import check_lora_targets
    from radvqa_train.processors import set_pixel_bounds
    from radvqa_train.real_size import RealSpec, build_model, build_processor

    spec = RealSpec.for_model(cfg.model)
    processor = build_processor(spec)
    set_pixel_bounds(processor, cfg.image.min_pixels, cfg.image.max_pixels, where=recipe)
    family = FAMILY_OF_MODEL_TYPE[spec.model_type]
    image = nominal_image(nominal_size(processor))
    stages: list[dict] = []
    traces: dict[tuple, Any] = {}
    examples: dict[int, tuple[dict, int, int]] = {}
    for stage in cfg.stages:
        model = build_model(spec, processor, meta=True, precision=stage.precision)
        base = sum(p.numel() for p in model.parameters())
        targets = check_lora_targets(model, stage, where=recipe or "recipe")
        model = prepare_for_stage(model, stage)
        if stage.max_length not in examples:
            examples[stage.max_length] = _example(processor, family, stage, image)
        features, n_image, n_max = examples[stage.max_length]
        # stages that differ only in data and schedule cost the same: trace once
        key = (stage.train, stage.precision, stage.max_length, repr(stage.lora))
        if key not in traces:
            pad = processor.tokenizer.pad_token_id
            traces[key] = trace_step(model, model_inputs(collate([features], pad)))
        trace = traces[key]
        per_step = stage.batch_size * stage.grad_accum
        s = {
            "name": stage.name,
            "train": stage.train,
            "params_total": sum(p.numel() for p in model.parameters()),
            "params_base": base,
            "params_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "published_params": spec.published_params,
            "params_error_pct": round(100 * (base / spec.published_params - 1), 2),
            "lora_targets": targets,
            "image_tokens": n_image,
            "image_tokens_max": n_max,
            "image_px": image.width,
            "seq_len": int(len(features["input_ids"])),
            "max_length": stage.max_length,
            "batch_size": stage.batch_size,
            "grad_accum": stage.grad_accum,
            "flops_per_example": trace.flops,
            "flops_per_step": trace.flops * per_step,
            "flops_per_step_checkpointed": (trace.flops + trace.forward_flops) * per_step,
            "est_gpu_memory_gb": _memory(model, trace, stage.batch_size),
        }
        s["gpus"] = gpu_table(s, mfu)
        for k in [k for k in s["est_gpu_memory_gb"] if k.startswith("_")]:
            s["est_gpu_memory_gb"].pop(k)
        stages.append(s)
        del model
    return {
        "recipe": recipe,
        "model": cfg.model,
        "config_file": spec.file,
        "config_source": spec.source,
        "published_params": spec.published_params,
        "published_params_source": spec.published_params_source,
        "assumptions": {
            "mfu": mfu,
            "overhead_gb": OVERHEAD_GB,
            "nominal_image_px": image.width,
            "pixel_bounds": to_dict(cfg.image),
            "gpus": [g.__dict__ for g in GPUS],
        },
        "stages": stages,
    }
