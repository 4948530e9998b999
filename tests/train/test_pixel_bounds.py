"""The recipes' Qwen-VL pixel bounds (`image.min_pixels` / `image.max_pixels`): honoured by the
processor, kept through save + reload (what eval and diag load), validated, and counted by
`rehearse --meta`."""

from __future__ import annotations

import pytest

from radvqa_data.core.errors import ConfigError
from radvqa_train.config import load_config
from radvqa_train.processors import max_image_tokens, set_pixel_bounds
from radvqa_train.real_size import RealSpec, build_processor
from radvqa_train.rehearse import nominal_image

PROMPT = "<|vision_start|><|image_pad|><|vision_end|>is there a mass?"


def _image_tokens(processor, size: tuple[int, int]) -> int:
    from PIL import Image

    out = processor(images=[Image.new("RGB", size)], text=[PROMPT], return_tensors="pt")
    return int((out["input_ids"] == processor.image_token_id).sum())


@pytest.mark.parametrize(
    ("model", "published", "capped", "worst", "small"),
    [
        # patch 16, 2x2 merge (32 px per token): 1024 px -> 32 x 32 tokens; under 512 x 512:
        # 16 x 16; 100 px is upscaled to min_pixels 256 x 256: 8 x 8
        ("Qwen/Qwen3-VL-2B-Instruct", 1024, 256, 256, 64),
        # patch 14 (28 px per token): 1024 px -> 1036 px, 37 x 37; 512 x 512 -> 504 px, 18 x 18;
        # 100 px -> 280 px, 10 x 10
        ("Qwen/Qwen2.5-VL-3B-Instruct", 1369, 324, 334, 100),
    ],
)
def test_max_pixels_is_honoured_and_survives_save_and_reload(
    model, published, capped, worst, small, tmp_path
):
    from transformers import AutoProcessor

    from radvqa_train.processors import register_processors

    processor = build_processor(RealSpec.for_model(model))
    assert _image_tokens(processor, (1024, 1024)) == published  # the published 12.8-16.7 M bound
    set_pixel_bounds(processor, 256 * 256, 512 * 512)
    assert _image_tokens(processor, (1024, 1024)) == capped
    assert max_image_tokens(processor) == worst
    assert _image_tokens(processor, (3000, 180)) <= worst  # any aspect ratio stays within
    assert _image_tokens(processor, (100, 100)) == small
    # a stage folder's processor as `run` saves it and eval / diag load it
    # (`modeling.load_model`: register_processors, then AutoProcessor): the bound comes back
    processor.save_pretrained(tmp_path)
    register_processors()
    reloaded = AutoProcessor.from_pretrained(tmp_path)
    assert _image_tokens(reloaded, (1024, 1024)) == capped
    assert _image_tokens(reloaded, (100, 100)) == small


def test_pixel_bounds_on_a_fixed_size_processor_fail_clearly():
    processor = build_processor(RealSpec.for_model("google/paligemma-3b-pt-448"))
    with pytest.raises(ConfigError, match="recipe.yaml: min_pixels/max_pixels apply to Qwen-VL"):
        set_pixel_bounds(processor, None, 512 * 512, where="recipe.yaml")
    set_pixel_bounds(processor, None, None)  # no bounds: nothing to apply anywhere


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("image.max_pixels=-5", r"image.max_pixels: expected a positive integer \(pixels\)"),
        ("image.min_pixels=1.5", r"image.min_pixels: expected a positive integer"),
        ("image.min_pixels=600000", "image: min_pixels=600000 is above max_pixels=262144"),
        ("image.max_pxels=1", r"image.max_pxels: unknown key \(known: min_pixels, max_pixels\)"),
    ],
)
def test_bad_pixel_bounds_are_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("qwen3-vl-2b", overrides=[override])


def test_pixel_bounds_on_a_fixed_size_model_fail_preflight(tiny_models):
    from radvqa_train.preflight import check_model

    cfg = load_config(
        "tiny-demo", overrides=["image.max_pixels=4096"], model=str(tiny_models["paligemma"])
    )
    problems = check_model(cfg, where="tiny-demo.yaml")
    assert any("image.min_pixels/max_pixels apply to Qwen-VL models only" in p for p in problems)
    cfg = load_config(
        "tiny-demo", overrides=["image.max_pixels=4096"], model=str(tiny_models["qwen3_vl"])
    )
    assert check_model(cfg, where="tiny-demo.yaml") == []


def test_meta_counts_image_tokens_at_the_cap_and_fails_without_one():
    from radvqa_train.rehearse import rehearse_meta

    cfg = load_config("qwen3-vl-2b", overrides=["image.max_pixels=null"])  # published 16.7 M
    with pytest.raises(ConfigError, match=r"max_length=768 cannot hold one example: up to 16384"):
        rehearse_meta(cfg, recipe="qwen3-vl-2b")


def test_nominal_image_is_the_square_at_the_cap():
    from radvqa_train.rehearse import nominal_size

    processor = build_processor(RealSpec.for_model("Qwen/Qwen3-VL-2B-Instruct"))
    set_pixel_bounds(processor, None, 640 * 480)
    assert nominal_size(processor) == 554  # isqrt(307200)
    assert nominal_image(nominal_size(processor)).size == (554, 554)
    paligemma = build_processor(RealSpec.for_model("google/paligemma-3b-pt-448"))
    assert nominal_size(paligemma) == 512


def test_resume_compares_pixel_bounds_and_accepts_runs_saved_before_them(tmp_path):
    import yaml

    from radvqa_train.config import to_dict
    from radvqa_train.run import _check_out

    cfg = load_config("qwen3-vl-2b")
    saved = to_dict(cfg)
    saved.pop("image")  # a config.yaml written before recipes had `image`
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    _check_out(tmp_path, load_config("qwen3-vl-2b", overrides=["image=null"]), resume=True)
    with pytest.raises(ConfigError, match=r"differs from the run .*\(in: image\)"):
        _check_out(tmp_path, cfg, resume=True)  # 512^2 bounds vs the old run's none
