"""Saliency for a batch of (image, question, answer): one forward pass, one backward pass.

The forward pass (eager attention, `output_attentions=True`) serves:
- ``attention``: attention from the answer tokens to the image tokens in the language model,
  kept per layer and head (``attention_lh``) and aggregated (mean over heads and chosen layers);
- ``rollout``: attention rollout (Abnar & Zuidema 2020: ``0.5 A + 0.5 I``, rows renormalized,
  multiplied across layers) end to end: through the language-model layers from the answer rows to
  the image tokens, then through the vision encoder's layers to the input patches
  (`radvqa_diag.vision_rollout`; LM-only when the encoder's attentions cannot be recorded,
  noted in ``extra["rollout"]``);
- the model's confidence in the answer: geometric mean (= exp of the mean token log-prob, used
  by the flags), arithmetic mean and minimum of the answer's token probabilities. The arithmetic
  mean overrates split words: "no" as 'n' 'o' with p = 0.0002, 0.99 has mean 0.5, geometric 0.014.
The backward pass of the summed answer log-probability serves:
- ``grad_x_input``: |gradient x input| on the model's input pixels, summed over channels;
- ``gradcam``: Grad-CAM on the projector output, taken where the language model receives it
  (``inputs_embeds`` at image-token positions, captured by a forward pre-hook), so the token
  order is the LM's for every family.

"Answer tokens" are the positions that *produce* the answer: the query at position t-1 for an
answer token at t (what the model looked at when it emitted that token). The end-of-answer token
is left out when the answer has other tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radvqa_data.core.errors import InputError
from radvqa_diag.layout import ImageLayout, layouts_for_batch
from radvqa_diag.loading import LoadedModel
from radvqa_diag.vision_rollout import VisionAttentionRecorder, through_encoder

METHODS = ("attention", "rollout", "gradcam", "grad_x_input")


@dataclass
class Saliency:
    """Maps for one example. Token maps are on the family's token grid, `grad_x_input` on input
    pixels."""

    maps: dict[str, np.ndarray]  # method -> 2-D non-negative float32
    attention_lh: np.ndarray  # [layers, heads, gh, gw] answer -> image attention
    answer_tokens: list[str]
    token_probs: list[float]
    confidence: float  # geometric mean of token probabilities = exp(mean token log-prob)
    confidence_mean: float  # arithmetic mean of token probabilities
    confidence_min: float
    answer_logprob: float
    extra: dict[str, Any] = field(default_factory=dict)


def _rollout(attn_layers: list[Any], queries: Any) -> Any:
    """Rows `queries` of the attention rollout, computed top-down as vector x matrix products."""
    import torch

    r = None
    for a in reversed(attn_layers):  # a: [L, L], mean over heads
        a_hat = 0.5 * a + 0.5 * torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
        a_hat = a_hat / a_hat.sum(dim=-1, keepdim=True)
        r = a_hat[queries] if r is None else r @ a_hat
    return r  # [n_queries, L]


def _content_mask(answer_mask: Any, input_ids: Any, eos_id: int | None) -> Any:
    """Answer-token mask without the end token (kept when it is the only one)."""
    if eos_id is None:
        return answer_mask
    mask = answer_mask.clone()
    for b in range(mask.shape[0]):
        no_eos = mask[b] & (input_ids[b] != eos_id)
        if no_eos.any():
            mask[b] = no_eos
    return mask


def explain_batch(
    lm: LoadedModel,
    images: list[Any],
    questions: list[str],
    answers: list[str],
    *,
    layers: list[int] | None = None,
) -> list[Saliency]:
    """All saliency maps for a batch (see module doc). `layers`: LM layers to average
    (default all)."""
    import torch

    from radvqa_train.families import build_inputs, model_inputs

    answers = [a if a.strip() else "?" for a in answers]  # an empty prediction still gets a map
    batch, answer_mask = build_inputs(lm.processor, lm.family, images, questions, answers)
    batch.pop("labels", None)
    batch = {k: v.to(lm.device) for k, v in model_inputs(batch).items()}
    input_ids = batch["input_ids"]
    mask = _content_mask(answer_mask.to(lm.device), input_ids, lm.processor.tokenizer.eos_token_id)
    pixels = batch["pixel_values"].float().requires_grad_(True)
    batch["pixel_values"] = pixels

    captured: dict[str, Any] = {}

    def grab_embeds(_module: Any, args: tuple, kwargs: dict) -> None:
        emb = kwargs.get("inputs_embeds")
        if emb is not None and emb.requires_grad:
            emb.retain_grad()
            captured["embeds"] = emb

    handle = lm.language_model.register_forward_pre_hook(grab_embeds, with_kwargs=True)
    recorder = VisionAttentionRecorder(lm.model)
    try:
        with torch.enable_grad(), recorder:
            out = lm.model(**batch, output_attentions=True, use_cache=False)
            logp = torch.log_softmax(out.logits.float(), dim=-1)
            # log p(x_t | x_<t) sits at position t-1
            tok_lp = logp[:, :-1].gather(-1, input_ids[:, 1:, None])[..., 0]
            tgt = mask[:, 1:]
            per_example = (tok_lp * tgt).sum(dim=1)
            per_example.sum().backward()
    finally:
        handle.remove()

    embeds = captured.get("embeds")
    n_layers = len(out.attentions)
    if layers and any(not -n_layers <= i < n_layers for i in layers):
        raise InputError(
            f"layers {layers}: the language model has {n_layers} layers (0..{n_layers - 1})"
        )
    layer_ids = list(range(n_layers)) if not layers else layers
    layouts = layouts_for_batch(
        lm.family, batch, lm.processor.tokenizer, getattr(lm.model.config, "vision_config", None)
    )
    vroll = recorder.rollout()
    vroll = None if vroll is None else vroll.cpu().numpy()
    results = []
    offset = 0  # vision-encoder batch index of this example's first image (tiles, then global)
    for b in range(input_ids.shape[0]):
        n_images = layouts[b].rows * layouts[b].cols + 1
        results.append(
            _one(
                lm,
                b,
                input_ids,
                tgt,
                tok_lp,
                per_example,
                out.attentions,
                embeds,
                pixels,
                layouts[b],
                layer_ids,
                None if vroll is None else vroll[offset : offset + n_images],
            )
        )
        offset += n_images
    return results


def _through_vision(
    lm: LoadedModel, roll_tokens: np.ndarray, vroll: np.ndarray | None
) -> np.ndarray | None:
    """LM rollout over image tokens -> rollout over input patches, per image
    (None: not possible)."""
    if vroll is None or len(vroll) == 0:
        return None
    scale = int(getattr(lm.model.config, "scale_factor", 1) or 1) if lm.family == "idefics3" else 1
    per = len(roll_tokens) // len(vroll)
    if per * len(vroll) != len(roll_tokens) or per * scale * scale != vroll.shape[-1]:
        return None
    return np.concatenate(
        [
            through_encoder(roll_tokens[i * per : (i + 1) * per], vroll[i], scale)
            for i in range(len(vroll))
        ]
    )


def _one(
    lm,
    b,
    input_ids,
    tgt,
    tok_lp,
    per_example,
    attentions,
    embeds,
    pixels,
    layout: ImageLayout,
    layer_ids: list[int],
    vroll: np.ndarray | None,
) -> Saliency:
    import torch

    img_pos = (input_ids[b] == lm.image_token_id).nonzero()[:, 0]
    queries = tgt[b].nonzero()[:, 0]  # position t-1 predicts answer token t
    with torch.no_grad():
        att = torch.stack(
            [a[b][:, queries][:, :, img_pos].mean(dim=1) for a in attentions]
        )  # [L, H, N]
        att_np = att.float().cpu().numpy()
        roll = _rollout([a[b].float().mean(dim=0) for a in attentions], queries)[:, img_pos].mean(0)
        cam = torch.zeros(len(img_pos))
        if embeds is not None and embeds.grad is not None:
            act, grad = embeds[b, img_pos].float(), embeds.grad[b, img_pos].float()
            cam = torch.relu(act @ grad.mean(dim=0))
        gxi = layout.pixels_of(pixels.grad * pixels, b).float().cpu().numpy()
    attention_lh = layout.token_map(att_np)
    roll_tokens = roll.cpu().numpy()
    roll_patches = _through_vision(lm, roll_tokens, vroll)
    maps = {
        "attention": layout.token_map(att_np[layer_ids].mean(axis=(0, 1))),
        "rollout": layout.token_map(roll_tokens if roll_patches is None else roll_patches),
        "gradcam": layout.token_map(cam.cpu().numpy()),
        "grad_x_input": layout.pixel_map(gxi),
    }
    maps = {k: np.nan_to_num(np.asarray(v, dtype=np.float32)) for k, v in maps.items()}
    probs = tok_lp[b, queries].detach().exp().float().cpu().numpy()
    answer_ids = input_ids[b, queries + 1].tolist()
    return Saliency(
        maps=maps,
        attention_lh=np.asarray(attention_lh, dtype=np.float32),
        answer_tokens=lm.processor.tokenizer.convert_ids_to_tokens(answer_ids),
        token_probs=[float(p) for p in probs],
        confidence=float(np.exp(np.log(np.maximum(probs, 1e-30)).mean()))
        if len(probs)
        else float("nan"),
        confidence_mean=float(probs.mean()) if len(probs) else float("nan"),
        confidence_min=float(probs.min()) if len(probs) else float("nan"),
        answer_logprob=float(per_example[b].detach()),
        extra={"rollout": "lm_only" if roll_patches is None else "lm+vision"},
    )
