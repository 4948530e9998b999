"""Per-example image layout of a batch: turns token scores and pixel gradients into 2-D maps.

`layouts_for_batch` reads, per example, what the family needs (Idefics3 tile rows/cols from the
prompt text, the valid image area from `pixel_attention_mask`); `ImageLayout.token_map` and
`ImageLayout.pixel_map` then apply the family's mapping from `radvqa_diag.grids`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from radvqa_diag import grids

_ROW_COL = re.compile(r"<row_(\d+)_col_(\d+)>")


@dataclass
class ImageLayout:
    """How one example's image tokens and pixels map onto its image."""

    family: str
    rows: int = 0  # Idefics3 tiles (0 = no splitting)
    cols: int = 0
    valid: tuple[float, float] = (
        1.0,
        1.0,
    )  # fraction of (height, width) that is image, not padding
    # Qwen families: (t, h, w) patches of this image, its rows in the flat pixel_values, sizes
    grid_thw: tuple[int, int, int] | None = None
    pixel_rows: tuple[int, int] = (0, 0)
    merge: int = 2
    patch: int = 14
    temporal: int = 2

    def pixels_of(self, pixels: Any, b: int) -> Any:
        """This example's model-input pixels: row `b` of a batch, or its patches of a flat one."""
        if self.grid_thw is None:
            return pixels[b]
        return pixels[self.pixel_rows[0] : self.pixel_rows[1]]

    def token_map(self, scores: np.ndarray) -> np.ndarray:
        """Scores ``[..., N_image_tokens]`` -> ``[..., gh, gw]`` on the image (padding cropped)."""
        if self.family in ("paligemma", "gemma3"):  # Gemma 3 pools to a square grid too
            return grids.paligemma_token_grid(scores)
        if self.grid_thw is not None:
            return grids.qwen_token_grid(scores, self.grid_thw, self.merge)
        if self.family == "idefics3":
            mosaic, glob = grids.idefics3_split_tokens(scores, self.rows, self.cols)
            glob = self._crop(glob)
            if mosaic is None:
                return glob
            return grids.combine_fine_coarse(mosaic, glob) if scores.ndim == 1 else mosaic
        raise ValueError(f"no token layout for family {self.family}")

    def pixel_map(self, rel: np.ndarray) -> np.ndarray:
        """Per-pixel relevance of the model input (``[C, H, W]`` or Idefics3 ``[n, C, S, S]``)
        -> ``[H, W]``."""
        if self.family in ("paligemma", "gemma3"):
            return np.abs(rel).sum(axis=0)
        if self.grid_thw is not None:
            img = grids.qwen_pixels_to_image(
                rel, self.grid_thw, self.merge, self.patch, self.temporal
            )
            return np.abs(img).sum(axis=0)
        if self.family == "idefics3":
            mosaic, glob = grids.idefics3_pixels_to_image(rel, self.rows, self.cols)
            glob_map = self._crop(np.abs(glob).sum(axis=0))
            if mosaic is None:
                return glob_map
            return grids.combine_fine_coarse(np.abs(mosaic).sum(axis=0), glob_map)
        raise ValueError(f"no pixel layout for family {self.family}")

    def _crop(self, m: np.ndarray) -> np.ndarray:
        fh, fw = self.valid
        if fh >= 1.0 and fw >= 1.0:
            return m
        h = max(1, int(np.ceil(m.shape[-2] * fh)))
        w = max(1, int(np.ceil(m.shape[-1] * fw)))
        return m[..., :h, :w]


def layouts_for_batch(
    family: str, batch: dict, tokenizer: Any, vision_config: Any = None
) -> list[ImageLayout]:
    """One `ImageLayout` per example of a collated batch (`vision_config`: the model's, for the
    patch and merge sizes of the Qwen families)."""
    n = batch["input_ids"].shape[0]
    if family in ("paligemma", "gemma3"):
        return [ImageLayout(family) for _ in range(n)]
    if "image_grid_thw" in batch:  # one image per example, patches concatenated in batch order
        out, start = [], 0
        for thw in batch["image_grid_thw"].tolist():
            rows = int(thw[0] * thw[1] * thw[2])
            out.append(
                ImageLayout(
                    family,
                    grid_thw=(int(thw[0]), int(thw[1]), int(thw[2])),
                    pixel_rows=(start, start + rows),
                    merge=int(getattr(vision_config, "spatial_merge_size", 2)),
                    patch=int(getattr(vision_config, "patch_size", 14)),
                    temporal=int(getattr(vision_config, "temporal_patch_size", 2)),
                )
            )
            start += rows
        return out
    out = []
    for b in range(n):
        text = tokenizer.decode(batch["input_ids"][b].tolist(), skip_special_tokens=False)
        pairs = [(int(r), int(c)) for r, c in _ROW_COL.findall(text)]
        rows = max((r for r, _ in pairs), default=0)
        cols = max((c for _, c in pairs), default=0)
        valid = (1.0, 1.0)
        pam = batch.get("pixel_attention_mask")
        if pam is not None:
            g = pam[b, rows * cols].bool()  # the global image's mask
            h_valid = int(g.any(dim=1).sum())
            w_valid = int(g.any(dim=0).sum())
            valid = (h_valid / g.shape[0], w_valid / g.shape[1])
        out.append(ImageLayout(family, rows, cols, valid))
    return out
