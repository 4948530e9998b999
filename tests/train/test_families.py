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


@pytest.mark.parametrize("family", ["paligemma", "idefics3"])
def test_labels_cover_exactly_the_answer(family, processors):
    proc = processors[family]
    batch, mask = build_inputs(proc, family, [_img(), _img()], ["Is there a mass?", "What organ is shown here?"],
                               ["yes", "left kidney"])
    tok = proc.tokenizer
    for row in range(2):
        labelled = batch["labels"][row][batch["labels"][row] != -100].tolist()
        assert labelled == batch["input_ids"][row][mask[row]].tolist()
        text = tok.decode(labelled, skip_special_tokens=True).strip()
        assert text == ["yes", "left kidney"][row]
        assert labelled[-1] == tok.eos_token_id  # the model learns to stop
    assert (batch["input_ids"] == image_token_id(proc)).sum(dim=1).tolist()[0] > 0


@pytest.mark.parametrize("family", ["paligemma", "idefics3"])
def test_generation_layout_is_left_padded_prompt(family, processors):
    proc = processors[family]
    batch, mask = build_inputs(proc, family, [_img(), _img()], ["Mass?", "What organ is shown in this image?"])
    assert "labels" not in batch and not mask.any()
    assert batch["attention_mask"][0, 0] == 0 and batch["attention_mask"][:, -1].all()


@pytest.mark.parametrize("family", ["paligemma", "idefics3"])
def test_too_long_text_is_shortened_and_impossible_fit_rejected(family, processors):
    proc = processors[family]
    question = "Is there evidence of a large heterogeneous mass in the right upper lobe of the lung? " * 4
    full = encode_sample(proc, family, _img(), question, "yes").features
    n_image = int((full["input_ids"] == image_token_id(proc)).sum())
    limit = len(full["input_ids"]) - 20
    enc = encode_sample(proc, family, _img(), question, "yes", max_length=limit)
    assert enc.truncated and len(enc.features["input_ids"]) <= limit
    assert int((enc.features["input_ids"] == image_token_id(proc)).sum()) == n_image  # image intact
    labelled = enc.features["input_ids"][enc.features["answer_mask"]]
    assert proc.tokenizer.decode(labelled, skip_special_tokens=True).strip() == "yes"
    assert encode_sample(proc, family, _img(), question, "yes", max_length=n_image).features is None
