"""Carry the language-model rollout through the vision encoder, down to input patches.

The LM rollout says how much each *image token* contributes to the answer. Each image token is
an output position of the vision encoder (PaliGemma: one patch; Idefics3: one pixel-shuffled
``scale x scale`` block of patches). The rollout of the vision encoder's own self-attention
(``R = prod_l (0.5 A_l + 0.5 I)``, rows renormalized) says how much each input patch contributes
to each output position, so ``r_patches = r_tokens @ R`` is an end-to-end rollout from the
answer to the input patches (Abnar & Zuidema 2020, applied across both transformers).

The vision attentions are captured by forward hooks on the encoder's attention modules (eager
attention returns the weights even when the encoder does not output them).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def vision_attention_modules(model: Any) -> list[Any]:
    """The self-attention modules of the vision encoder, in layer order (empty if not found)."""
    inner = getattr(model, "model", model)
    tower = getattr(inner, "vision_tower", None) or getattr(inner, "vision_model", None)
    if tower is None:
        return []
    encoder = getattr(getattr(tower, "vision_model", tower), "encoder", None)
    layers = getattr(encoder, "layers", None)
    if layers is None:
        return []
    return [layer.self_attn for layer in layers if hasattr(layer, "self_attn")]


class VisionAttentionRecorder:
    """Context manager: records each vision layer's head-averaged attention ``[n_images, N, N]``."""

    def __init__(self, model: Any) -> None:
        self.modules = vision_attention_modules(model)
        self.layers: list[Any] = []
        self._handles: list[Any] = []

    def _hook(self, _module: Any, _args: Any, output: Any) -> None:
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if weights is not None and getattr(weights, "ndim", 0) == 4:
            self.layers.append(weights.detach().float().mean(dim=1))

    def __enter__(self) -> VisionAttentionRecorder:
        self._handles = [m.register_forward_hook(self._hook) for m in self.modules]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()

    def rollout(self) -> Any | None:
        """``[n_images, N, N]`` rollout matrices (None when no attention was recorded)."""
        import torch

        if not self.layers:
            return None
        n = self.layers[0].shape[-1]
        eye = torch.eye(n, device=self.layers[0].device)
        r = eye.expand_as(self.layers[0]).clone()
        for a in self.layers:
            a_hat = 0.5 * a + 0.5 * eye
            a_hat = a_hat / a_hat.sum(dim=-1, keepdim=True)
            r = a_hat @ r
        return r


def tokens_to_patches(r_tokens: np.ndarray, scale: int) -> np.ndarray:
    """Spread per-token relevance over the ``scale x scale`` patches of each pixel-shuffled token.

    `r_tokens` is a row-major ``k x k`` grid flattened; returns the row-major ``(k*scale)^2``
    patch vector (mass preserved).
    """
    k = int(round(len(r_tokens) ** 0.5))
    grid = np.asarray(r_tokens, dtype=np.float64).reshape(k, k)
    patches = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1) / (scale * scale)
    return patches.ravel()


def through_encoder(r_tokens: np.ndarray, rollout: np.ndarray, scale: int = 1) -> np.ndarray:
    """Relevance over an image's input patches (row-major vector) from its token relevance."""
    r = tokens_to_patches(r_tokens, scale) if scale > 1 else np.asarray(r_tokens, dtype=np.float64)
    if r.shape[0] != rollout.shape[0]:
        raise ValueError(f"{r.shape[0]} encoder positions but a {rollout.shape} rollout matrix")
    return r @ rollout
