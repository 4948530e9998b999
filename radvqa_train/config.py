"""Typed training config: recipes in YAML, `key=value` overrides, validated all at once.

A recipe is a YAML file (or the name of one shipped in `radvqa_train/recipes/`). Overrides use
dotted paths; list items by index or, for stages, by name: ``stages.0.max_steps=3``,
``stages.qa.lr=1e-4``, ``model=out/tiny``. Values are parsed as YAML (``3``, ``1e-4``, ``[a, b]``).
Every problem is collected and reported in one ConfigError.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from radvqa_data.core.errors import ConfigError, InputError

#: What a stage trains: the projector only, LoRA on the language model (and the projector),
#: LoRA on the vision tower too, or every weight.
TrainMode = Literal["projector", "lora_lm", "lora_lm_vision", "full"]
#: Learning-rate schedule after the warmup.
Schedule = Literal["cosine", "linear", "constant"]
#: Compute precision of the forward and backward pass.
Precision = Literal["fp32", "bf16"]
TRAIN_MODES: tuple[str, ...] = get_args(TrainMode)
SCHEDULES: tuple[str, ...] = get_args(Schedule)
PRECISIONS: tuple[str, ...] = get_args(Precision)
DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraSpec:
    r: int = 8  # higher: more capacity and memory
    alpha: int = 16  # scale of the update is alpha / r
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    # vision-tower module names used when train=lora_lm_vision (SigLIP/Idefics3, then Qwen names)
    vision_targets: list[str] = field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "out_proj",
            "fc1",
            "fc2",
            "qkv",
            "proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )


@dataclass
class DataSpec:
    spec: str  # synthetic[:SPLIT] | NAME:SPLIT | captions[:SOURCE]
    weight: float = 1.0  # mixing weight: share of draws from this source within the stage
    sources: list[str] | None = None  # keep only these catalog sources
    question_types: list[str] | None = None
    answer_types: list[str] | None = None  # closed / open
    limit: int | None = None  # first N rows after filters (quick runs)
    # `radvqa-data review pull` file: drop rejected rows, use corrected answers (docs/review.md)
    decisions: str | None = None


@dataclass
class EvalSpec:
    data: str | None = None  # spec of the held-out set; None: no evaluation during the stage
    every: int = 0  # evaluate every N optimizer steps (0: only at the end)
    limit: int = 64  # rows of the eval set used for the eval loss


@dataclass
class StageConfig:
    """One training stage: its data mix, what it trains and how. Stages differ by config only;
    a stage starts from the previous stage's adapter. A recipe's YAML is checked against these
    fields (unknown keys, required fields, the `Literal` choices) all at once by `load_config`."""

    name: str
    data: list[DataSpec]
    train: TrainMode = "lora_lm"
    lora: LoraSpec = field(default_factory=LoraSpec)
    lr: float = 2e-4
    schedule: Schedule = "cosine"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    epochs: float | None = 1.0  # used when max_steps is None
    max_steps: int | None = None  # optimizer steps; wins over epochs
    batch_size: int = 8  # per process
    grad_accum: int = 1  # micro-batches per optimizer step
    max_length: int = 512  # tokens incl. image tokens; longer text is shortened, never image tokens
    precision: Precision = "fp32"
    load_in_4bit: bool = False  # GPU only (bitsandbytes)
    seed: int = 0
    log_every: int = 1
    save_every: int = 50  # checkpoint cadence in optimizer steps
    keep_checkpoints: int = 2
    eval: EvalSpec = field(default_factory=EvalSpec)


@dataclass
class ImageSpec:
    """Pixel bounds per image for processors that resize dynamically (Qwen2.5-VL, Qwen3-VL):
    image tokens = pixels / (patch x merge)^2, so `max_pixels` bounds them and with them the
    `max_length` an example needs. None keeps the processor's own bound (the published Qwen
    processors allow 12.8-16.7 M pixels: thousands of tokens for a large scan). Applied to the
    processor in training and saved with every stage folder, so eval and diag resize alike."""

    min_pixels: int | None = None
    max_pixels: int | None = None


@dataclass
class TrainConfig:
    """A recipe: the starting model and its stages, in order (saved resolved next to every run's
    output)."""

    model: str  # local directory or hub id of the starting model
    stages: list[StageConfig]
    description: str = ""
    image: ImageSpec = field(default_factory=ImageSpec)


def _build(cls: type, raw: Any, where: str, errors: list[str]) -> Any:
    """Construct dataclass `cls` from a dict, collecting (not raising) every problem."""
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a mapping, got {type(raw).__name__}")
        return None
    names = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            errors.append(f"{where}.{key}: unknown key (known: {', '.join(names)})")
    kwargs: dict[str, Any] = {}
    nested = {"lora": LoraSpec, "eval": EvalSpec}
    for name, f in names.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                errors.append(f"{where}.{name}: required")
            continue
        value = raw[name]
        if name in nested and cls is StageConfig:
            value = _build(nested[name], value or {}, f"{where}.{name}", errors)
        elif name == "data" and cls is StageConfig:
            items = value if isinstance(value, list) else [value]
            value = [
                _build(
                    DataSpec, {"spec": d} if isinstance(d, str) else d, f"{where}.data.{i}", errors
                )
                for i, d in enumerate(items)
            ]
        elif name == "image" and cls is TrainConfig:
            value = _build(ImageSpec, value or {}, name, errors)
        elif name == "stages" and cls is TrainConfig:
            value = [
                _build(StageConfig, s, f"stages.{i}", errors) for i, s in enumerate(value or [])
            ]
        kwargs[name] = value
    try:
        return cls(**{k: v for k, v in kwargs.items() if k in names})
    except TypeError as exc:
        errors.append(f"{where}: {exc}")
        return None


def _check(cfg: TrainConfig, errors: list[str]) -> None:
    if not cfg.stages:
        errors.append("stages: at least one stage is required")
    if cfg.image is not None:
        bounds = {"min_pixels": cfg.image.min_pixels, "max_pixels": cfg.image.max_pixels}
        for key, v in bounds.items():
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                errors.append(f"image.{key}: expected a positive integer (pixels), got {v!r}")
        lo, hi = bounds.values()
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            errors.append(f"image: min_pixels={lo} is above max_pixels={hi}")
    seen: set[str] = set()
    for i, s in enumerate(cfg.stages):
        w = f"stages.{i} ({s.name})"
        if s.name in seen or not str(s.name).replace("-", "_").isidentifier():
            errors.append(f"{w}.name: must be unique and a plain word (it names the output folder)")
        seen.add(s.name)
        if s.train not in TRAIN_MODES:
            errors.append(f"{w}.train: '{s.train}' is not one of {', '.join(TRAIN_MODES)}")
        if s.schedule not in SCHEDULES:
            errors.append(f"{w}.schedule: '{s.schedule}' is not one of {', '.join(SCHEDULES)}")
        if s.precision not in PRECISIONS:
            errors.append(f"{w}.precision: '{s.precision}' is not one of {', '.join(PRECISIONS)}")
        for key in (
            "batch_size",
            "grad_accum",
            "max_length",
            "log_every",
            "save_every",
            "keep_checkpoints",
        ):
            if not isinstance(getattr(s, key), int) or getattr(s, key) < 1:
                errors.append(f"{w}.{key}: expected a positive integer, got {getattr(s, key)!r}")
        if not isinstance(s.lr, (int, float)) or s.lr <= 0:
            errors.append(f"{w}.lr: expected a positive number, got {s.lr!r}")
        if s.max_steps is None and (not isinstance(s.epochs, (int, float)) or s.epochs <= 0):
            errors.append(f"{w}: set max_steps or a positive epochs")
        if s.max_steps is not None and (not isinstance(s.max_steps, int) or s.max_steps < 1):
            errors.append(f"{w}.max_steps: expected a positive integer, got {s.max_steps!r}")
        if not s.data:
            errors.append(f"{w}.data: at least one data source is required")
        for j, d in enumerate(s.data or []):
            if d is not None and (not isinstance(d.weight, (int, float)) or d.weight <= 0):
                errors.append(f"{w}.data.{j}.weight: expected a positive number")


def _set_path(raw: dict, dotted: str, value: Any) -> None:
    """Set `raw[a][b][c] = value` for `a.b.c`; list steps by index or by item `name`."""
    keys = dotted.split(".")
    node: Any = raw
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            idx = next(
                (
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, dict) and item.get("name") == key
                ),
                None,
            )
            if idx is None and key.isdigit() and int(key) < len(node):
                idx = int(key)
            if idx is None:
                named = [str(it["name"]) for it in node if isinstance(it, dict) and "name" in it]
                known = (
                    f" (by index 0..{len(node) - 1} or name: {', '.join(named)})" if named else ""
                )
                raise ConfigError(f"override {dotted}: no list item '{key}'{known}")
            if last:
                node[idx] = value
            node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise ConfigError(f"override {dotted}: '{key}' is below a plain value")


def _parse_value(text: str) -> Any:
    """YAML value, with `1e-4` read as a number (YAML 1.1 reads it as a string)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def recipe_path(recipe: str) -> Path:
    """A YAML path as given, or the file of a shipped recipe name."""
    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise InputError(f"{p}: recipe file not found")
        return p
    shipped = resources.files("radvqa_train").joinpath(f"recipes/{recipe}.yaml")
    if not shipped.is_file():
        names = ", ".join(n for n, _ in list_recipes())
        raise InputError(
            f"recipe '{recipe}' not found: not a file and not a shipped recipe ({names})"
        )
    return Path(str(shipped))


def list_recipes() -> list[tuple[str, str]]:
    """(name, description) of the recipes shipped with the package."""
    folder = resources.files("radvqa_train").joinpath("recipes")
    out = []
    for f in sorted(folder.iterdir(), key=lambda x: x.name):
        if f.name.endswith(".yaml"):
            raw = yaml.safe_load(f.read_text("utf-8")) or {}
            out.append((f.name[:-5], str(raw.get("description", "")).strip()))
    return out


def load_config(
    recipe: str, *, overrides: list[str] | None = None, model: str | None = None
) -> TrainConfig:
    """Load a recipe, apply `key=value` overrides (and `--model`), validate, return it."""
    path = recipe_path(recipe)
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    for item in overrides or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"override '{item}': expected key=value (e.g. stages.0.max_steps=3)")
        _set_path(raw, key.strip(), _parse_value(value))
    if model is not None:
        raw["model"] = model
    errors: list[str] = []
    cfg = _build(TrainConfig, raw, "config", errors)
    if cfg is not None and all(s is not None for s in cfg.stages):
        _check(cfg, errors)
    if errors:
        raise ConfigError(f"{path}: invalid config: " + "; ".join(errors))
    return cfg


def to_dict(cfg: Any) -> dict:
    """Plain dict of a config (for saving the resolved config next to the outputs)."""
    return dataclasses.asdict(cfg)
