"""Load a trained (or tiny) model for diagnostics: eager attention, eval mode (float32 on CPU, bf16 on GPU).

Accepts a full model folder (``config.json`` + weights + processor files) or a LoRA adapter
folder (``adapter_config.json``): the adapter is loaded on its base model and merged, so hooks
see plain modules. Eager attention is required: ``output_attentions=True`` fails with sdpa.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import InputError


@dataclass
class LoadedModel:
    """A model ready for saliency: the model, its processor, family and where its parts are."""

    model: Any
    processor: Any
    family: str  # prompt family from radvqa_train.families (paligemma | idefics3)
    model_type: str  # config.model_type (paligemma, idefics3, smolvlm, ...)
    image_token_id: int
    path: Path

    @property
    def language_model(self) -> Any:
        """The decoder that receives `inputs_embeds` (image features already scattered in)."""
        inner = getattr(self.model, "model", self.model)
        for name in ("language_model", "text_model"):
            if hasattr(inner, name):
                return getattr(inner, name)
        raise InputError(f"{self.path}: cannot find the language model inside {type(self.model).__name__}")

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def _base_of_adapter(path: Path) -> Path:
    cfg = json.loads((path / "adapter_config.json").read_text("utf-8"))
    base = cfg.get("base_model_name_or_path")
    if not base or not Path(base).exists():
        raise InputError(f"{path}: adapter's base model '{base}' is not a local folder; pass a merged model folder")
    return Path(base)


def load_model(path: str | Path, *, device: str | None = None) -> LoadedModel:
    """Load the model folder at `path` for diagnostics (see module doc)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from radvqa_train.families import family_of, image_token_id

    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no model folder here (expected config.json or adapter_config.json)")
    is_adapter = (path / "adapter_config.json").exists() and not (path / "config.json").exists()
    if not is_adapter and not (path / "config.json").exists():
        raise InputError(f"{path}: not a model folder (no config.json or adapter_config.json)")
    base = _base_of_adapter(path) if is_adapter else path
    proc_dir = path if (path / "processor_config.json").exists() or (path / "preprocessor_config.json").exists() else base
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    # bf16 on GPUs that have it (half the memory of the kept attentions); float32 on CPU.
    # Pixels stay a float32 leaf: the vision towers cast them, gradients flow back to it.
    dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    try:
        processor = AutoProcessor.from_pretrained(proc_dir)
        model = AutoModelForImageTextToText.from_pretrained(base, attn_implementation="eager", dtype=dtype)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot load the model or its processor ({exc})") from exc
    if is_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, path).merge_and_unload()
    if not hasattr(processor, "image_processor"):
        raise InputError(f"{proc_dir}: the processor has no image processor (only a tokenizer was found)")
    model.to(device).eval()
    family = family_of(model)
    return LoadedModel(model, processor, family, model.config.model_type, image_token_id(processor), path)
