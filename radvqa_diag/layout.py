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

    def token_map(self, scores: np.ndarray) -> np.ndarray:
        """Scores ``[..., N_image_tokens]`` -> ``[..., gh, gw]`` on the image (padding cropped)."""
        if self.family == "paligemma":
            return grids.paligemma_token_grid(scores)
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
        if self.family == "paligemma":
            return np.abs(rel).sum(axis=0)
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


def layouts_for_batch(family: str, batch: dict, tokenizer: Any) -> list[ImageLayout]:
    """One `ImageLayout` per example of a collated batch."""
    n = batch["input_ids"].shape[0]
    if family == "paligemma":
        return [ImageLayout(family) for _ in range(n)]
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
