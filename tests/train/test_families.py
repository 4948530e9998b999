"""Prompt formats and the collator: answer-only labels, text truncation, never image tokens."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from radvqa_train.families import build_inputs, encode_sample, image_token_id


@pytest.fixture(scope="module")
def processors(tiny_models):
    from transformers import AutoProcessor

    return {f: AutoProcessor.from_pretrained(p) for f, p in tiny_models.items()}


def _img():
    return Image.fromarray((np.random.default_rng(0).random((30, 40, 3)) * 255).astype("uint8"))


@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl", "gemma3", "qwen3_vl"])
def test_labels_cover_exactly_the_answer(family, processors):
    proc = processors[family]
    batch, mask = build_inputs(
        proc,
        family,
        [_img(), _img()],
        ["Is there a mass?", "What organ is shown here?"],
        ["yes", "left kidney"],
    )
    tok = proc.tokenizer
    for row in range(2):
        labelled = batch["labels"][row][batch["labels"][row] != -100].tolist()
        assert labelled == batch["input_ids"][row][mask[row]].tolist()
        text = tok.decode(labelled, skip_special_tokens=True).strip()
        assert text == ["yes", "left kidney"][row]
        assert labelled[-1] == tok.eos_token_id  # the model learns to stop
    assert (batch["input_ids"] == image_token_id(proc)).sum(dim=1).tolist()[0] > 0


@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl", "gemma3", "qwen3_vl"])
def test_generation_layout_is_left_padded_prompt(family, processors):
    proc = processors[family]
    batch, mask = build_inputs(
        proc, family, [_img(), _img()], ["Mass?", "What organ is shown in this image?"]
    )
    assert "labels" not in batch and not mask.any()
    assert batch["attention_mask"][0, 0] == 0 and batch["attention_mask"][:, -1].all()


@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl", "gemma3", "qwen3_vl"])
def test_too_long_text_is_shortened_and_impossible_fit_rejected(family, processors):
    proc = processors[family]
    question = (
        "Is there evidence of a large heterogeneous mass in the right upper lobe of the lung? " * 4
    )
    full = encode_sample(proc, family, _img(), question, "yes").features
    n_image = int((full["input_ids"] == image_token_id(proc)).sum())
    limit = len(full["input_ids"]) - 20
    enc = encode_sample(proc, family, _img(), question, "yes", max_length=limit)
    assert enc.truncated and len(enc.features["input_ids"]) <= limit
    assert int((enc.features["input_ids"] == image_token_id(proc)).sum()) == n_image  # image intact
    labelled = enc.features["input_ids"][enc.features["answer_mask"]]
    assert proc.tokenizer.decode(labelled, skip_special_tokens=True).strip() == "yes"
    assert encode_sample(proc, family, _img(), question, "yes", max_length=n_image).features is None


def test_collate_pads_varying_crop_counts_with_zero_crops():
    import torch

    from radvqa_train.families import collate

    def feat(n_tokens, n_crops):
        return {
            "input_ids": torch.arange(n_tokens),
            "attention_mask": torch.ones(n_tokens, dtype=torch.long),
            "answer_mask": torch.arange(n_tokens) >= n_tokens - 2,
            "pixel_values": torch.ones(n_crops, 3, 8, 8),
            "pixel_attention_mask": torch.ones(n_crops, 8, 8),
        }

    b = collate([feat(5, 1), feat(7, 3)], pad_id=0)
    assert b["pixel_values"].shape == (2, 3, 3, 8, 8) and b["pixel_values"][0, 1:].abs().sum() == 0
    assert b["labels"][0].tolist() == [-100, -100, -100, 3, 4, -100, -100]
    assert b["attention_mask"][0].tolist() == [1, 1, 1, 1, 1, 0, 0]
