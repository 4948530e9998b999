"""Saliency on the tiny MedGemma (Gemma 3) and Qwen3-VL models: every map on the right grid,
finite, from one forward pass; Qwen3-VL's flat patches are mapped back onto the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radvqa_diag.loading import load_model
from radvqa_diag.saliency import METHODS, explain_batch

#: at 32 px: Gemma 3 patch 4 -> 8x8 patches pooled 2x2 -> 4x4 tokens; Qwen3-VL patch 8 -> 4x4
#: patches merged 2x2 -> 2x2 tokens
TOKEN_GRID = {"gemma3": (4, 4), "qwen3_vl": (2, 2)}


@pytest.fixture(scope="module")
def new_family_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from radvqa_train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("diag-new-families")
    return {f: build_tiny_model(f, root / f, seed=1) for f in TOKEN_GRID}


@pytest.mark.parametrize("family", list(TOKEN_GRID))
def test_maps_of_new_families(new_family_dirs, family):
    from PIL import Image

    lm = load_model(new_family_dirs[family])
    assert lm.family == family
    rng = np.random.default_rng(3)
    # square: Qwen keeps the aspect ratio (a 40x56 image becomes 16x32 px at this pixel budget)
    images = [Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)) for _ in range(2)]
    calls = []
    handle = lm.model.register_forward_hook(lambda *a: calls.append(1))
    try:
        res = explain_batch(lm, images, ["is there a fracture?", "what organ"], ["yes", "lung"])
    finally:
        handle.remove()
    assert len(calls) == 1
    n_layers = lm.model.config.text_config.num_hidden_layers
    for r in res:
        assert set(r.maps) == set(METHODS)
        for m in ("attention", "gradcam", "rollout"):
            assert r.maps[m].shape == TOKEN_GRID[family], m
        assert r.maps["grad_x_input"].shape == (32, 32)
        assert r.attention_lh.shape[:1] == (n_layers,)
        for m, arr in r.maps.items():
            assert np.isfinite(arr).all() and (arr >= 0).all(), m
        assert r.maps["grad_x_input"].sum() > 0 and r.maps["attention"].sum() > 0
    # the two examples' pixel maps come from their own pixels (Qwen: their own flat patches)
    assert not np.allclose(res[0].maps["grad_x_input"], res[1].maps["grad_x_input"])
