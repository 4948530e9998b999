"""Train one arm for one seed: a fresh scratch model, the arm's stages in order.

Examples are encoded once per experiment (`Prepared`) and shared by every arm and seed; the
question-only arm gets the same features with blank (all-zero, i.e. mid-grey) pixels.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radvqa_data.core.answers import is_closed
from radvqa_train.experiment.data import ExperimentData
from radvqa_train.experiment.recipe import Arm, Recipe
from radvqa_train.experiment.trainer import Encoder, generate, scored_rows, train


@dataclass
class Prepared:
    """Encoded features of every split (training layout for train/synthetic, prompts for eval)."""

    benchmark: list[dict]
    synthetic: list[dict]
    val: list[dict]
    test: list[dict]


def prepare(processor: Any, family: str, data: ExperimentData, image_size: int) -> Prepared:
    enc = Encoder(processor, family, image_size)
    return Prepared(
        enc.encode(data.train, answers=True),
        enc.encode(data.synthetic, answers=True),
        enc.encode(data.val, answers=False),
        enc.encode(data.test, answers=False),
    )


def blanked(feats: list[dict]) -> list[dict]:
    """The same features with blank pictures (zeros after normalization: mid-grey)."""
    import torch

    if not feats:
        return feats
    zero = torch.zeros_like(feats[0]["pixel_values"])
    return [{**f, "pixel_values": zero} for f in feats]


def closed_accuracy(rows: list[dict]) -> float:
    closed = [r for r in rows if is_closed(r["answer_type"])]
    return sum(r["correct"] for r in closed) / max(len(closed), 1)


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
) -> tuple[Any, Any, dict]:
    """(trained model, processor, info) of `arm` from the scratch model in `model_dir`.

    `overrides`: TrainSettings fields replaced in every stage (validation sweeps).
    """
    import torch

    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model

    torch.manual_seed(seed)
    model, processor = load_model(str(model_dir))
    family_of(model)
    pad = processor.tokenizer.pad_token_id
    sources = {"benchmark": prep.benchmark, "synthetic": prep.synthetic}
    val = blanked(prep.val) if arm.blank_images else prep.val

    def val_score(m: Any) -> float:
        answers = generate(m, processor, val, max_new_tokens=recipe.max_new_tokens)
        return closed_accuracy(scored_rows(val, answers))

    info: dict = {"stages": []}
    t0 = time.perf_counter()
    for i, stage_name in enumerate(arm.stages):
        stage = recipe.stages[stage_name]
        settings = dataclasses.replace(stage.settings, **(overrides or {}))
        mixture = [
            (blanked(sources[s]) if arm.blank_images else sources[s], share)
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
