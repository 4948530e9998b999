"""Prompt formatting per model family, and the one way train/eval/diag build model inputs.

- ``paligemma``: prefix/suffix. Prefix ``<image>*n <bos>answer en QUESTION\\n``, suffix
  ``ANSWER<eos>``; the processor marks suffix tokens with ``token_type_ids == 1`` (those are
  the answer tokens, and PaliGemma attends bidirectionally over the prefix).
- ``idefics3`` / ``smolvlm``, ``qwen2_5_vl``, ``qwen3_vl`` and ``gemma3`` (MedGemma): the
  processor's chat template (user turn =
  image + question, assistant turn = answer). The answer tokens are everything after the
  generation prompt (``Assistant:`` / ``<|im_start|>assistant\n`` /
  ``<start_of_turn>model\n``).

`encode_sample` encodes one example and never cuts image tokens: when the text is too long it
shortens the question first, then the answer, and returns None when even that cannot fit
(the caller counts it as rejected). `collate` pads a list of encodings into a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radvqa_data.core.errors import ConfigError

#: model_type in config.json -> prompt family
FAMILY_OF_MODEL_TYPE = {
    "paligemma": "paligemma",
    "idefics3": "idefics3",
    "smolvlm": "idefics3",
    "qwen2_5_vl": "qwen2_5_vl",
    "gemma3": "gemma3",
    "qwen3_vl": "qwen3_vl",
}

#: Where the multimodal projector sits per family (projector-only training, Grad-CAM hooks).
PROJECTOR_MODULE = {
    "paligemma": "multi_modal_projector",
    "idefics3": "connector",
    "qwen2_5_vl": "visual.merger",
    "gemma3": "multi_modal_projector",
    "qwen3_vl": "visual.merger",  # deepstack mergers (visual.deepstack_merger_list) stay frozen
}

#: Text between the generation prompt and the answer in chat families.
_ANSWER_SEP = {"idefics3": " ", "qwen2_5_vl": "", "gemma3": "", "qwen3_vl": ""}

#: Qwen gives all patches of a batch in one flat [patches, dim] tensor plus a grid per image.
_CONCAT_KEYS = ("pixel_values", "image_grid_thw")


def family_of(model: Any) -> str:
    """Prompt family of a loaded model (or its config)."""
    cfg = getattr(model, "config", model)
    model_type = getattr(cfg, "model_type", None)
    if model_type not in FAMILY_OF_MODEL_TYPE:
        raise ConfigError(
            f"model type '{model_type}' is not supported yet; "
            f"supported: {', '.join(FAMILY_OF_MODEL_TYPE)}"
        )
    return FAMILY_OF_MODEL_TYPE[model_type]


def image_token_id(processor: Any) -> int:
    """Id of the token that stands for one image feature in `input_ids` (diag: where images sit)."""
    if hasattr(processor, "full_image_sequence"):  # Gemma 3: `image_token` is <start_of_image>
        return int(processor.tokenizer.image_token_id)
    return int(processor.tokenizer.convert_tokens_to_ids(processor.image_token))


def _prompt(processor: Any, family: str, question: str) -> str:
    if family == "paligemma":
        return f"<image>answer en {question}"
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}
    ]
    return processor.apply_chat_template(messages, add_generation_prompt=True)


def _encode(processor: Any, family: str, image: Any, question: str, answer: str | None) -> dict:
    """Processor call for one example; adds `answer_mask` (1 on answer tokens incl. end token)."""
    import torch

    prompt = _prompt(processor, family, question)
    if family == "paligemma":
        kw = {"suffix": [answer]} if answer is not None else {}
        enc = processor(images=[image], text=[prompt], return_tensors="pt", **kw)
        enc = {k: v[0] for k, v in enc.items() if k != "labels"}
        enc["answer_mask"] = enc["token_type_ids"].clone().bool()
        return enc
    images = [[image]] if family == "idefics3" else [image]
    text = (
        prompt
        if answer is None
        else f"{prompt}{_ANSWER_SEP[family]}{answer}{processor.tokenizer.eos_token}"
    )
    enc = processor(images=images, text=[text], return_tensors="pt")
    flat = "image_grid_thw" in enc  # Qwen: pixel_values are the patches of this one image
    enc = {k: (v if flat and k in _CONCAT_KEYS else v[0]) for k, v in enc.items()}
    mask = torch.zeros_like(enc["input_ids"], dtype=torch.bool)
    if answer is not None:
        n_prompt = len(processor(images=images, text=[prompt])["input_ids"][0])
        mask[n_prompt:] = True
    enc["answer_mask"] = mask
    return enc


def _shorten(tokenizer: Any, text: str, n_tokens: int) -> str:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer.decode(ids[: max(0, len(ids) - n_tokens)])


@dataclass
class Encoded:
    """One encoded example and what had to be done to fit it."""

    features: dict | None  # None: rejected (cannot fit without cutting image tokens)
    truncated: bool = False


def encode_sample(
    processor: Any,
    family: str,
    image: Any,
    question: str,
    answer: str | None = None,
    *,
    max_length: int | None = None,
) -> Encoded:
    """Encode one example within `max_length` tokens, shortening text only (see module doc)."""
    enc = _encode(processor, family, image, question, answer)
    if max_length is None or len(enc["input_ids"]) <= max_length:
        return Encoded(enc)
    tok = processor.tokenizer
    for _ in range(4):  # re-tokenizing a cut string can differ by a token: retry a few times
        over = len(enc["input_ids"]) - max_length
        if over <= 0:
            return Encoded(enc, truncated=True)
        n_q = len(tok(question, add_special_tokens=False)["input_ids"])
        if n_q > 0:
            question = _shorten(tok, question, min(over, n_q))
        elif answer is not None and len(tok(answer, add_special_tokens=False)["input_ids"]) > over:
            answer = _shorten(tok, answer, over)
        else:
            return Encoded(None)
        enc = _encode(processor, family, image, question, answer)
    return Encoded(enc, truncated=True) if len(enc["input_ids"]) <= max_length else Encoded(None)


def _stack_padded(tensors: list) -> Any:
    """Stack, zero-padding every dim to the largest: Idefics3/SmolVLM with image splitting give
    a different number of crops per image, and the model skips all-zero (padding) crops."""
    import torch

    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    if all(list(t.shape) == shape for t in tensors):
        return torch.stack(tensors)
    out = tensors[0].new_zeros((len(tensors), *shape))
    for i, t in enumerate(tensors):
        out[(i, *[slice(0, n) for n in t.shape])] = t
    return out


def collate(features: list[dict], pad_id: int, *, padding_side: str = "right") -> dict:
    """Pad 1-D token fields, stack image fields; add `labels` (-100 outside answer tokens)."""
    import torch

    longest = max(len(f["input_ids"]) for f in features)
    batch: dict[str, Any] = {}
    token_fields = [
        k
        for k in (
            "input_ids",
            "attention_mask",
            "token_type_ids",
            "mm_token_type_ids",
            "answer_mask",
        )
        if k in features[0]
    ]
    for key in token_fields:
        fill = pad_id if key == "input_ids" else 0
        rows = []
        for f in features:
            v = f[key]
            pad = torch.full((longest - len(v),), fill, dtype=v.dtype)
            rows.append(torch.cat([v, pad]) if padding_side == "right" else torch.cat([pad, v]))
        batch[key] = torch.stack(rows)
    flat = "image_grid_thw" in features[0]
    for key in features[0]:
        if key not in batch:
            values = [f[key] for f in features]
            batch[key] = (
                torch.cat(values) if flat and key in _CONCAT_KEYS else _stack_padded(values)
            )
    batch["answer_mask"] = batch["answer_mask"].bool()
    batch["labels"] = batch["input_ids"].masked_fill(~batch["answer_mask"], -100)
    return batch


def build_inputs(
    processor: Any,
    family: str,
    images: list,
    questions: list[str],
    answers: list[str] | None = None,
    *,
    max_length: int | None = None,
) -> tuple[dict, Any]:
    """Model inputs for a batch plus a [B, L] bool mask of answer tokens.

    With `answers`: training layout (right padding, `labels` set on answer tokens only).
    Without: generation layout (left padding, prompt ends where the answer would start).
    Examples that cannot fit `max_length` raise ConfigError (use `encode_sample` to count them).
    """
    feats = []
    for i, (image, question) in enumerate(zip(images, questions, strict=True)):
        enc = encode_sample(
            processor,
            family,
            image,
            question,
            None if answers is None else answers[i],
            max_length=max_length,
        )
        if enc.features is None:
            raise ConfigError(
                f"example {i} does not fit max_length={max_length} without cutting image tokens"
            )
        feats.append(enc.features)
    batch = collate(
        feats,
        processor.tokenizer.pad_token_id,
        padding_side="right" if answers is not None else "left",
    )
    mask = batch.pop("answer_mask")
    if answers is None:
        batch.pop("labels")
    return batch, mask


def model_inputs(batch: dict) -> dict:
    """The keys of a collated batch that the model's forward takes."""
    return {k: v for k, v in batch.items() if k != "answer_mask"}
