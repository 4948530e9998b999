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

import errno
import json
import shutil
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import InputError
from radvqa_train.config import StageConfig
from radvqa_train.families import PROJECTOR_MODULE, family_of

#: Names of the language model / vision tower submodules across families.
LM_NAMES = ("language_model", "text_model")
VISION_NAMES = ("vision_tower", "vision_model", "visual")


def _adapter_base(path: Path) -> Path | None:
    """The base model folder of a LoRA adapter folder (None when `path` is a full model)."""
    if not (path / "adapter_config.json").exists() or (path / "config.json").exists():
        return None
    cfg = json.loads((path / "adapter_config.json").read_text("utf-8"))
    base = cfg.get("base_model_name_or_path")
    if not base or not Path(base).exists():
        raise InputError(
            f"{path}: adapter's base model '{base}' is not a local folder; "
            "pass a merged model folder"
        )
    return Path(base)


def load_model(
    path: str | Path,
    *,
    precision: str = "fp32",
    load_in_4bit: bool = False,
    attn_implementation: str | None = None,
) -> tuple[Any, Any]:
    """(model, processor) from a local folder or hub id; nothing is downloaded for local folders.

    The one loader of the project: training, eval and diag (`radvqa_diag.loading`) all come
    here, so every family loads the same way (the image-only Qwen2.5-VL processor is registered
    first). A LoRA adapter folder (``adapter_config.json``, no ``config.json``) is loaded on its
    base model and merged. `attn_implementation`: ``eager`` for attention maps (diag).
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from radvqa_train.processors import register_processors

    register_processors()  # image-only Qwen2.5-VL processor (no torchvision)

    local = Path(path)
    base = _adapter_base(local) if local.is_dir() else None
    has_proc = any(
        (local / f).exists() for f in ("processor_config.json", "preprocessor_config.json")
    )
    proc_path = local if base is None or has_proc else base
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if precision == "bf16" else torch.float32}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if load_in_4bit:
        from radvqa_data.core.errors import ConfigError, require

        if not torch.cuda.is_available():
            raise ConfigError(
                "load_in_4bit needs a CUDA GPU (bitsandbytes); set load_in_4bit=false on CPU"
            )
        require("bitsandbytes", "pip install bitsandbytes")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4"
        )
    try:
        processor = AutoProcessor.from_pretrained(proc_path)
        model = AutoModelForImageTextToText.from_pretrained(base or path, **kwargs)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: cannot load a vision-language model + processor here ({exc})"
        ) from exc
    if base is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, local).merge_and_unload()
    if not hasattr(processor, "image_processor"):
        raise InputError(
            f"{proc_path}: AutoProcessor returned only a tokenizer (no image processor)"
        )
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
    warnings.filterwarnings(
        "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
    )

    cfg = LoraConfig(
        r=stage.lora.r,
        lora_alpha=stage.lora.alpha,
        lora_dropout=stage.lora.dropout,
        target_modules=_lora_regex(stage),
        bias="none",
    )
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
        raise InputError(
            f"checkpoint does not match the model: {len(missing)} unknown tensors, "
            f"e.g. {missing[0]}"
        )
    with torch.no_grad():
        for n, t in state.items():
            params[n].copy_(t.to(params[n].dtype))


def finalize(model: Any) -> Any:
    """The plain transformers model after a stage: LoRA merged in, wrapper removed."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


#: errno values of a write that the disk cannot take: full (ENOSPC), quota (EDQUOT), file-size
#: limit (EFBIG). safetensors raises its own SafetensorError naming only "os error N".
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return any(f"(os error {n})" in str(exc) for n in _DISK_FULL_ERRNOS)


def save_model_folder(model: Any, processor: Any, folder: Path) -> None:
    """Save `model` (safetensors) + `processor` into `folder`, as a stage result.

    A disk that cannot hold it is one `InputError` naming the folder and the space needed:
    checked before writing (the weights' bytes against the free space, counting the weights a
    re-save replaces), and again if a write fails for lack of space on the way (another
    process filled the disk, a quota, a file-size limit).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # tied weights (embeddings = LM head) are one storage, written once
    sizes = {t.data_ptr(): t.numel() * t.element_size() for t in model.state_dict().values()}
    need = sum(sizes.values())
    replaced = sum(f.stat().st_size for f in folder.glob("model*.safetensors"))
    free = shutil.disk_usage(folder).free
    hint = "free some disk space or write elsewhere (--out)"
    if need - replaced > free:
        raise InputError(
            f"{folder}: not enough disk space to save the stage: the weights need "
            f"{need / 1e9:.2f} GB, {(free + replaced) / 1e9:.2f} GB free there; {hint}"
        )
    try:
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
    except Exception as exc:
        if not _disk_full(exc):
            raise
        raise InputError(
            f"{folder}: the disk filled while saving the stage ({str(exc).splitlines()[0]}); "
            f"the weights need {need / 1e9:.2f} GB, {shutil.disk_usage(folder).free / 1e9:.2f} "
            f"GB free there now; {hint}"
        ) from exc
