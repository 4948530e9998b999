"""Experiment recipes: the model size, the training stages and the arms, from checked-in YAML.

An arm is a list of stage names trained one after another on one model, from scratch; the last
stage keeps the epoch with the best validation closed accuracy. ``blank_images: true`` trains
and scores the arm on blank pictures (the language prior). A stage's ``data`` maps a source
(``benchmark``: VQA-RAD train minus validation; ``synthetic``: the audited synthetic QA;
``captions``: image-caption alignment on the MedPix train captions of the same audited pictures,
the paper's stage 1) to the rows drawn per epoch as a multiple of that source's size (0.25: a
quarter of it). ``extra: true`` arms run only when ``--arms`` names them; an arm whose ``data``
version is not given is left out the same way unless named.

``data: NAME`` makes an arm draw its ``synthetic`` rows from data version NAME (a folder given
as ``--data NAME=DIR``; default: the ``--shards`` folder), so data versions are compared in one
call. ``vision: label_encoder`` swaps the pretrained label-model encoder in for the scratch
vision tower (`radvqa_experiment.vision`); ``vision_pretrain`` holds its `LabelModelConfig`
settings. ``compare: [[a, b], ...]`` adds paired comparisons to the default ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radvqa_data.core.errors import ConfigError, InputError
from radvqa_experiment.trainer import TrainSettings

SOURCES = ("benchmark", "synthetic", "captions")
VISIONS = ("scratch", "label_encoder")


@dataclass
class ModelSize:
    hidden: int = 128  # higher: more capacity, slower (192: 0.6x the samples/s)
    layers: int = 4
    heads: int = 4
    image_size: int = 128  # pixels per side (the label model's size: plane and region need it)
    patch: int = 32  # 128/32 = 16 image tokens, as 64 px / patch 16 before: same sequence cost


@dataclass
class Stage:
    data: dict[str, float]
    settings: TrainSettings


@dataclass
class Arm:
    stages: list[str]
    blank_images: bool = False
    description: str = ""
    data: str = "default"  # the data version its synthetic rows come from
    vision: str = "scratch"  # scratch | label_encoder (pretrained, swapped in)
    extra: bool = False  # run only when --arms names it (variants already recorded)


@dataclass
class Recipe:
    description: str
    model: ModelSize
    stages: dict[str, Stage]
    arms: dict[str, Arm]
    seeds: int = 3
    val_fraction: float = 0.15  # share of VQA-RAD train images held out for choosing settings
    max_new_tokens: int = 8
    quick: dict[str, Any] = field(default_factory=dict)  # overrides applied by --quick
    vision_pretrain: dict[str, Any] = field(default_factory=dict)  # LabelModelConfig settings
    compare: list[list[str]] = field(default_factory=list)  # extra (a, b) comparisons


def uses_captions(recipe: Recipe) -> bool:
    """Whether an arm of `recipe` trains a stage on the ``captions`` source."""
    return any(
        "captions" in recipe.stages[s].data for arm in recipe.arms.values() for s in arm.stages
    )


def _fields(cls: type, raw: dict, where: str, errors: list[str]) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    for k in raw:
        if k not in names:
            errors.append(f"{where}.{k}: unknown key (known: {', '.join(sorted(names))})")
    return {k: v for k, v in raw.items() if k in names}


def parse_recipe(raw: dict, *, quick: bool = False) -> Recipe:
    """Validate a recipe mapping (all problems in one ConfigError)."""
    errors: list[str] = []
    if quick:
        raw = _merge(raw, raw.get("quick") or {})
    model = ModelSize(**_fields(ModelSize, raw.get("model") or {}, "model", errors))
    stages: dict[str, Stage] = {}
    for name, s in (raw.get("stages") or {}).items():
        s = dict(s or {})
        data = s.pop("data", None) or {}
        for src, share in data.items():
            if src not in SOURCES:
                errors.append(
                    f"stages.{name}.data.{src}: unknown source (known: {', '.join(SOURCES)})"
                )
            if not isinstance(share, (int, float)) or share <= 0:
                errors.append(f"stages.{name}.data.{src}: expected a positive number")
        if not data:
            errors.append(f"stages.{name}.data: at least one source")
        stages[name] = Stage(
            data, TrainSettings(**_fields(TrainSettings, s, f"stages.{name}", errors))
        )
    arms: dict[str, Arm] = {}
    for name, a in (raw.get("arms") or {}).items():
        arm = Arm(**_fields(Arm, a or {}, f"arms.{name}", errors))
        for st in arm.stages:
            if st not in stages:
                errors.append(f"arms.{name}: unknown stage '{st}'")
        if arm.vision not in VISIONS:
            errors.append(f"arms.{name}.vision: '{arm.vision}' (known: {', '.join(VISIONS)})")
        arms[name] = arm
    for required in ("question_only", "benchmark"):
        if required not in arms:
            errors.append(f"arms.{required}: required (the comparisons are made against it)")
    for pair in raw.get("compare") or []:
        if not (isinstance(pair, list) and len(pair) == 2 and all(p in arms for p in pair)):
            errors.append(f"compare: {pair!r} is not a pair of arm names")
    if raw.get("vision_pretrain"):
        from radvqa_data.labels.model import LabelModelConfig

        _fields(LabelModelConfig, raw["vision_pretrain"], "vision_pretrain", errors)
    top = _fields(
        Recipe,
        {k: v for k, v in raw.items() if k not in ("model", "stages", "arms")},
        "recipe",
        errors,
    )
    if errors:
        raise ConfigError("invalid experiment recipe: " + "; ".join(errors))
    return Recipe(model=model, stages=stages, arms=arms, **{"description": "", **top})


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_recipe(recipe: str, *, quick: bool = False) -> Recipe:
    """A YAML path, or the name of a recipe shipped in `radvqa_experiment/recipes/`."""
    p = Path(recipe)
    if not (p.suffix in (".yaml", ".yml") or p.exists()):
        p = Path(str(resources.files("radvqa_experiment").joinpath(f"recipes/{recipe}.yaml")))
    if not p.is_file():
        raise InputError(f"experiment recipe '{recipe}' not found (a YAML file or a shipped name)")
    try:
        raw = yaml.safe_load(p.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: not valid YAML ({exc})") from exc
    return parse_recipe(raw, quick=quick)


def select_arms(
    recipe: Recipe, arms: str | None, versions: Collection[str] | None = None
) -> tuple[Recipe, list[str]]:
    """The recipe restricted to a comma-separated list of arms, and the arms left out (with
    why, for the default selection).

    None: every arm that is not ``extra`` and whose data version is in `versions` (None: all
    versions count as given). ``+A,B``: that default selection plus A and B (a resumed run
    adds arms to a finished one). `question_only` and `benchmark` are always kept: every
    comparison is made against them. A named arm is always kept (a missing data version is
    then an error of the run)."""
    default = {
        k
        for k, a in recipe.arms.items()
        if not a.extra and (versions is None or a.data in versions)
    }
    spec = (arms or "").strip()
    wanted = [a.strip() for a in spec.lstrip("+").split(",") if a.strip()]
    unknown = [a for a in wanted if a not in recipe.arms]
    if unknown:
        raise InputError(
            f"--arms {arms}: unknown arm(s) {', '.join(unknown)} "
            f"(recipe arms: {', '.join(recipe.arms)})"
        )
    keep = {"question_only", "benchmark", *wanted}
    if not wanted or spec.startswith("+"):
        keep |= default
    left = [
        f"{k} ({'extra' if a.extra else 'data version ' + a.data + ' not given'})"
        if k not in default
        else k
        for k, a in recipe.arms.items()
        if k not in keep
    ]
    return _restricted(recipe, keep), left


def _restricted(recipe: Recipe, keep: set[str]) -> Recipe:
    return dataclasses.replace(
        recipe,
        arms={k: v for k, v in recipe.arms.items() if k in keep},
        compare=[p for p in recipe.compare if set(p) <= keep],
    )


def shipped_recipes() -> list[tuple[str, str]]:
    """(name, first line of the description) of every recipe in `radvqa_experiment/recipes/`."""
    folder = resources.files("radvqa_experiment").joinpath("recipes")
    out = []
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if f.name.endswith(".yaml"):
            raw = yaml.safe_load(f.read_text("utf-8")) or {}
            out.append((f.name[: -len(".yaml")], str(raw.get("description", "")).split(". ")[0]))
    return out
