"""Where each image token (and each pixel of the model input) sits on the image: one function
per family.

A saliency method yields one score per *image token* in the language model's sequence, or one
gradient per *model-input pixel*. Families lay those out differently:

- PaliGemma: a fixed grid of ``(image_size / patch)**2`` tokens in row-major order; pixels are a
  plain ``[3, H, W]`` tensor.
- Qwen2-VL / Qwen2.5-VL: ``grid_thw = (t, h, w)`` patches per image; each LM token is one
  ``merge x merge`` window of patches, tokens in row-major order of the merged grid
  ``(h/merge, w/merge)``. ``pixel_values`` are flattened patches in *merge-window order*
  ``(h/m, w/m, m, m)``, each patch a ``(C, T, p, p)`` vector: they must be un-permuted before
  they form an image.
- Idefics3 / SmolVLM: optional tiles (``rows x cols``) followed by one global (downscaled) image;
  each tile's tokens are the pixel-shuffled SigLIP grid, ``side/scale`` squared, row-major.

All functions here are pure NumPy so they are tested without a model.
"""

from __future__ import annotations

import numpy as np


def _square_side(n: int, what: str) -> int:
    side = int(round(n**0.5))
    if side * side != n:
        raise ValueError(f"{what}: {n} tokens do not form a square grid")
    return side


def paligemma_token_grid(scores: np.ndarray) -> np.ndarray:
    """PaliGemma: scores ``[..., N]`` over the N image tokens -> ``[..., s, s]`` (row-major)."""
    scores = np.asarray(scores)
    side = _square_side(scores.shape[-1], "PaliGemma image tokens")
    return scores.reshape(*scores.shape[:-1], side, side)


def qwen_token_grid(scores: np.ndarray, grid_thw: tuple[int, int, int], merge: int) -> np.ndarray:
    """Qwen2(.5)-VL: scores ``[..., t*h*w/merge**2]`` -> ``[..., h/merge, w/merge]``
    (mean over t)."""
    scores = np.asarray(scores)
    t, h, w = (int(x) for x in grid_thw)
    gh, gw = h // merge, w // merge
    if scores.shape[-1] != t * gh * gw:
        raise ValueError(
            f"Qwen image tokens: got {scores.shape[-1]}, grid_thw {grid_thw} / merge {merge} "
            f"gives {t * gh * gw}"
        )
    return scores.reshape(*scores.shape[:-1], t, gh, gw).mean(axis=-3)


def qwen_pixels_to_image(
    flat: np.ndarray, grid_thw: tuple[int, int, int], merge: int, patch: int, temporal: int
) -> np.ndarray:
    """Qwen2(.5)-VL: un-permute flattened ``pixel_values`` ``[t*h*w, C*T*p*p]`` ->
    ``[C, h*p, w*p]``.

    Inverse of the image processor's ``patchify`` (layout ``(t, h/m, w/m, m, m) x (C, T, p, p)``);
    the temporal copies are averaged.
    """
    flat = np.asarray(flat)
    t, h, w = (int(x) for x in grid_thw)
    n, dim = flat.shape
    if n != t * h * w or dim % (temporal * patch * patch):
        raise ValueError(
            f"Qwen pixel_values {flat.shape} do not match grid_thw {grid_thw}, patch {patch}"
        )
    c = dim // (temporal * patch * patch)
    x = flat.reshape(t, h // merge, w // merge, merge, merge, c, temporal, patch, patch)
    # -> (t, C, T, h/m, m, p, w/m, m, p): rows = (block, within-window, within-patch)
    x = x.transpose(0, 5, 6, 1, 3, 7, 2, 4, 8)
    x = x.reshape(t, c, temporal, h * patch, w * patch)
    return x.mean(axis=(0, 2))


def idefics3_split_tokens(
    scores: np.ndarray, rows: int, cols: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Idefics3: scores ``[..., (rows*cols + 1) * k*k]`` -> (tile mosaic
    ``[..., rows*k, cols*k]`` or None, global ``[..., k, k]``).

    ``rows = cols = 0`` means no splitting: only the global image. Tiles come first, row-major,
    then the global image; inside a tile the pixel-shuffled tokens form a row-major ``k x k`` grid.
    """
    scores = np.asarray(scores)
    n_tiles = rows * cols
    per = scores.shape[-1] / (n_tiles + 1)
    if per != int(per):
        raise ValueError(
            f"Idefics3 image tokens: {scores.shape[-1]} do not split into {n_tiles} tiles + global"
        )
    k = _square_side(int(per), "Idefics3 tile tokens")
    lead = scores.shape[:-1]
    glob = scores[..., n_tiles * k * k :].reshape(*lead, k, k)
    if n_tiles == 0:
        return None, glob
    tiles = scores[..., : n_tiles * k * k].reshape(*lead, rows, cols, k, k)
    mosaic = np.swapaxes(tiles, -3, -2).reshape(*lead, rows * k, cols * k)
    return mosaic, glob


def combine_fine_coarse(fine: np.ndarray | None, coarse: np.ndarray) -> np.ndarray:
    """Add a coarse map that covers the same area as `fine`, spreading each coarse cell's mass.

    Used for Idefics3, where the tiles (fine) and the global image (coarse) both see the image.
    Total relevance is preserved: ``result.sum() == fine.sum() + coarse.sum()``.
    """
    if fine is None:
        return coarse
    fh, fw = fine.shape[-2:]
    ch, cw = coarse.shape[-2:]
    if fh % ch or fw % cw:
        # Not an integer ratio: resample the coarse map (rare; only with odd tile sizes).
        return fine + resize_mass(coarse, (fh, fw))
    ry, rx = fh // ch, fw // cw
    spread = np.repeat(np.repeat(coarse, ry, axis=-2), rx, axis=-1) / (ry * rx)
    return fine + spread


def resize_mass(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D map to `shape` (nearest), rescaled so that its sum is unchanged."""
    m = np.asarray(m, dtype=np.float64)
    ys = (np.arange(shape[0]) * m.shape[-2] // shape[0]).astype(int)
    xs = (np.arange(shape[1]) * m.shape[-1] // shape[1]).astype(int)
    out = m[..., ys[:, None], xs[None, :]]
    total = out.sum()
    return out * (m.sum() / total) if total else out


def idefics3_pixels_to_image(
    pixels: np.ndarray, rows: int, cols: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """Idefics3: per-image pixel tensors ``[n, C, S, S]`` (tiles then global) -> (mosaic, global).

    Mosaic is ``[C, rows*S, cols*S]`` (None without splitting); global is ``[C, S, S]``.
    Padding images (all zero, beyond ``rows*cols + 1``) are ignored.
    """
    pixels = np.asarray(pixels)
    n_tiles = rows * cols
    glob = pixels[n_tiles]
    if n_tiles == 0:
        return None, glob
    c, s1, s2 = pixels.shape[1:]
    tiles = pixels[:n_tiles].reshape(rows, cols, c, s1, s2)
    mosaic = tiles.transpose(2, 0, 3, 1, 4).reshape(c, rows * s1, cols * s2)
    return mosaic, glob
