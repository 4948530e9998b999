"""The from-scratch trainer learns from pixels: a planted task only the image can answer.

Each picture is grey noise around a bright or a dark level (the two overlap pixel by pixel);
the question is the same for all ("is the image bright?"), so the text alone is at chance
(0.5). The model must reach >= 0.9 on held-out pictures, and the same model scored on blank
pictures must stay near chance (it has nothing else to go on). About 10-20 s on 2 CPU threads.
"""

from __future__ import annotations

import random

import pytest

pytest.importorskip("transformers")


QUESTION = "is the image bright?"


def _planted(n: int, seed: int, size: int = 32) -> list[dict]:
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        bright = rng.random() < 0.5
        base = 150 if bright else 60  # overlapping noise: no single pixel decides
        pix = np.clip(base + nrng.normal(0, 40, (size, size)), 0, 255).astype("uint8")
        rows.append(
            {
                "image": Image.fromarray(pix).convert("RGB"),
                "question": QUESTION,
                "answer": "yes" if bright else "no",
                "answer_type": "closed",
                "id": str(i),
            }
        )
    return rows


def _encode(enc, rows, answers):
    feats = []
    for r in rows:
        enc._images[r["id"] + str(id(r))] = r["image"]
        feats += enc.encode([{**r, "image_path": r["id"] + str(id(r))}], answers=answers)
    return feats


def test_scratch_model_learns_the_marker_side_from_pixels(tmp_path):
    import torch

    from radvqa_experiment.trainer import (
        Encoder,
        TrainSettings,
        ablated_pixels,
        generate,
        scored_rows,
        train,
    )
    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model
    from radvqa_train.tiny_model import build_scratch_model

    torch.manual_seed(0)
    path = build_scratch_model(tmp_path / "m", hidden=64, layers=2, heads=4, image_size=32, patch=8)
    model, processor = load_model(str(path))
    enc = Encoder(processor, family_of(model), 32)
    train_rows, test_rows = _planted(384, 1), _planted(128, 2)
    feats = _encode(enc, train_rows, True)
    settings = TrainSettings(epochs=6, lr=2e-3, batch_size=32, augment=False)
    summary = train(model, processor.tokenizer.pad_token_id, [(feats, 1.0)], settings, seed=0)
    assert summary["curve"][-1]["loss"] < summary["curve"][0]["loss"]
    prompts = _encode(enc, test_rows, False)

    def accuracy(pixels=None):
        answers = generate(model, processor, prompts, max_new_tokens=2, pixels=pixels)
        return sum(r["correct"] for r in scored_rows(prompts, answers)) / len(prompts)

    acc = accuracy()
    blank = accuracy(ablated_pixels(prompts, "blank"))
    assert acc >= 0.9, summary
    assert abs(blank - 0.5) <= 0.15  # one answer for every blank picture: about half right


def test_max_rows_caps_the_rows_drawn_per_epoch(tmp_path):
    """A stage capped at 40 rows takes ceil(40 / 16) = 3 steps per epoch whatever the source
    size."""
    from radvqa_experiment.trainer import Encoder, TrainSettings, train
    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model
    from radvqa_train.tiny_model import build_scratch_model

    path = build_scratch_model(
        tmp_path / "m", hidden=32, layers=1, heads=2, image_size=32, patch=16
    )
    model, processor = load_model(str(path))
    enc = Encoder(processor, family_of(model), 32)
    feats = _encode(enc, _planted(100, 3), True)
    capped = train(
        model,
        processor.tokenizer.pad_token_id,
        [(feats, 1.0)],
        TrainSettings(epochs=2, batch_size=16, max_rows=40, augment=False),
        seed=0,
    )
    assert capped["steps"] == 6
    whole = train(
        model,
        processor.tokenizer.pad_token_id,
        [(feats, 1.0)],
        TrainSettings(epochs=1, batch_size=16, augment=False),
        seed=0,
    )
    assert whole["steps"] == 7  # 100 rows / 16
