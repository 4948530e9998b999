"""`radvqa-train run`: the stages of a recipe, one after the other.

Layout of OUT:
- ``config.yaml``: the resolved config (recipe + overrides + data locations).
- ``metrics.jsonl``: one JSON line per logging step of every stage.
- ``<stage>/``: the stage result, a plain transformers model + processor (LoRA merged in),
  plus ``adapter/`` (the LoRA adapter alone), ``checkpoints/`` and ``stage.json`` (summary).
  ``stage.json`` is written last: a stage folder without it is unfinished, and `--resume`
  continues it from its newest checkpoint. Stage N starts from stage N-1's folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from radvqa_data.core.atomic import write_json, write_text
from radvqa_data.core.errors import ConfigError, InputError
from radvqa_train.config import ImageSpec, TrainConfig, to_dict


def _check_out(out: Path, cfg: TrainConfig, resume: bool) -> None:
    started = (out / "metrics.jsonl").exists() or any((out / s.name).exists() for s in cfg.stages)
    if started and not resume:
        raise InputError(
            f"{out}: holds an earlier run; pass --resume to continue it or choose another --out"
        )
    saved = out / "config.yaml"
    if resume and saved.exists():  # resuming with other settings would mix two runs in one result
        old = yaml.safe_load(saved.read_text()) or {}
        new = to_dict(cfg)
        # a run saved before recipes had `image` used the default bounds
        old.setdefault("image", to_dict(ImageSpec()))
        diff = [k for k in ("model", "stages", "image") if old.get(k) != new.get(k)]
        if diff:
            raise ConfigError(
                f"{saved}: --resume with a config that differs from the run in {out} "
                f"(in: {', '.join(diff)}); rerun with the same recipe and overrides"
            )


def refuse_lora_on_random(cfg: TrainConfig) -> None:
    """LoRA trains small adapters on a frozen model: on random weights (a `scratch-model`) it
    learns next to nothing, slowly. Refuse it, naming the from-scratch path. The tiny model
    of `radvqa-train tiny-model` is a test fixture (plumbing only, `just demo`): allowed."""
    from radvqa_train.tiny_model import random_model_marker

    marker = random_model_marker(cfg.model)
    if marker is None or marker.get("weights") != "random" or marker.get("test_fixture"):
        return
    lora = [f"{s.name} ({s.train})" for s in cfg.stages if s.train.startswith("lora")]
    if lora:
        raise ConfigError(
            f"model {cfg.model}: random weights ({marker.get('made_by')}); LoRA on them would "
            f"train adapters on noise (stages {', '.join(lora)}); train it from scratch with "
            "`radvqa-experiment run` (docs/experiment.md), or train every weight with "
            "stages.N.train=full"
        )


def run_recipe(
    cfg: TrainConfig,
    *,
    out: Path,
    shards: Path | None = None,
    catalog: Path | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    check: bool = True,
    origin: str = "recipe",
    overrides: list[str] | None = None,
) -> list[dict]:
    """Train every stage of `cfg` into `out`; returns the stage summaries (see module doc).

    `stop_after` (optimizer steps in this call) makes a time-boxed run; rerun with `resume=True`.
    `check`: first validate every stage's data and the model (`radvqa_train.preflight`), so a
    mistake in a late stage fails before anything trains; `origin` (the recipe file) and
    `overrides` let its errors say where the mistake is.
    """
    refuse_lora_on_random(cfg)
    if check:  # before the heavy imports: a data mistake is reported in seconds
        from radvqa_train.preflight import preflight

        preflight(cfg, shards=shards, catalog=catalog, recipe_file=origin, overrides=overrides)
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from radvqa_train.data import load_source, load_stage
    from radvqa_train.families import family_of
    from radvqa_train.loop import train_stage
    from radvqa_train.modeling import load_model, prepare_for_stage
    from radvqa_train.processors import set_pixel_bounds
    from radvqa_train.tracking import MetricsLog

    out = Path(out)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    main = accelerator.is_main_process
    _check_out(out, cfg, resume)
    accelerator.wait_for_everyone()
    if main:
        resolved = {
            **to_dict(cfg),
            "data_locations": {
                "shards": str(shards) if shards else None,
                "catalog": str(catalog) if catalog else None,
            },
            "world_size": accelerator.num_processes,
        }
        write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    log = MetricsLog(out, [s.name for s in cfg.stages], enabled=main)
    start_model, summaries, remaining = cfg.model, [], stop_after
    for stage in cfg.stages:
        stage_dir = out / stage.name
        if (stage_dir / "stage.json").exists():
            summaries.append(json.loads((stage_dir / "stage.json").read_text()))
            start_model = str(stage_dir)
            continue
        t0 = time.perf_counter()
        set_seed(stage.seed)
        model, processor = load_model(
            start_model, precision=stage.precision, load_in_4bit=stage.load_in_4bit
        )
        # the recipe's pixel bounds (Qwen-VL); saved with the stage folder for eval and diag
        set_pixel_bounds(processor, cfg.image.min_pixels, cfg.image.max_pixels, where=origin)
        family = family_of(model)
        model = prepare_for_stage(model, stage)
        data = load_stage(stage, shards=shards, catalog=catalog)
        eval_rows = None
        if stage.eval.data:
            from radvqa_train.config import DataSpec

            ev = load_source(
                DataSpec(spec=stage.eval.data, limit=stage.eval.limit),
                shards=shards,
                catalog=catalog,
            )
            eval_rows = ev.to_dicts()
        set_seed(stage.seed + 1000 * accelerator.process_index)  # distinct dropout per process
        summary = train_stage(
            model,
            processor,
            family,
            stage,
            data,
            stage_dir,
            accelerator,
            log,
            resume=resume,
            eval_rows=eval_rows,
            stop_after=remaining,
            progress=progress,
        )
        if not summary["finished"]:
            summaries.append(summary)
            break
        if remaining is not None:
            remaining -= summary["steps"]
        trained = summary.pop("model")
        summary.update(
            stage=stage.name,
            start_model=start_model,
            family=family,
            rows=data.total,
            sources=data.specs,
            decisions=data.decisions,
            seconds=round(time.perf_counter() - t0, 2),
            world_size=accelerator.num_processes,
        )
        if main:
            _save_stage(trained, processor, stage_dir, summary, to_dict(stage))
        accelerator.wait_for_everyone()
        # the next stage loads the saved folder: free this stage's model and optimizer first
        # (accelerate's `prepare` keeps references to both), or the next stage holds two models
        # and the old AdamW state (GPU memory; RAM on a CPU)
        del model, trained
        accelerator.free_memory()
        summaries.append(summary)
        start_model = str(stage_dir)
    log.close()
    if main and progress:
        _print_summary(summaries)
    return summaries


def _save_stage(
    model: Any, processor: Any, stage_dir: Path, summary: dict, stage_cfg: dict
) -> None:
    """Adapter (if any), merged model + processor, then stage.json last (marks it finished)."""
    from radvqa_train.modeling import finalize, save_model_folder

    if hasattr(model, "peft_config"):
        model.save_pretrained(stage_dir / "adapter")
    merged = finalize(model)
    save_model_folder(merged, processor, stage_dir)
    write_json(stage_dir / "stage_config.json", stage_cfg)
    write_json(stage_dir / "stage.json", summary)


def _print_summary(summaries: list[dict]) -> None:
    from rich.table import Table

    from radvqa_data.core.console import results

    # cut: text shortened to fit max_length; reject: could not fit without cutting image tokens
    table = Table(title="radvqa-train run")
    for col in ("stage", "steps", "loss", "eval", "used", "cut", "reject", "bad img", "s"):
        table.add_column(col)
    for s in summaries:
        c = s.get("counts", {})
        table.add_row(
            str(s.get("stage", "?")),
            str(s.get("steps", s.get("step"))),
            f"{s['final_loss']:.4f}" if "final_loss" in s else "unfinished",
            f"{s['eval_loss']:.4f}" if "eval_loss" in s else "-",
            str(c.get("used", "-")),
            str(c.get("truncated", "-")),
            str(c.get("rejected_too_long", "-")),
            str(c.get("bad_image", "-")),
            str(s.get("seconds", "-")),
        )
    results().print(table)
