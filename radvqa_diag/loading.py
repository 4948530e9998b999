"""Load a trained (or tiny) model for diagnostics: eager attention, eval mode, weights frozen
(float32 on CPU, bf16 on GPU).

Accepts a full model folder (``config.json`` + weights + processor files) or a LoRA adapter
folder (``adapter_config.json``): the adapter is loaded on its base model and merged, so hooks
see plain modules. Eager attention is required: ``output_attentions=True`` fails with sdpa.
"""

from __future__ import annotations

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
        raise InputError(
            f"{self.path}: cannot find the language model inside {type(self.model).__name__}"
        )

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device


def load_model(path: str | Path, *, device: str | None = None) -> LoadedModel:
    """Load the model folder at `path` for diagnostics (see module doc), through the trainer's
    loader (`radvqa_train.modeling.load_model`), so every family loads as it does in training."""
    import torch

    from radvqa_train.families import family_of, image_token_id
    from radvqa_train.modeling import load_model as load_vlm

    path = Path(path)
    if not path.is_dir():
        raise InputError(
            f"{path}: no model folder here (expected config.json or adapter_config.json)"
        )
    if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
        raise InputError(f"{path}: not a model folder (no config.json or adapter_config.json)")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    # bf16 on GPUs that have it (half the memory of the kept attentions); float32 on CPU.
    # Pixels stay a float32 leaf: the vision towers cast them, gradients flow back to it.
    bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    model, processor = load_vlm(
        path, precision="bf16" if bf16 else "fp32", attn_implementation="eager"
    )
    model.to(device).eval()
    # saliency needs gradients of the pixels and the image features, never of the weights:
    # frozen weights keep backward from allocating a gradient per weight (4 GB for a 2 B model)
    model.requires_grad_(False)
    family = family_of(model)
    return LoadedModel(
        model, processor, family, model.config.model_type, image_token_id(processor), path
    )
