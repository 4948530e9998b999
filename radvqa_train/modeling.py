"""Load a model + processor and make the right parameters trainable for a stage.

Train modes:
- ``projector``: only the multimodal projector trains (vision tower and LM frozen).
- ``lora_lm``: LoRA on the language model's attention + MLP projections.
- ``lora_lm_vision``: the same plus LoRA on the vision tower's attention + MLP.
- ``full``: every parameter.

Stage chaining: at the end of a LoRA stage the adapter is merged into the weights and the
merged model is saved as the stage result; the next stage loads it and adds a fresh adapter.
That keeps every stage folder a plain transformers model that eval and diag load directly;
the adapter alone is saved too (`STAGE/adapter/`) for small-footprint sharing.
"""

from __future__ import annotations

from typing import Any

from radvqa_data.core.errors import InputError
from radvqa_train.config import StageConfig
from radvqa_train.families import PROJECTOR_MODULE, family_of

#: Names of the language model / vision tower submodules across families.
LM_NAMES = ("language_model", "text_model")
VISION_NAMES = ("vision_tower", "vision_model", "visual")


def load_model(path: str, *, precision: str = "fp32", load_in_4bit: bool = False) -> tuple[Any, Any]:
    """(model, processor) from a local folder or hub id; nothing is downloaded for local folders."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from radvqa_train.processors import register_processors

    register_processors()  # image-only Qwen2.5-VL processor (no torchvision)

    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if precision == "bf16" else torch.float32}
    if load_in_4bit:
        from radvqa_data.core.errors import ConfigError, require

        if not torch.cuda.is_available():
            raise ConfigError("load_in_4bit needs a CUDA GPU (bitsandbytes); set load_in_4bit=false on CPU")
        require("bitsandbytes", "pip install bitsandbytes")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4")
    try:
        processor = AutoProcessor.from_pretrained(path)
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot load a vision-language model + processor here ({exc})") from exc
    if not hasattr(processor, "image_processor"):
        raise InputError(f"{path}: AutoProcessor returned only a tokenizer (no image processor)")
    return model, processor


def _lora_regex(stage: StageConfig) -> str:
    parts = [f"(.*({'|'.join(LM_NAMES)}).*\\.({'|'.join(stage.lora.targets)}))"]
    if stage.train == "lora_lm_vision":
        parts.append(f"(.*({'|'.join(VISION_NAMES)}).*\\.({'|'.join(stage.lora.vision_targets)}))")
    return "^(" + "|".join(parts) + ")$"


def prepare_for_stage(model: Any, stage: StageConfig) -> Any:
    """Freeze/unfreeze or wrap with LoRA according to `stage.train`; returns the model to train."""
    import torch

    if stage.train in ("full", "projector"):
        name = PROJECTOR_MODULE[family_of(model)]
        for n, p in model.named_parameters():
            p.requires_grad_(stage.train == "full" or f"{name}." in n)
            if p.requires_grad and p.dtype == torch.bfloat16:
                # master weights in fp32 (bf16 compute comes from autocast): bf16 Adam updates
                # of small steps round to zero
                p.data = p.data.float()
        return model
    import warnings

    from peft import LoraConfig, get_peft_model

    # peft asks transformers' deprecated `is_gradient_checkpointing`: noise, not a user problem
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

    cfg = LoraConfig(r=stage.lora.r, lora_alpha=stage.lora.alpha, lora_dropout=stage.lora.dropout,
                     target_modules=_lora_regex(stage), bias="none")
    return get_peft_model(model, cfg)


def trainable_state(model: Any) -> dict:
    """Tensors of the trainable parameters (what a checkpoint must hold), on CPU."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: Any, state: dict) -> None:
    """Copy checkpointed trainable tensors back into `model` (same wrapping as when saved)."""
    import torch

    params = dict(model.named_parameters())
    missing = [n for n in state if n not in params]
    if missing:
        raise InputError(f"checkpoint does not match the model: {len(missing)} unknown tensors, e.g. {missing[0]}")
    with torch.no_grad():
        for n, t in state.items():
            params[n].copy_(t.to(params[n].dtype))


def finalize(model: Any) -> Any:
    """The plain transformers model after a stage: LoRA merged in, wrapper removed."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model
