"""Processors and configs of the Gemma 3 (MedGemma) and Qwen3-VL families, at any size.

One builder per family serves both the tiny test models (`radvqa_train.tiny_model`) and the
real-size rehearsal (`radvqa_train.rehearse`): `*_processor` makes the processor (the radiology
BPE tokenizer of `tiny_model`, the family's special tokens, the chat template of the published
checkpoint reduced to the one user turn + assistant turn we use), and `*_config` fills a model
config from size values. Token ids in the model config always come from the local tokenizer;
`vocab_size` may be larger (the real vocabulary, so the embedding has its real size).

Chat templates follow the published `chat_template` of google/medgemma-4b-it (Gemma 3:
``<bos><start_of_turn>user\\n<start_of_image>QUESTION<end_of_turn>\\n<start_of_turn>model\\n``)
and Qwen/Qwen3-VL-2B-Instruct (``<|im_start|>user\\n<|vision_start|><|image_pad|>
<|vision_end|>QUESTION<|im_end|>\\n<|im_start|>assistant\\n``, no default system turn).
"""

from __future__ import annotations

from typing import Any

GEMMA3_SPECIAL = {
    "boi_token": "<start_of_image>",
    "eoi_token": "<end_of_image>",
    "image_token": "<image_soft_token>",
}
GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<start_of_image>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def gemma3_processor(image_size: int, tokens_per_image: int) -> Any:
    """Gemma 3 processor: fixed `tokens_per_image` soft tokens between <start/end_of_image>."""
    from transformers import Gemma3ImageProcessorPil, Gemma3Processor

    from radvqa_train.bpe import train_tokenizer as _train_tokenizer

    special = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    tokenizer = _train_tokenizer(
        [*special, *GEMMA3_SPECIAL.values()],
        bos="<bos>",
        eos="<end_of_turn>",  # the turn end is what an -it checkpoint emits after an answer
        pad="<pad>",
        unk="<unk>",
        extra_special_tokens=dict(GEMMA3_SPECIAL),
    )
    image_processor = Gemma3ImageProcessorPil(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=GEMMA3_TEMPLATE,
        image_seq_length=tokens_per_image,
    )


def gemma3_config(processor: Any, text: dict, vision: dict, *, tokens_per_image: int) -> Any:
    """Gemma3Config from text/vision size dicts (config.json keys), ids from `processor`."""
    from transformers import Gemma3Config

    tok = processor.tokenizer
    text = {
        "vocab_size": len(tok),
        **text,
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
    }
    return Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=tokens_per_image,
        boi_token_index=tok.convert_tokens_to_ids(GEMMA3_SPECIAL["boi_token"]),
        eoi_token_index=tok.convert_tokens_to_ids(GEMMA3_SPECIAL["eoi_token"]),
        image_token_index=tok.convert_tokens_to_ids(GEMMA3_SPECIAL["image_token"]),
    )


def qwen3_vl_processor(image_size: int, patch: int, merge: int = 2) -> Any:
    """Qwen3-VL image-only processor; every image is resized to about `image_size`^2 pixels."""
    from radvqa_train.processors import QWEN_VL_TEMPLATE, qwen_processor

    pixels = image_size * image_size
    return qwen_processor(
        "qwen3_vl",
        patch=patch,
        merge=merge,
        min_pixels=pixels,
        max_pixels=pixels,
        chat_template=QWEN_VL_TEMPLATE,
    )


def qwen3_vl_config(processor: Any, text: dict, vision: dict, *, tie: bool) -> Any:
    """Qwen3VLConfig from text/vision size dicts (config.json keys), ids from `processor`."""
    from transformers import Qwen3VLConfig

    tok = processor.tokenizer
    text = {
        "vocab_size": len(tok),
        **text,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
        "tie_word_embeddings": tie,
    }
    return Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=processor.image_token_id,
        video_token_id=processor.video_token_id,
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=tie,
    )


def tiny_gemma3(image_size: int, hidden: int, layers: int, heads: int, init: float) -> tuple:
    """(model, processor) of a tiny random Gemma 3: patch 4, 2x2 average pooling of patches."""
    from transformers import Gemma3ForConditionalGeneration

    patch = 4
    tokens = (image_size // patch // 2) ** 2
    processor = gemma3_processor(image_size, tokens)
    text = {
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": hidden // heads,
        "query_pre_attn_scalar": hidden // heads,
        "max_position_embeddings": 1024,
        "sliding_window": 512,
        "initializer_range": init,
    }
    vision = {
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "image_size": image_size,
        "patch_size": patch,
        "vision_use_head": False,
    }
    config = gemma3_config(processor, text, vision, tokens_per_image=tokens)
    config.initializer_range = init
    model = Gemma3ForConditionalGeneration(config)
    unzero_projector(model, init)
    return model, processor


def unzero_projector(model: Any, std: float) -> None:
    """Gemma 3 initialises its image projection to zeros: a random model would ignore the image
    entirely (no gradient reaches the pixels, saliency is all zero). Random-normal it instead."""
    import torch

    with torch.no_grad():
        model.model.multi_modal_projector.mm_input_projection_weight.normal_(0.0, std)


def tiny_qwen3_vl(image_size: int, hidden: int, layers: int, heads: int, init: float) -> tuple:
    """(model, processor) of a tiny random Qwen3-VL: patch 8, 2x2 merge, deepstack at layer 0."""
    from transformers import Qwen3VLForConditionalGeneration

    patch, merge = 8, 2
    processor = qwen3_vl_processor(image_size, patch, merge)
    head_dim = hidden // heads
    text = {
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": head_dim,
        "max_position_embeddings": 1024,
        "initializer_range": init,
        # mrope_section must sum to head_dim / 2
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16],
            "mrope_interleaved": True,
        },
    }
    vision = {
        "depth": layers,
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_heads": heads,
        "patch_size": patch,
        "spatial_merge_size": merge,
        "temporal_patch_size": 2,
        "out_hidden_size": hidden,
        "num_position_embeddings": (image_size // patch) ** 2,
        "deepstack_visual_indexes": [0],
    }
    config = qwen3_vl_config(processor, text, vision, tie=False)
    return Qwen3VLForConditionalGeneration(config), processor
