"""Saliency on tiny models of both families: shapes, finiteness, methods differ, one forward pass,
and a planted dependence (a model trained to answer from the top-left quadrant) shows up."""

from __future__ import annotations

import numpy as np
import pytest

from radvqa_diag.loading import load_model
from radvqa_diag.maps import on_image
from radvqa_diag.saliency import METHODS, explain_batch
from tests.diag.conftest import QUESTION, planted_batch, quadrant_image

#: token grid of the tiny models at 32 px: PaliGemma patch 8 -> 4x4; Idefics3 patch 8, shuffle 2
#: -> 2x2
TOKEN_GRID = {"paligemma": (4, 4), "idefics3": (2, 2)}
#: rollout goes through the vision encoder down to its 8-px patches: 4x4 for both
PATCH_GRID = {"paligemma": (4, 4), "idefics3": (4, 4)}


def _images(n: int):
    from PIL import Image

    rng = np.random.default_rng(3)
    return [Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8)) for _ in range(n)]


@pytest.mark.parametrize("family", ["paligemma", "idefics3"])
def test_maps_shape_finite_and_distinct(tiny_model_dirs, family):
    lm = load_model(tiny_model_dirs[family])
    calls = []
    handle = lm.model.register_forward_hook(lambda *a: calls.append(1))
    try:
        res = explain_batch(
            lm,
            _images(3),
            ["is there a fracture?", "what organ is shown", "is this a CT"],
            ["yes", "the left lung", "no"],
        )
    finally:
        handle.remove()
    assert len(calls) == 1, "all maps of a batch must come from one forward pass"
    assert len(res) == 3
    n_layers = lm.model.config.text_config.num_hidden_layers
    n_heads = lm.model.config.text_config.num_attention_heads
    for r in res:
        assert set(r.maps) == set(METHODS)
        for m in ("attention", "gradcam"):
            assert r.maps[m].shape == TOKEN_GRID[family], m
        assert r.maps["rollout"].shape == PATCH_GRID[family]
        assert r.extra["rollout"] == "lm+vision"
        assert r.maps["grad_x_input"].shape == (32, 32)
        assert r.attention_lh.shape == (n_layers, n_heads, *TOKEN_GRID[family])
        for m, arr in r.maps.items():
            assert np.isfinite(arr).all() and (arr >= 0).all(), m
        assert r.maps["grad_x_input"].sum() > 0 and r.maps["attention"].sum() > 0
        # geometric <= arithmetic mean; equal for a one-token answer, up to float rounding
        assert 0 < r.confidence_min <= r.confidence + 1e-6
        assert r.confidence <= r.confidence_mean + 1e-6 <= 1 + 1e-6
        # methods give different maps (compared on the image, each normalized to [0, 1])
        on = {m: on_image(r.maps[m], (56, 40)) for m in METHODS}
        for a in METHODS:
            for b in METHODS:
                if a < b:
                    assert np.abs(on[a] - on[b]).max() > 1e-3, (a, b)
    # answers of different lengths in one batch get their own token counts
    assert len(res[1].token_probs) > len(res[0].token_probs)


def _quadrant_shares(m: np.ndarray) -> np.ndarray:
    h, w = m.shape
    q = np.array(
        [
            m[: h // 2, : w // 2].sum(),
            m[: h // 2, w // 2 :].sum(),
            m[h // 2 :, : w // 2].sum(),
            m[h // 2 :, w // 2 :].sum(),
        ]
    )
    return q / q.sum() if q.sum() > 0 else np.full(4, np.nan)


def test_planted_dependence_shows_in_gradient_map(planted_paligemma):
    model_dir, losses = planted_paligemma
    assert np.mean(losses[-5:]) < 0.3 * np.mean(losses[:5]), "the planted task was not learned"
    lm = load_model(model_dir)
    images, answers = planted_batch(np.random.default_rng(123), 16)
    res = explain_batch(lm, images, [QUESTION] * 16, answers)
    assert np.mean([r.confidence for r in res]) > 0.8
    shares = {m: np.nanmean([_quadrant_shares(r.maps[m]) for r in res], axis=0) for m in METHODS}
    gxi = shares["grad_x_input"]
    assert gxi[0] > 0.3 and gxi[0] > 1.3 * gxi[1:].max(), gxi
    # attention from the answer agrees on this model (not required of every method)
    assert shares["attention"][0] == max(shares["attention"])


def test_confidence_tracks_the_answer(planted_paligemma):
    """Explaining the wrong answer yields a low confidence, the right one a high one."""
    lm = load_model(planted_paligemma[0])
    img = quadrant_image((1, 0, 0, 1), seed=5)
    right, wrong = explain_batch(lm, [img, img], [QUESTION] * 2, ["yes", "no"])
    assert right.confidence > 0.8 > 0.2 > wrong.confidence
    assert wrong.confidence_min <= wrong.confidence <= wrong.confidence_mean
    assert right.answer_logprob > wrong.answer_logprob


def test_vision_rollout_composition():
    from radvqa_diag.vision_rollout import through_encoder, tokens_to_patches

    r = np.array([1.0, 0.0, 0.0, 3.0])  # 2x2 tokens, scale 2 -> 4x4 patches
    p = tokens_to_patches(r, 2).reshape(4, 4)
    assert p.sum() == 4.0 and (p[:2, :2] == 0.25).all() and (p[2:, 2:] == 0.75).all()
    eye = np.eye(16)
    np.testing.assert_allclose(through_encoder(r, eye, 2), p.ravel())
    mix = np.full((16, 16), 1 / 16)  # uniform attention spreads everything evenly
    np.testing.assert_allclose(through_encoder(r, mix, 2), np.full(16, 0.25))


def test_vision_attention_recorder_sees_every_layer(tiny_model_dirs):
    import torch

    from radvqa_diag.vision_rollout import VisionAttentionRecorder

    for family, dirpath in tiny_model_dirs.items():
        lm = load_model(dirpath)
        res = explain_batch(lm, _images(1), ["q?"], ["yes"])  # warm path
        rec = VisionAttentionRecorder(lm.model)
        assert len(rec.modules) == lm.model.config.vision_config.num_hidden_layers, family
        from radvqa_train.families import build_inputs, model_inputs

        batch, _ = build_inputs(lm.processor, lm.family, _images(2), ["q?", "q?"], ["a", "b"])
        batch.pop("labels", None)
        with torch.no_grad(), rec:
            lm.model(**model_inputs(batch))
        roll = rec.rollout()
        assert roll.shape == (2, 16, 16)  # two images, 16 patches each
        assert torch.allclose(roll.sum(-1), torch.ones(2, 16), atol=1e-4)  # rows stay distributions
        assert res[0].extra["rollout"] == "lm+vision"


def test_explanation_model_is_frozen_and_still_gets_pixel_gradients(tiny_model_dirs):
    """Diag loads weights frozen: saliency's backward reaches the pixels and image features but
    allocates no weight gradient (a 2 B model's would cost 4 GB)."""
    lm = load_model(tiny_model_dirs["paligemma"])
    assert not any(p.requires_grad for p in lm.model.parameters())
    res = explain_batch(lm, _images(1), ["is there a fracture?"], ["yes"])[0]
    assert res.maps["grad_x_input"].sum() > 0 and res.maps["gradcam"].sum() > 0
    assert all(p.grad is None for p in lm.model.parameters())
