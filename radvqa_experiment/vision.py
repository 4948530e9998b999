"""A vision encoder that can read: the label model's conv encoder as a swap-in vision tower.

The label model (`radvqa_data.labels`, `radvqa-data label-issues`) is a small CNN trained on the
catalog's own modality, plane and region labels. Here it is trained once per experiment on
**leak-free** pictures only (`leak_free_pictures`), and its convolutional encoder replaces the
SigLIP tower of the PaliGemma-shaped scratch model (`swap_in`): the encoder's last feature map
(S/32 x S/32 cells of 128 channels at S px) becomes the image tokens, one linear layer maps them
to the tower's width, and the model's projector and language model are unchanged.

Why a swap-in and not the SigLIP tower's weights: the label model is a CNN, SigLIP a ViT; no
weight mapping exists. The swapped model trains, generates and is scored like any other
(`generate_answers` takes the loaded pair), but `save_pretrained` would write conv weights under
SigLIP names, so these arms save no model folder and the diag report is made on a scratch arm.

Leakage: an encoder pretrained on pictures VQA-RAD tests on would carry the benchmark into every
arm that uses it. `leak_free_pictures` keeps MedPix pictures of the *train* split whose rows
survived `audit --against vqa-rad --fix` (the audit drops every row on a picture it matched to a
VQA-RAD picture, pixels verified), so MedPix dev/test and every audited VQA-RAD match are out.

Adapter: `load_label_encoder` is the one place that reads a saved label model, through the
labels package's stable `radvqa_data.labels.encoder.load_label_encoder`; the pictures the
encoder was trained on are recorded in its folder's `training.json` (`EncoderInfo.trained_on`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from radvqa_data.core.atomic import write_json
from radvqa_data.core.errors import InputError

ENCODER_NAME = "encoder"  # OUT/vision/<name>.safetensors


def load_label_encoder(folder: Path) -> tuple[Any, Any]:
    """(conv encoder, its LabelModelConfig) of a saved label model, through the labels
    package's stable loader (`radvqa_data.labels.encoder`)."""
    from radvqa_data.labels.encoder import load_label_encoder as load

    encoder, info = load(Path(folder), ENCODER_NAME)
    return encoder, info.config


def leak_free_pictures(catalog: Path, synthetic_train: list[dict]) -> tuple[list[Any], dict]:
    """Label-model pictures that may be pretrained on, and the counts of what was left out.

    `synthetic_train`: audited synthetic rows of the MedPix *train* split (their images passed
    the audit against VQA-RAD). A picture qualifies when it is a label-model training picture
    (`Picture.train`: not a benchmark source, a checkable kind) and one of those images."""
    import duckdb

    from radvqa_data.labels.tasks import pictures

    allowed = {(r["source"], r["image_id"]) for r in synthetic_train}
    with duckdb.connect(str(catalog), read_only=True) as con:
        pics = pictures(con)
    keep = [p for p in pics if p.train and p.key in allowed]
    counts = {
        "catalog_pictures": len(pics),
        "benchmark_or_unlabelled_kind": sum(1 for p in pics if not p.train),
        "not_train_split_or_audit_removed": sum(
            1 for p in pics if p.train and p.key not in allowed
        ),
        "pretrained_on": len(keep),
    }
    return keep, counts


def pretrain_label_encoder(
    catalog: Path, synthetic_train: list[dict], out: Path, overrides: dict, log: Any = print
) -> dict:
    """Train the label model on leak-free pictures (85% of cases; 15% held out to show it
    reads the picture) and save it to `out` (resumable: a saved one is read back)."""
    import numpy as np

    from radvqa_data.labels.model import LabelModelConfig, save_model
    from radvqa_data.labels.pixels import decode_all
    from radvqa_data.labels.store import write_training
    from radvqa_data.labels.tasks import targets, task_classes
    from radvqa_data.labels.train import Job, assign_folds, fit, predict

    out = Path(out)
    if (out / "pretrain.json").is_file() and (out / f"{ENCODER_NAME}.safetensors").is_file():
        return json.loads((out / "pretrain.json").read_text())
    pics, counts = leak_free_pictures(catalog, synthetic_train)
    config = replace(LabelModelConfig(), **overrides)
    classes = task_classes(pics, config.min_class_images)
    if len(pics) < 8 or not classes:
        raise InputError(
            f"{catalog}: only {len(pics)} leak-free MedPix train pictures with labels "
            f"(classes {classes}); the pretrained-vision arms need the MedPix train images "
            "(shared data: medpix2-train-256, see its README)"
        )
    config = replace(config, classes=classes)
    x, failed = decode_all([p.image_path for p in pics], config.image_size, workers=1)
    y = {t: np.array(v, dtype=np.int64) for t, v in targets(pics, classes).items()}
    for i in failed:  # an unreadable picture trains nothing
        for t in y:
            y[t][i] = -1
    folds = assign_folds([p.group for p in pics], 7, config.seed)  # 1 of 7 folds: ~15% held out
    train_idx, held = np.where(folds != 0)[0], np.where(folds == 0)[0]
    log(f"pretraining the label encoder on {len(train_idx)} leak-free pictures ({counts})")
    model = fit(Job("pretrain", train_idx, held, config.seed), config, x, y, lambda: None)
    probs = predict(model, x[held])
    held_acc = {}
    for t, p in probs.items():
        ok = y[t][held] >= 0
        held_acc[t] = {
            "n": int(ok.sum()),
            "accuracy": round(float((p.argmax(1)[ok] == y[t][held][ok]).mean()), 4)
            if ok.any()
            else None,
            "majority": round(float(np.bincount(y[t][held][ok]).max() / ok.sum()), 4)
            if ok.any()
            else None,
        }
    save_model(model, config, out, ENCODER_NAME)
    # which pictures trained it, so EncoderInfo.trained_on can be checked against a benchmark
    write_training(out, [pics[i].key for i in train_idx], folds[train_idx])
    info = {
        "pictures": counts,
        "failed_decodes": len(failed),
        "image_size": config.image_size,
        "epochs": config.epochs,
        "classes": {t: len(v) for t, v in classes.items()},
        "held_out_cases_accuracy": held_acc,
    }
    write_json(out / "pretrain.json", info)
    return info


def swap_in(model: Any, folder: Path, *, freeze: bool = True) -> Any:
    """Replace `model`'s SigLIP vision tower by the label encoder saved in `folder`.

    The encoder reads the picture as grey in [0, 1] (the label model's input) at the model's
    image size; its last feature map is pooled to the model's grid of image tokens (sqrt of
    `num_image_tokens` per side) and linearly mapped to the tower's width. `freeze`: the conv
    weights and batch-norm statistics stay as pretrained (only the linear map and everything
    above it train), so the small VQA sets cannot wash out what the labels taught."""
    import math

    import torch
    from torch import nn
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    encoder, cfg = load_label_encoder(folder)
    convs = nn.Sequential(*list(encoder)[:-2])  # drop AdaptiveAvgPool2d(2) + Flatten
    n_tokens = int(model.config.text_config.num_image_tokens or 0) or int(
        model.config.vision_config.num_image_tokens
    )
    grid = math.isqrt(n_tokens)
    if grid * grid != n_tokens:
        raise InputError(f"{n_tokens} image tokens is not a square grid: cannot swap in a CNN")
    width = model.config.vision_config.hidden_size

    class LabelEncoderTower(nn.Module):
        """CNN feature map -> image tokens of the vision tower's width."""

        def __init__(self) -> None:
            super().__init__()
            self.convs = convs
            self.pool = nn.AdaptiveAvgPool2d(grid)
            self.proj = nn.Linear(cfg.widths[-1], width)
            self.frozen = freeze
            if freeze:  # the experiment's trainer skips parameters marked so
                for p in self.convs.parameters():
                    p.requires_grad_(False)
                    p.radvqa_frozen = True

        def train(self, mode: bool = True) -> LabelEncoderTower:
            super().train(mode)
            if self.frozen:  # keep batch-norm statistics as pretrained
                self.convs.eval()
            return self

        def forward(self, pixel_values: torch.Tensor, **_: Any) -> BaseModelOutputWithPooling:
            grey = (pixel_values.float().mean(1, keepdim=True) + 1) / 2  # [-1, 1] -> [0, 1]
            fmap = self.pool(self.convs(grey))  # [B, C, grid, grid]
            tokens = self.proj(fmap.flatten(2).transpose(1, 2))
            return BaseModelOutputWithPooling(last_hidden_state=tokens)

    model.model.vision_tower = LabelEncoderTower()
    return model
