"""Train one arm for one seed: a fresh scratch model, the arm's stages in order.

Examples are encoded once per experiment (`Prepared`) and shared by every arm and seed; the
question-only arm gets the same features with the blank (mid-grey) picture.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radvqa_data.core.answers import is_closed
from radvqa_data.core.errors import InputError
from radvqa_experiment.data import ExperimentData
from radvqa_experiment.recipe import Arm, Recipe
from radvqa_experiment.trainer import Encoder, generate, scored_rows, train


@dataclass
class Prepared:
    """Encoded features of every split (training layout for train/synthetic, prompts for eval),
    synthetic per data version, and the encoder (its picture cache serves the scoring)."""

    benchmark: list[dict]
    synthetic: dict[str, list[dict]]
    val: list[dict]
    test: list[dict]
    encoder: Encoder
    captions: list[dict] = dataclasses.field(default_factory=list)  # alignment stage


def prepare(processor: Any, family: str, data: ExperimentData, image_size: int) -> Prepared:
    """Encode every split once (pictures decoded once, one pixel tensor per picture)."""
    enc = Encoder(processor, family, image_size)
    return Prepared(
        enc.encode(data.train, answers=True),
        {name: enc.encode(rows, answers=True) for name, rows in data.versions.items()},
        enc.encode(data.val, answers=False),
        enc.encode(data.test, answers=False),
        enc,
        enc.encode(data.captions, answers=True),
    )


def blanked(feats: list[dict], enc: Encoder) -> list[dict]:
    """The same features on the blank picture `radvqa_train.evaluate` ablates with (mid-grey):
    an arm trained blind sees at test exactly what the blank ablation shows it."""
    if not feats:
        return feats
    grey = enc.encode([{**feats[0]["_row"], "image_path": None}], answers=False)[0]
    return [{**f, "pixel_values": grey["pixel_values"]} for f in feats]


def closed_accuracy(rows: list[dict]) -> float:
    closed = [r for r in rows if is_closed(r["answer_type"])]
    return sum(r["correct"] for r in closed) / max(len(closed), 1)


def vision_dir(out: Path) -> Path:
    """Where the experiment's pretrained label encoder lives (OUT/vision)."""
    return Path(out) / "vision"


def build_seed_model(recipe: Recipe, out: Path, seed: int) -> Path:
    from radvqa_train.tiny_model import build_scratch_model

    m = recipe.model
    return build_scratch_model(
        out,
        hidden=m.hidden,
        layers=m.layers,
        heads=m.heads,
        image_size=m.image_size,
        patch=m.patch,
        seed=seed,
    )


def run_arm(
    name: str,
    arm: Arm,
    recipe: Recipe,
    prep: Prepared,
    model_dir: Path,
    seed: int,
    log: Any = print,
    overrides: dict | None = None,
    vision: Path | None = None,
) -> tuple[Any, Any, dict]:
    """(trained model, processor, info) of `arm` from the scratch model in `model_dir`.

    `overrides`: TrainSettings fields replaced in every stage (validation sweeps). `vision`:
    the saved label encoder, swapped in when the arm's ``vision`` is ``label_encoder``.
    """
    import torch

    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model

    torch.manual_seed(seed)
    model, processor = load_model(str(model_dir))
    family_of(model)
    if arm.vision == "label_encoder":
        from radvqa_experiment.vision import swap_in

        if vision is None:
            raise InputError(f"arm {name}: vision label_encoder needs the pretrained encoder")
        swap_in(model, vision)
    pad = processor.tokenizer.pad_token_id
    if arm.data not in prep.synthetic:
        raise InputError(
            f"arm {name}: data version '{arm.data}' not given "
            f"(pass --data {arm.data}=DIR; known: {', '.join(prep.synthetic)})"
        )
    sources = {
        "benchmark": prep.benchmark,
        "synthetic": prep.synthetic[arm.data],
        "captions": prep.captions,
    }
    for stage_name in arm.stages:
        if "captions" in recipe.stages[stage_name].data and not prep.captions:
            raise InputError(
                f"arm {name}: stage {stage_name} trains on captions, but no caption rows were "
                "read (MedPix train captions of the audited synthetic pictures)"
            )
    enc = prep.encoder
    val = blanked(prep.val, enc) if arm.blank_images else prep.val

    def val_score(m: Any) -> float:
        answers = generate(m, processor, val, max_new_tokens=recipe.max_new_tokens)
        return closed_accuracy(scored_rows(val, answers))

    info: dict = {"stages": []}
    t0 = time.perf_counter()
    for i, stage_name in enumerate(arm.stages):
        stage = recipe.stages[stage_name]
        settings = dataclasses.replace(stage.settings, **(overrides or {}))
        mixture = [
            (blanked(sources[s], enc) if arm.blank_images else sources[s], share)
            for s, share in stage.data.items()
        ]
        summary = train(
            model,
            pad,
            mixture,
            settings,
            seed * 100 + i,
            val=val_score,
            log=log,
            label=f"{name} seed {seed} {stage_name}",
        )
        info["stages"].append({"stage": stage_name, **summary})
    info["seconds"] = round(time.perf_counter() - t0, 1)
    info["val_closed_accuracy"] = round(val_score(model), 4)
    return model, processor, info
