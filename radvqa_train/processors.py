"""Image-only processors for families whose stock processor needs torchvision.

The Qwen2/2.5-VL processors build a video processor, which needs torchvision (not usable
here). Without a replacement, `AutoProcessor.from_pretrained` silently returns only the
tokenizer. `register_processors()` registers an image-only subclass for the Qwen2.5-VL config
with AutoProcessor; call it before loading such a model (`radvqa_train.modeling.load_model`
does). Folders written by `radvqa-train tiny-model --family qwen2_5_vl` name this class in
``processor_config.json``.
"""

from __future__ import annotations

from typing import Any

_REGISTERED = False


def _image_only_class() -> type:
    from transformers import Qwen2_5_VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class RadvqaQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
        """Qwen2.5-VL processor for images only (the stock one needs torchvision for video)."""

        def __init__(
            self,
            image_processor: Any = None,
            tokenizer: Any = None,
            chat_template: Any = None,
            **kwargs: Any,
        ):
            self.image_token = "<|image_pad|>"
            self.video_token = "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

        def __call__(self, images: Any = None, text: Any = None, **kwargs: Any) -> Any:
            kwargs.pop("videos", None)
            return super().__call__(images=images, text=text, videos=None, **kwargs)

    return RadvqaQwen2_5_VLProcessor


def _image_only_qwen3_vl() -> type:
    from transformers import Qwen3VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class RadvqaQwen3VLProcessor(Qwen3VLProcessor):
        """Qwen3-VL processor for images only (the stock one needs torchvision for video)."""

        def __init__(
            self,
            image_processor: Any = None,
            tokenizer: Any = None,
            chat_template: Any = None,
            **kwargs: Any,
        ):
            self.image_token = "<|image_pad|>"
            self.video_token = "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
            self.vision_start_token = "<|vision_start|>"
            self.vision_end_token = "<|vision_end|>"
            self.vision_start_token_id = tokenizer.convert_tokens_to_ids(self.vision_start_token)
            self.vision_end_token_id = tokenizer.convert_tokens_to_ids(self.vision_end_token)

        def __call__(self, images: Any = None, text: Any = None, **kwargs: Any) -> Any:
            kwargs.pop("videos", None)
            return super().__call__(images=images, text=text, videos=None, **kwargs)

    return RadvqaQwen3VLProcessor


def register_processors() -> type:
    """Register the image-only Qwen2.5-VL and Qwen3-VL processors with AutoProcessor
    (idempotent); return the Qwen2.5-VL one (`qwen3_vl_class()` gives the other)."""
    global _REGISTERED, _CLASS, _CLASS3
    if not _REGISTERED:
        from transformers import AutoProcessor, Qwen2_5_VLConfig, Qwen3VLConfig

        _CLASS = _image_only_class()
        _CLASS3 = _image_only_qwen3_vl()
        AutoProcessor.register(Qwen2_5_VLConfig, _CLASS, exist_ok=True)
        AutoProcessor.register(Qwen3VLConfig, _CLASS3, exist_ok=True)
        _REGISTERED = True
    return _CLASS


def qwen3_vl_class() -> type:
    """The image-only Qwen3-VL processor class (registered with AutoProcessor)."""
    register_processors()
    assert _CLASS3 is not None
    return _CLASS3


_CLASS: type | None = None
_CLASS3: type | None = None
