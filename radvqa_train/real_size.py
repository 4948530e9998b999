"""Real-size models without downloads: the published config.json values shipped with the package.

`radvqa_train/real_configs/*.json` hold, per checkpoint, the architecture keys of its published
``config.json`` (source URL beside them), the processor settings that fix the image-token count,
and the published parameter total. `RealSpec.for_model(recipe.model)` finds the one a recipe
names; `build_processor` makes a processor with those image settings and the locally trained
radiology tokenizer (`tiny_model`); `build_model` instantiates the architecture on the meta
device (no memory) or for real in bf16 with random weights. Token ids in the config (image
token, bos/eos/pad) are remapped to the local tokenizer's; `vocab_size` stays the published one,
so every parameter has its real shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import ConfigError


@dataclass
class RealSpec:
    """One shipped real-size config (see module doc)."""

    model_id: str
    file: str
    source: str
    published_params: float
    published_params_source: str
    processor: dict
    config: dict

    @property
    def model_type(self) -> str:
        return str(self.config["model_type"])

    @classmethod
    def all(cls) -> list[RealSpec]:
        folder = resources.files("radvqa_train").joinpath("real_configs")
        out = []
        for f in sorted(folder.iterdir(), key=lambda x: x.name):
            if f.name.endswith(".json"):
                raw = json.loads(f.read_text("utf-8"))
                out.append(
                    cls(
                        raw["model_id"],
                        f"radvqa_train/real_configs/{f.name}",
                        raw["source"],
                        float(raw["published_params"]),
                        raw["published_params_source"],
                        raw["processor"],
                        raw["config"],
                    )
                )
        return out

    @classmethod
    def for_model(cls, model: str) -> RealSpec:
        """The shipped config of hub id `model` (or of the last path part of a local folder)."""
        specs = cls.all()
        for s in specs:
            if model == s.model_id or Path(model).name == s.model_id.split("/")[-1]:
                return s
        raise ConfigError(
            f"model '{model}': no shipped real-size config; known: "
            + ", ".join(s.model_id for s in specs)
        )


def build_processor(spec: RealSpec) -> Any:
    """Processor with the checkpoint's image settings and the local radiology tokenizer."""
    from radvqa_train import new_families, tiny_model

    p, mt = spec.processor, spec.model_type
    if mt == "gemma3":
        return new_families.gemma3_processor(p["image_size"], p["image_seq_length"])
    if mt in ("qwen3_vl", "qwen2_5_vl"):
        from radvqa_train.processors import QWEN_VL_TEMPLATE, qwen_processor

        return qwen_processor(
            mt,
            patch=p["patch_size"],
            merge=p["merge_size"],
            min_pixels=p["min_pixels"],
            max_pixels=p["max_pixels"],
            chat_template=QWEN_VL_TEMPLATE,
        )
    if mt == "paligemma":
        from transformers import PaliGemmaProcessor, SiglipImageProcessorPil

        tok = tiny_model._train_tokenizer(
            ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"],
            bos="<bos>",
            eos="<eos>",
            pad="<pad>",
            unk="<unk>",
        )
        ip = SiglipImageProcessorPil(
            size={"height": p["image_size"], "width": p["image_size"]},
            image_mean=[0.5] * 3,
            image_std=[0.5] * 3,
        )
        ip.image_seq_length = p["image_seq_length"]
        return PaliGemmaProcessor(image_processor=ip, tokenizer=tok)
    if mt == "idefics3":
        _, proc = tiny_model._idefics3(Path("."), 32)
        ip = proc.image_processor
        ip.do_image_splitting = p["do_image_splitting"]
        ip.size = {"longest_edge": p["longest_edge"]}
        ip.max_image_size = {"longest_edge": p["image_size"]}
        proc.image_seq_len = p["image_seq_len"]
        # the published tokenizer has one token per tile marker; BPE would split each in ~6
        proc.tokenizer.add_tokens(
            [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)], special_tokens=True
        )
        return proc
    raise ConfigError(f"{spec.file}: model type '{mt}' has no processor builder")


def _ids(spec: RealSpec, processor: Any) -> dict:
    """Config keys of token ids -> the local tokenizer's ids."""
    tok = processor.tokenizer
    mt = spec.model_type
    if mt == "gemma3":
        from radvqa_train.new_families import GEMMA3_SPECIAL

        return {
            "boi_token_index": tok.convert_tokens_to_ids(GEMMA3_SPECIAL["boi_token"]),
            "eoi_token_index": tok.convert_tokens_to_ids(GEMMA3_SPECIAL["eoi_token"]),
            "image_token_index": tok.convert_tokens_to_ids(GEMMA3_SPECIAL["image_token"]),
        }
    if mt == "paligemma":
        return {"image_token_index": processor.image_token_id}
    if mt == "idefics3":
        return {"image_token_id": processor.image_token_id}
    return {
        "image_token_id": processor.image_token_id,
        "video_token_id": processor.video_token_id,
        "vision_start_token_id": tok.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tok.convert_tokens_to_ids("<|vision_end|>"),
    }


def build_config(spec: RealSpec, processor: Any) -> Any:
    """The transformers config of `spec` with token ids of the local tokenizer."""
    from transformers import AutoConfig

    raw = json.loads(json.dumps(spec.config))
    model_type = raw.pop("model_type")
    tok = processor.tokenizer
    special = {
        "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
    }
    raw.update(_ids(spec, processor))
    raw["text_config"] = {**raw.get("text_config", {}), **special}
    raw.update({k: v for k, v in special.items() if k in raw})
    return AutoConfig.for_model(model_type, **raw)


def build_model(
    spec: RealSpec, processor: Any, *, meta: bool, seed: int = 0, precision: str = "bf16"
) -> Any:
    """The real-size model: on the meta device (`meta`), or random bf16 weights on CPU."""
    import torch
    from transformers import AutoModelForImageTextToText

    config = build_config(spec, processor)
    if meta:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        with torch.device("meta"):
            return AutoModelForImageTextToText.from_config(config, dtype=dtype)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    if spec.model_type == "gemma3":
        from radvqa_train.new_families import unzero_projector

        unzero_projector(model, 0.02)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    return model
