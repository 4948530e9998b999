"""Per-family image-token -> grid mappings, checked against the real processors and connectors."""

from __future__ import annotations

import numpy as np
import pytest

from radvqa_diag import grids


def _gradient_image(w: int, h: int):
    from PIL import Image

    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], -1)
    return Image.fromarray(arr.astype(np.uint8))


def test_paligemma_grid_is_row_major():
    scores = np.arange(16.0)
    grid = grids.paligemma_token_grid(scores)
    assert grid.shape == (4, 4)
    assert grid[1, 0] == 4 and grid[0, 1] == 1
    with pytest.raises(ValueError):
        grids.paligemma_token_grid(np.arange(15.0))
    # leading axes (layers, heads) are kept
    assert grids.paligemma_token_grid(np.zeros((2, 3, 64))).shape == (2, 3, 8, 8)


def test_qwen_pixels_unpermute_matches_processor_resize():
    from transformers import Qwen2VLImageProcessorPil

    proc = Qwen2VLImageProcessorPil(
        size={"shortest_edge": 32 * 48, "longest_edge": 32 * 48},
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
        patch_size=8,
        merge_size=2,
        temporal_patch_size=2,
        do_resize=False,
    )
    img = _gradient_image(48, 32)
    out = proc(images=[img], return_tensors="np")
    thw = tuple(int(x) for x in out["image_grid_thw"][0])
    assert thw == (1, 4, 6)
    pix = grids.qwen_pixels_to_image(out["pixel_values"], thw, merge=2, patch=8, temporal=2)
    assert pix.shape == (3, 32, 48)
    expected = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(pix, expected, atol=1e-5)


def test_qwen_token_grid_follows_merge_windows():
    """Token k of the LM sequence covers merged window (k // gw, k % gw): check with the
    processor."""
    from transformers import Qwen2VLImageProcessorPil

    proc = Qwen2VLImageProcessorPil(
        image_mean=[0.0] * 3,
        image_std=[1.0] * 3,
        patch_size=8,
        merge_size=2,
        temporal_patch_size=2,
        do_resize=False,
    )
    arr = np.zeros((32, 64, 3), dtype=np.uint8)
    arr[16:32, 48:64] = 255  # merged window (row 1, col 3) of a 2 x 4 merged grid
    from PIL import Image

    out = proc(images=[Image.fromarray(arr)], return_tensors="np")
    thw = tuple(int(x) for x in out["image_grid_thw"][0])
    # one score per LM token = mean pixel of the 4 patches merged into it (consecutive rows)
    per_token = out["pixel_values"].reshape(-1, 4, out["pixel_values"].shape[1]).mean(axis=(1, 2))
    grid = grids.qwen_token_grid(per_token, thw, merge=2)
    assert grid.shape == (2, 4)
    assert np.unravel_index(grid.argmax(), grid.shape) == (1, 3)
    assert np.count_nonzero(grid) == 1


def test_idefics3_pixel_shuffle_layout_matches_connector():
    """After pixel shuffle, token (i, j) of a tile holds patches of block (i, j): checked on the
    real connector."""
    import torch
    from transformers.models.idefics3.modeling_idefics3 import Idefics3Connector

    side, s = 8, 2
    rows, cols = np.mgrid[0:side, 0:side]
    x = torch.tensor(np.stack([rows.ravel(), cols.ravel()], -1), dtype=torch.float32)[None]
    shuffled = Idefics3Connector.pixel_shuffle(None, x, scale_factor=s)[0].numpy()  # [k*k, 2*s*s]
    k = side // s
    token_rows = grids.idefics3_split_tokens(np.arange(k * k * 2), 1, 1)  # 1 tile + global
    assert token_rows[0].shape == (k, k) and token_rows[1].shape == (k, k)
    for t in range(k * k):
        pr, pc = shuffled[t, 0::2], shuffled[t, 1::2]
        i, j = np.unravel_index(t, (k, k))
        assert set(pr // s) == {i} and set(pc // s) == {j}


def test_idefics3_tiles_mosaic_and_global():
    from transformers import Idefics3ImageProcessorPil

    proc = Idefics3ImageProcessorPil(
        do_image_splitting=True,
        size={"longest_edge": 64},
        max_image_size={"longest_edge": 32},
        image_mean=[0.0] * 3,
        image_std=[1.0] * 3,
        resample=0,
    )
    img = _gradient_image(64, 32)
    out = proc(images=[[img]], return_tensors="np", return_row_col_info=True)
    r, c = out["rows"][0][0], out["cols"][0][0]
    assert (r, c) == (1, 2)
    mosaic, glob = grids.idefics3_pixels_to_image(out["pixel_values"][0], r, c)
    assert mosaic.shape == (3, 32, 64) and glob.shape == (3, 32, 32)
    expected = np.asarray(img.resize((64, 32)), dtype=np.float32).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(mosaic, expected, atol=1e-5)
    # token scores: 2 tiles of 4x4 then global 4x4
    scores = np.concatenate([np.full(16, 1.0), np.full(16, 2.0), np.full(16, 3.0)])
    tok_mosaic, tok_glob = grids.idefics3_split_tokens(scores, r, c)
    assert tok_mosaic.shape == (4, 8)
    assert (tok_mosaic[:, :4] == 1).all() and (tok_mosaic[:, 4:] == 2).all()
    combined = grids.combine_fine_coarse(tok_mosaic, np.full((4, 4), 3.0))
    assert combined.shape == (4, 8)
    assert combined.sum() == pytest.approx(tok_mosaic.sum() + 48.0)


def test_idefics3_global_only():
    mosaic, glob = grids.idefics3_split_tokens(np.arange(16.0), 0, 0)
    assert mosaic is None and glob.shape == (4, 4)
    assert grids.combine_fine_coarse(None, glob) is glob
