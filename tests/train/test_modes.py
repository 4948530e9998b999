"""What each train mode makes trainable, for both families (no training: cheap)."""

from __future__ import annotations

import pytest

from radvqa_train.config import StageConfig
from radvqa_train.modeling import load_model, prepare_for_stage

PARTS = {
    "paligemma": ("multi_modal_projector.", "language_model.", "vision_tower."),
    "idefics3": ("connector.", "text_model.", "vision_model."),
    "qwen2_5_vl": ("visual.merger.", "language_model.", "visual.blocks."),
}


@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl"])
@pytest.mark.parametrize("mode", ["projector", "lora_lm", "lora_lm_vision", "full"])
def test_train_mode_selects_parameters(family, mode, tiny_models):
    model, _ = load_model(str(tiny_models[family]))
    model = prepare_for_stage(model, StageConfig(name="s", data=[], train=mode))
    proj, lm, vision = PARTS[family]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    on = {part: any(part in n for n in trainable) for part in (proj, lm, vision)}
    if mode == "projector":
        assert on == {proj: True, lm: False, vision: False}
    elif mode == "full":
        assert len(trainable) == len(list(model.parameters()))
    else:
        assert all("lora_" in n for n in trainable)
        assert on[lm] and not on[proj]
        assert on[vision] == (mode == "lora_lm_vision")
        # attention and MLP of the LM are both targeted
        assert any(lm in n and "q_proj" in n for n in trainable) and any(
            lm in n and "down_proj" in n for n in trainable
        )
