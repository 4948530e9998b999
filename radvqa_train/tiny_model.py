"""Tiny randomly initialized vision-language models for tests and demos (no downloads).

`build_tiny_model("paligemma", out)` writes a model directory that
`AutoProcessor.from_pretrained` and `AutoModelForImageTextToText.from_pretrained` reload.
The text tokenizer is a byte-level BPE trained here with `tokenizers` on the radiology text
shipped in `radvqa_train/data/radiology_corpus.txt` (MedPix train captions + VQA-RAD train
questions; no test text, see `radvqa_train.corpus`), so token counts and answer spans look like
real radiology text rather than bytes. `build_scratch_model` makes a larger PaliGemma of the same
shape for from-scratch experiments (`radvqa-train scratch-model`).

Families: ``paligemma`` (prefix/suffix prompts, fixed image-token count), ``idefics3``
(SmolVLM-style chat template; its processor needs no torchvision) and ``qwen2_5_vl`` (chat
template, flattened pixel patches + ``image_grid_thw``; uses the image-only processor of
`radvqa_train.processors`), ``gemma3`` (MedGemma) and ``qwen3_vl`` (built in
`radvqa_train.new_families`, which the real-size rehearsal shares).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from radvqa_data.core.errors import ConfigError
from radvqa_train.bpe import BPE_VOCAB, corpus_lines  # noqa: F401 (corpus_lines: tests use it here)
from radvqa_train.bpe import train_tokenizer as _train_tokenizer

FAMILIES = ("paligemma", "idefics3", "qwen2_5_vl", "gemma3", "qwen3_vl")

#: Size knobs of every tiny model: bigger values make tests slower, not more meaningful.
HIDDEN = 64
LAYERS = 2
HEADS = 4
#: Wider than the usual 0.02: with hidden size 64 and a frozen output layer, 0.02 caps how far
#: LoRA can move the logits (about 1 nat), so tiny-model training would barely learn.
INIT_RANGE = 0.2


@dataclass(frozen=True)
class Size:
    """Shape of a built model; the defaults are the tiny test model."""

    hidden: int = HIDDEN
    layers: int = LAYERS
    heads: int = HEADS
    patch: int | None = None  # None: 8 when the image side allows it, else 4
    init_range: float = INIT_RANGE  # 0.02 for full training from scratch (see INIT_RANGE)


def _paligemma(out_dir: Path, image_size: int, size: Size = Size()):
    from transformers import (
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
    )

    patch = size.patch or (8 if image_size % 8 == 0 else 4)
    if image_size % patch:
        raise ConfigError(f"image size {image_size} is not a multiple of patch {patch}")
    hidden, layers, heads = size.hidden, size.layers, size.heads
    tokenizer = _train_tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"],
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
    )
    image_processor = SiglipImageProcessorPil(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    image_processor.image_seq_length = (image_size // patch) ** 2
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)
    vocab = len(processor.tokenizer)  # the processor added 1,152 <loc>/<seg> tokens
    config = PaliGemmaConfig(
        vision_config=SiglipVisionConfig(
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            image_size=image_size,
            patch_size=patch,
            projection_dim=hidden,
        ),
        text_config=GemmaConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            head_dim=hidden // heads,
            max_position_embeddings=512,
            initializer_range=size.init_range,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        image_token_index=processor.image_token_id,
        vocab_size=vocab,
        projection_dim=hidden,
        hidden_size=hidden,
    )
    config.text_config.vocab_size = vocab
    config.vision_config.initializer_range = size.init_range
    model = PaliGemmaForConditionalGeneration(config)
    return model, processor


def _idefics3(out_dir: Path, image_size: int):
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
        Idefics3VisionConfig,
        LlamaConfig,
    )

    patch, scale = 8, 2
    special = [
        "<|pad|>",
        "<|im_start|>",
        "<end_of_utterance>",
        "<unk>",
        "<fake_token_around_image>",
        "<image>",
        "<global-img>",
    ]
    tokenizer = _train_tokenizer(
        special, bos="<|im_start|>", eos="<end_of_utterance>", pad="<|pad|>", unk="<unk>"
    )
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    seq_len = int((image_size // patch) ** 2 / scale**2)
    template = (
        "{% for message in messages %}<|im_start|>{{ message['role'] | capitalize }}:"
        "{% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}<image>{% else %} {{ part['text'] }}{% endif %}"
        "{% endfor %}<end_of_utterance>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>Assistant:{% endif %}"
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=seq_len,
        chat_template=template,
    )
    vocab = len(processor.tokenizer)
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(
            hidden_size=HIDDEN,
            intermediate_size=2 * HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            image_size=image_size,
            patch_size=patch,
        ),
        text_config=LlamaConfig(
            vocab_size=vocab,
            hidden_size=HIDDEN,
            intermediate_size=2 * HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            num_key_value_heads=HEADS,
            max_position_embeddings=1024,
            pad_token_id=tokenizer.pad_token_id,
            initializer_range=INIT_RANGE,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            tie_word_embeddings=False,
        ),
        image_token_id=processor.image_token_id,
        scale_factor=scale,
        tie_word_embeddings=False,
    )
    model = Idefics3ForConditionalGeneration(config)
    return model, processor


def _qwen2_5_vl(out_dir: Path, image_size: int):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from radvqa_train.processors import QWEN_VL_TEMPLATE, qwen_processor

    patch, merge = 8, 2
    pixels = image_size * image_size  # every image becomes image_size^2 pixels
    processor = qwen_processor(
        "qwen2_5_vl",
        patch=patch,
        merge=merge,
        min_pixels=pixels,
        max_pixels=pixels,
        chat_template=QWEN_VL_TEMPLATE,
    )
    tokenizer = processor.tokenizer
    head_dim = HIDDEN // HEADS
    config = Qwen2_5_VLConfig(
        vision_config={
            "depth": LAYERS,
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_heads": HEADS,
            "patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 2,
            "window_size": 2 * patch * merge,
            "out_hidden_size": HIDDEN,
            "fullatt_block_indexes": [LAYERS - 1],
        },
        text_config={
            "vocab_size": len(processor.tokenizer),
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "num_key_value_heads": HEADS,
            "max_position_embeddings": 1024,
            "initializer_range": INIT_RANGE,
            # mrope_section must sum to head_dim / 2
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16],
            },
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_id=processor.image_token_id,
        video_token_id=processor.video_token_id,
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
    )
    return Qwen2_5_VLForConditionalGeneration(config), processor


def build_tiny_model(family: str, out_dir: Path, *, image_size: int = 32, seed: int = 0) -> Path:
    """Write a tiny random model + processor of `family` to `out_dir` and return it.

    Deterministic for a given `seed`. Takes about a second; the result is about 1 MB.
    """
    import torch

    if family not in FAMILIES:
        raise ConfigError(
            f"unknown model family '{family}'; expected one of: {', '.join(FAMILIES)}"
        )
    if image_size < 16 or image_size % 16:
        raise ConfigError(f"image_size {image_size}: expected a multiple of 16 (16, 32, 64, ...)")
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    if family in ("gemma3", "qwen3_vl"):
        from radvqa_train import new_families

        build = new_families.tiny_gemma3 if family == "gemma3" else new_families.tiny_qwen3_vl
        model, processor = build(image_size, HIDDEN, LAYERS, HEADS, INIT_RANGE)
        return _save(model, processor, out_dir, TINY_FIXTURE)
    builder = {"paligemma": _paligemma, "idefics3": _idefics3, "qwen2_5_vl": _qwen2_5_vl}[family]
    model, processor = builder(out_dir, image_size)
    return _save(model, processor, out_dir, TINY_FIXTURE)


def build_scratch_model(
    out_dir: Path,
    *,
    hidden: int = 128,
    layers: int = 4,
    heads: int = 4,
    image_size: int = 64,
    patch: int = 8,
    seed: int = 0,
) -> Path:
    """A PaliGemma-shaped model for full training from scratch (`radvqa-train scratch-model`).

    Same builder as the tiny model, with the standard 0.02 init (full training moves every
    weight, so the tiny model's wide init is not needed). 128 hidden, 4 layers, 64 px, patch 8:
    2.35 M parameters, about 85 samples/s of raw training on 2 CPU threads.
    """
    import torch

    for name, v in (("hidden", hidden), ("layers", layers), ("heads", heads), ("patch", patch)):
        if v < 1:
            raise ConfigError(f"--{name} {v}: expected a positive integer")
    if hidden % heads:
        raise ConfigError(f"--hidden {hidden} is not a multiple of --heads {heads}")
    if image_size < patch or image_size % patch:
        raise ConfigError(f"--image-size {image_size} is not a multiple of --patch {patch}")
    torch.manual_seed(seed)
    size = Size(hidden=hidden, layers=layers, heads=heads, patch=patch, init_range=0.02)
    model, processor = _paligemma(Path(out_dir), image_size, size)
    return _save(model, processor, Path(out_dir), SCRATCH)


#: `MARKER` of `radvqa-train tiny-model`: random weights, a test fixture (plumbing only).
TINY_FIXTURE = {"weights": "random", "made_by": "radvqa-train tiny-model", "test_fixture": True}
#: `MARKER` of `radvqa-train scratch-model`: random weights meant for full training.
SCRATCH = {"weights": "random", "made_by": "radvqa-train scratch-model", "test_fixture": False}
#: The file beside config.json that says a model folder holds random weights and who made it
#: (`radvqa-train run` refuses LoRA on a random model that is not a test fixture).
MARKER = "radvqa_model.json"


def random_model_marker(model: str | Path) -> dict | None:
    """The `MARKER` of a model folder, or None (a trained or published model, or a hub id)."""
    import json

    path = Path(model) / MARKER
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        return None  # an unreadable marker: treat the folder as an ordinary model


def _save(model, processor, out_dir: Path, marker: dict) -> Path:
    from radvqa_data.core.atomic import write_json

    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    write_json(out_dir / MARKER, marker)
    return out_dir
