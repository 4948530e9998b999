"""Checks `radvqa-train run` makes before it trains anything.

A mistake in stage 3 used to surface after stages 1 and 2 had trained (hours on a GPU). Now
`preflight` reads every data source of every stage (and each stage's eval set) and loads the
model's config on the meta device first, and reports all problems at once, each naming where it
comes from: the recipe file, or the command-line override that set it, plus the valid stage
names. Recipe keys and override paths are checked by `config.load_config` before this runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from radvqa_data.core.errors import ConfigError, InputError
from radvqa_train.config import DataSpec, StageConfig, TrainConfig


def _origin(i: int, stage: StageConfig, field: str, overrides: list[str], recipe_file: str) -> str:
    """Where stage `i`'s `field` comes from: the last override that set it, else the recipe."""
    found = recipe_file
    for item in overrides:
        parts = item.partition("=")[0].strip().split(".")
        if parts[0] != "stages" or (len(parts) > 1 and parts[1] not in (str(i), stage.name)):
            continue
        if len(parts) <= 2 or parts[2] == field:
            found = f"override '{item}'"
    return found


def _check_source(d: DataSpec, shards: Path | None, catalog: Path | None) -> str | None:
    """Why source `d` yields no training rows (None when it has rows with images)."""
    from radvqa_data.reader import read_qa
    from radvqa_train.data import load_source

    try:
        every = read_qa(d.spec, shards=shards, catalog=catalog, require_images=False)
    except (InputError, ConfigError) as exc:
        return str(exc)
    if every.height == 0:
        return "the split is empty (0 rows)"
    try:
        load_source(d, shards=shards, catalog=catalog)
    except InputError:
        stats: dict = {}
        kept = read_qa(d.spec, shards=shards, catalog=catalog, stats=stats)
        if kept.height == 0:
            return f"none of its {every.height} rows has an image file on disk"
        return f"{kept.height} rows have images, but none is left after the filters"
    return None


def check_data(
    cfg: TrainConfig,
    *,
    shards: Path | None,
    catalog: Path | None,
    recipe_file: str,
    overrides: list[str] | None = None,
) -> list[str]:
    """Problems with the data of every stage (empty list: all sources have rows with images)."""
    names = ", ".join(s.name for s in cfg.stages)
    problems = []
    for i, stage in enumerate(cfg.stages):
        specs = [(f"data.{j}", d) for j, d in enumerate(stage.data)]
        if stage.eval.data:
            specs.append(("eval.data", DataSpec(spec=stage.eval.data, limit=stage.eval.limit)))
        for where, d in specs:
            origin = _origin(i, stage, where.split(".")[0], overrides or [], recipe_file)
            why = _check_source(d, shards, catalog)
            if why:
                problems.append(
                    f"{origin}: stage '{stage.name}' (stages.{i}, stages: {names}) {where} "
                    f"'{d.spec}': {why}"
                )
    return problems


def _leaf_names(model: Any, parents: tuple[str, ...]) -> dict[str, int]:
    """{leaf name: count} of the Linear modules inside the submodules named `parents`."""
    import torch

    pat = re.compile(rf"(^|\.)({'|'.join(parents)})\.")
    out: dict[str, int] = {}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and pat.search(name):
            leaf = name.rsplit(".", 1)[-1]
            out[leaf] = out.get(leaf, 0) + 1
    return out


def check_lora_targets(model: Any, stage: StageConfig, *, where: str = "recipe") -> dict:
    """LoRA targets of `stage` resolved against `model`'s module names: {"lm": {name: count},
    "vision": {...}}. Every language-model target must exist; of the vision targets (a list
    that spans families) at least one. Raises ConfigError listing the real names otherwise."""
    from radvqa_train.modeling import LM_NAMES, VISION_NAMES

    if stage.train not in ("lora_lm", "lora_lm_vision"):
        return {}
    lm = _leaf_names(model, LM_NAMES)
    missing = [t for t in stage.lora.targets if t not in lm]
    if missing:
        raise ConfigError(
            f"{where}: stage '{stage.name}' lora.targets {missing} match no module of the "
            f"language model; its Linear modules are: {', '.join(sorted(lm))}"
        )
    out = {"lm": {t: lm[t] for t in stage.lora.targets}}
    if stage.train == "lora_lm_vision":
        vis = _leaf_names(model, VISION_NAMES)
        hit = {t: vis[t] for t in stage.lora.vision_targets if t in vis}
        if not hit:
            raise ConfigError(
                f"{where}: stage '{stage.name}' lora.vision_targets match no module of the "
                f"vision tower; its Linear modules are: {', '.join(sorted(vis))}"
            )
        out["vision"] = hit
    return out


def check_model(cfg: TrainConfig, *, where: str) -> list[str]:
    """Problems with the starting model: readable config, supported family, LoRA targets,
    pixel bounds only where the processor has them.

    Built on the meta device from its config.json (no weights read). A hub id that is not a
    local folder is checked against the shipped real-size config when there is one."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    from radvqa_train.families import family_of

    path = Path(cfg.model)
    try:
        if path.is_dir():
            config = AutoConfig.from_pretrained(path)
        else:
            from radvqa_train.real_size import RealSpec, build_config, build_processor

            spec = RealSpec.for_model(cfg.model)
            config = build_config(spec, build_processor(spec))
        family_of(config)
        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(config)
    except (OSError, ValueError, ConfigError) as exc:
        if not path.is_dir() and isinstance(exc, ConfigError):
            return []  # a hub id we have no config for: checked when it loads
        return [f"{where}: model '{cfg.model}': {exc}"]
    problems = []
    from radvqa_train.processors import PIXEL_BOUND_TYPES

    bounded = cfg.image.min_pixels is not None or cfg.image.max_pixels is not None
    if bounded and config.model_type not in PIXEL_BOUND_TYPES:
        problems.append(
            f"{where}: image.min_pixels/max_pixels apply to Qwen-VL models only "
            f"(model '{cfg.model}' is {config.model_type}, its images have a fixed size)"
        )
    for stage in cfg.stages:
        try:
            check_lora_targets(model, stage, where=where)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def preflight(
    cfg: TrainConfig,
    *,
    shards: Path | None,
    catalog: Path | None,
    recipe_file: str = "recipe",
    overrides: list[str] | None = None,
) -> None:
    """Raise one ConfigError listing every data problem of `cfg`, else every model problem
    (see module doc). Data first: it needs no model class import (about 8 s), so a data
    mistake is reported in seconds."""
    problems = check_data(
        cfg, shards=shards, catalog=catalog, recipe_file=recipe_file, overrides=overrides
    )
    if not problems:
        problems = check_model(cfg, where=recipe_file)
    if problems:
        raise ConfigError("nothing trained; " + "; ".join(problems))
