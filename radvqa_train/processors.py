"""Qwen-VL processors in one place: image-only processor classes, image processors, pixel bounds.

The stock Qwen2.5-VL and Qwen3-VL processors build a video processor, which needs torchvision
(not usable here). Without a replacement, `AutoProcessor.from_pretrained` silently returns only
the tokenizer. `register_processors()` registers an image-only subclass of each with
AutoProcessor; call it before loading such a model (`radvqa_train.modeling.load_model` does).
Folders written by `radvqa-train tiny-model --family qwen2_5_vl|qwen3_vl` and by training name
these classes (``RadvqaQwen2_5_VLProcessor``, ``RadvqaQwen3VLProcessor``) in
``processor_config.json``, so the class names must not change.

Pixel bounds (`set_pixel_bounds`): Qwen-VL processors resize every image to between
``size.shortest_edge`` and ``size.longest_edge`` *pixels* (area, not edge length) in steps of
patch x merge, so the image-token count grows with the picture up to longest_edge /
(patch x merge)^2. In transformers 5 the bounds live in ``size`` only: instance attributes
``min_pixels`` / ``max_pixels`` win over ``size`` at every call (with a FutureWarning) and are
saved and, on reload, override ``size`` again, so they are removed here.
"""

from __future__ import annotations

from typing import Any

from radvqa_data.core.errors import ConfigError

#: config.model_type of the families whose image processor resizes by pixel bounds.
PIXEL_BOUND_TYPES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

#: The published Qwen2.5-VL / Qwen3-VL chat template reduced to one user turn (image, then the
#: question) and the assistant turn, no default system turn (see `radvqa_train.new_families`).
QWEN_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CLASSES: dict[str, type] = {}


def _image_only(base: type, name: str) -> type:
    """Subclass of a stock Qwen-VL processor that takes no video processor, named `name`."""
    from transformers.processing_utils import ProcessorMixin

    def __init__(
        self: Any,
        image_processor: Any = None,
        tokenizer: Any = None,
        chat_template: Any = None,
        **kwargs: Any,
    ) -> None:
        # what the stock __init__ sets, minus the video processor (ProcessorMixin directly)
        self.image_token = "<|image_pad|>"
        self.video_token = "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
        # Qwen3-VL's call uses these (Qwen2.5-VL's ignores them)
        self.vision_start_token = "<|vision_start|>"
        self.vision_end_token = "<|vision_end|>"
        self.vision_start_token_id = tokenizer.convert_tokens_to_ids(self.vision_start_token)
        self.vision_end_token_id = tokenizer.convert_tokens_to_ids(self.vision_end_token)

    def __call__(self: Any, images: Any = None, text: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("videos", None)
        return base.__call__(self, images=images, text=text, videos=None, **kwargs)

    doc = f"{base.__name__} for images only (the stock one needs torchvision for video)."
    return type(name, (base,), {"__init__": __init__, "__call__": __call__, "__doc__": doc})


def register_processors() -> type:
    """Register the image-only Qwen2.5-VL and Qwen3-VL processors with AutoProcessor
    (idempotent); return the Qwen2.5-VL one (`qwen3_vl_class()` gives the other)."""
    if not _CLASSES:
        from transformers import (
            AutoProcessor,
            Qwen2_5_VLConfig,
            Qwen2_5_VLProcessor,
            Qwen3VLConfig,
            Qwen3VLProcessor,
        )

        for key, config, base, name in (
            ("qwen2_5_vl", Qwen2_5_VLConfig, Qwen2_5_VLProcessor, "RadvqaQwen2_5_VLProcessor"),
            ("qwen3_vl", Qwen3VLConfig, Qwen3VLProcessor, "RadvqaQwen3VLProcessor"),
        ):
            _CLASSES[key] = _image_only(base, name)
            AutoProcessor.register(config, _CLASSES[key], exist_ok=True)
    return _CLASSES["qwen2_5_vl"]


def qwen3_vl_class() -> type:
    """The image-only Qwen3-VL processor class (registered with AutoProcessor)."""
    register_processors()
    return _CLASSES["qwen3_vl"]


def qwen_processor(
    model_type: str,
    *,
    patch: int,
    merge: int = 2,
    min_pixels: int,
    max_pixels: int,
    chat_template: str,
) -> Any:
    """Image-only Qwen2.5-VL / Qwen3-VL processor: the radiology BPE tokenizer with Qwen's
    special tokens (`bpe.qwen_tokenizer`) and an image processor that resizes every image to
    between `min_pixels` and `max_pixels` pixels (min = max: a fixed grid, as the tiny models)."""
    from transformers import Qwen2VLImageProcessorPil

    from radvqa_train.bpe import qwen_tokenizer

    register_processors()
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        patch_size=patch,
        merge_size=merge,
        temporal_patch_size=2,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    return _CLASSES[model_type](
        image_processor=image_processor, tokenizer=qwen_tokenizer(), chat_template=chat_template
    )


def has_pixel_bounds(processor: Any) -> bool:
    """Whether `processor` resizes images by pixel bounds (the Qwen-VL image processors)."""
    ip = getattr(processor, "image_processor", None)
    size = getattr(ip, "size", None) or {}
    return hasattr(ip, "merge_size") and bool(
        size.get("shortest_edge") and size.get("longest_edge")
    )


def set_pixel_bounds(
    processor: Any, min_pixels: int | None, max_pixels: int | None, *, where: str = "image"
) -> None:
    """Bound the pixels per image of a Qwen-VL processor (None keeps that bound). The processor
    honours them in every call and `save_pretrained` writes them, so eval and diag of a saved
    folder resize as training did. ConfigError for a processor without pixel bounds."""
    if min_pixels is None and max_pixels is None:
        return
    if not has_pixel_bounds(processor):
        raise ConfigError(
            f"{where}: min_pixels/max_pixels apply to Qwen-VL processors only "
            f"({type(processor).__name__} has fixed image sizes)"
        )
    from transformers.image_utils import SizeDict

    ip = processor.image_processor
    lo = int(min_pixels if min_pixels is not None else ip.size["shortest_edge"])
    hi = int(max_pixels if max_pixels is not None else ip.size["longest_edge"])
    if lo > hi:
        raise ConfigError(f"{where}: min_pixels={lo} is above max_pixels={hi}")
    ip.size = SizeDict(shortest_edge=lo, longest_edge=hi)
    for stale in ("min_pixels", "max_pixels"):  # would override `size` (module doc)
        ip.__dict__.pop(stale, None)


def max_image_tokens(processor: Any) -> int:
    """Most image tokens one image can give under the processor's pixel bound: the resize keeps
    height x width <= max_pixels in multiples of patch x merge, one token per merged patch."""
    ip = processor.image_processor
    factor = ip.patch_size * ip.merge_size
    return int(ip.size["longest_edge"]) // (factor * factor)
