"""`radvqa-train experiment`: every arm x seed, scored once on VQA-RAD test, then the figures.

Layout of OUT:
- ``results.json``: ``arms.NAME.{closed_accuracy, closed_accuracy_yesno, open_recall,
  exact_match}.{mean,std,per_seed}``, ``arms.NAME.blank`` / ``.shuffle`` (the same metrics with
  blank or shuffled test pictures), ``arms.NAME.by_question_type``, ``baselines``,
  ``comparisons[]`` (``{a, b, metric, diff, ci95}``: paired bootstrap over test questions),
  ``data``, ``minutes``.
- ``results.md`` (the table) and ``closed_accuracy.png`` (mean and per-seed points with the
  bootstrap interval of each arm's test-question mean).
- ``predictions/ARM/seedN.parquet`` (+ ``-blank``/``-shuffle``): per-question scores.
- ``models/ARM/``: the seed-0 model of every arm (a plain transformers folder).
- ``report/``: `radvqa-diag report` on the best arm's seed-0 test predictions.
- ``runs.jsonl``: one line per finished arm x seed (validation curve, timing); a rerun skips them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from radvqa_data.core.answers import is_closed
from radvqa_data.core.atomic import write_json, write_parquet, write_text
from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import predictions_schema
from radvqa_train.experiment import stats
from radvqa_train.experiment.recipe import Recipe
from radvqa_train.metrics import METRIC_KEYS

ABLATIONS = ("blank", "shuffle")


def _write_preds(path: Path, rows: list[dict]) -> None:
    """The same predictions table `radvqa-train eval` writes (so `radvqa-diag` reads it)."""
    schema = predictions_schema(METRIC_KEYS, judge=False)
    write_parquet(
        path,
        pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema),
    )


def _score_test(
    model: Any, processor: Any, recipe: Recipe, test: list[dict], blank: bool, seed: int
) -> dict[str, list[dict]]:
    """Scored test rows: as trained (blank pictures for a blank arm), then the two ablations."""
    from radvqa_train.experiment.arm import blanked
    from radvqa_train.experiment.trainer import ablated_pixels, generate, scored_rows

    prompts = blanked(test) if blank else test
    out = {
        "test": scored_rows(
            prompts, generate(model, processor, prompts, max_new_tokens=recipe.max_new_tokens)
        )
    }
    for mode in ABLATIONS:
        px = ablated_pixels(test, mode, seed)
        out[mode] = scored_rows(
            test, generate(model, processor, test, pixels=px, max_new_tokens=recipe.max_new_tokens)
        )
    return out


_STATE: dict = {}  # per worker process: recipe, encoded features, output folder


def _init_worker(
    recipe: Recipe, catalog: Path, shards: Path, out: Path, limit: int | None, threads: int
) -> None:
    """Load and encode the data once per worker (each worker trains one arm x seed at a time)."""
    import torch

    from radvqa_train.experiment.arm import prepare
    from radvqa_train.experiment.data import load_experiment_data
    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model

    torch.set_num_threads(threads)
    data = load_experiment_data(catalog, shards, val_fraction=recipe.val_fraction, limit=limit)
    model, processor = load_model(str(out / "models" / "_scratch-seed0"))
    if limit is not None:  # quick mode: the model answers a slice of test (baselines use it all)
        data.test = data.test[:limit]
    _STATE.update(
        recipe=recipe,
        out=out,
        prep=prepare(processor, family_of(model), data, recipe.model.image_size),
    )


def _job(job: tuple[str, int]) -> dict:
    """Train and score one arm x seed in this worker; predictions go to OUT/predictions."""
    from radvqa_train.experiment.arm import run_arm

    name, seed = job
    recipe, out, prep = _STATE["recipe"], _STATE["out"], _STATE["prep"]
    arm = recipe.arms[name]
    model, processor, info = run_arm(
        name,
        arm,
        recipe,
        prep,
        out / "models" / f"_scratch-seed{seed}",
        seed,
        log=lambda m: print(m, flush=True),
    )
    scored = _score_test(model, processor, recipe, prep.test, arm.blank_images, seed)
    for k, rows in scored.items():
        _write_preds(_pred_path(out, name, seed, k), rows)
    if seed == 0:
        model.save_pretrained(out / "models" / name)
        processor.save_pretrained(out / "models" / name)
    return {
        "arm": name,
        "seed": seed,
        **info,
        "test_closed_accuracy": stats.metric(scored["test"], "closed_accuracy"),
    }


def _pred_path(out: Path, arm: str, seed: int, kind: str) -> Path:
    return out / "predictions" / arm / f"seed{seed}{'' if kind == 'test' else '-' + kind}.parquet"


def run_experiment(
    recipe: Recipe,
    *,
    catalog: Path,
    shards: Path,
    out: Path,
    seeds: int | None = None,
    audit: Path | None = None,
    limit: int | None = None,
    workers: int = 2,
    report: bool = True,
    log: Any = print,
) -> dict:
    """Train and score every arm x seed of `recipe`; write OUT (see module doc); return results.

    `limit` (quick mode): the first N rows of each training split, and of test for the model's
    answers and the report; the baselines and data counts still use the whole test split.

    `workers` processes of one torch thread each train arm x seed jobs side by side. Measured
    on the shared 2-core machine while other (niced) jobs ran: one 2-thread process trained
    14.5 samples/s, one 1-thread process 49.5 (threads of one process wait on each other
    whenever one is preempted), so two 1-thread workers beat one 2-thread process.
    """
    from radvqa_train.experiment.arm import build_seed_model
    from radvqa_train.experiment.data import load_experiment_data

    t0 = time.perf_counter()
    out = Path(out)
    n_seeds = seeds or recipe.seeds
    if n_seeds < 1:
        raise InputError(f"--seeds {n_seeds}: expected at least 1")
    if workers < 1:
        raise InputError(f"--workers {workers}: expected at least 1")
    data = load_experiment_data(catalog, shards, val_fraction=recipe.val_fraction, limit=limit)
    log(f"data: {data.counts()}")
    for seed in range(n_seeds):  # built here once, so workers never race on them
        if not (out / "models" / f"_scratch-seed{seed}" / "config.json").exists():
            build_seed_model(recipe, out / "models" / f"_scratch-seed{seed}", seed)
    done = _finished(out / "runs.jsonl")
    jobs = [(a, s) for s in range(n_seeds) for a in recipe.arms if (a, s) not in done]
    log(f"{len(jobs)} arm x seed runs to train ({len(done)} already done), {workers} worker(s)")
    init = (recipe, Path(catalog), Path(shards), out, limit, 1)

    def record(line: dict) -> None:
        with (out / "runs.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
        log(
            f"{line['arm']} seed {line['seed']}: test closed {line['test_closed_accuracy']:.4f} "
            f"(val {line['val_closed_accuracy']:.4f}, {line['seconds']} s)"
        )

    if jobs and workers == 1:
        _init_worker(*init[:-1], threads=2)
        for job in jobs:
            record(_job(job))
    elif jobs:
        import multiprocessing as mp

        # spawn, not fork: a forked child inherits torch's OpenMP pool state and can hang
        with mp.get_context("spawn").Pool(min(workers, len(jobs)), _init_worker, init) as pool:
            for line in pool.imap_unordered(_job, jobs):
                record(line)
    runs = {
        a: [
            {k: pl.read_parquet(_pred_path(out, a, s, k)).to_dicts() for k in ("test", *ABLATIONS)}
            for s in range(n_seeds)
        ]
        for a in recipe.arms
    }
    results = _results(recipe, runs, data, audit, n_seeds)
    results["runs"] = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines() if x]
    best = max(
        (a for a in recipe.arms if not recipe.arms[a].blank_images),
        key=lambda a: results["arms"][a]["closed_accuracy"]["mean"],
    )
    results["best_arm"] = best
    if report:
        from radvqa_diag.report import ReportOptions, build_report

        log(f"diagnostic report on {best} (seed 0) -> {out / 'report'}")
        build_report(
            _pred_path(out, best, 0, "test"),
            out / "models" / best,
            out / "report",
            catalog=catalog,
            opts=ReportOptions(progress=False, limit=limit),
        )
    # wall minutes of every call that trained part of this OUT (a resumed run adds up its calls)
    prev = out / "results.json"
    earlier = json.loads(prev.read_text()).get("minutes", 0.0) if prev.exists() and done else 0.0
    results["minutes_this_call"] = round((time.perf_counter() - t0) / 60, 2)
    results["minutes"] = round(earlier + results["minutes_this_call"], 2)
    write_json(out / "results.json", results)
    write_text(out / "results.md", results_markdown(results))
    plot(results, out / "closed_accuracy.png")
    return results


def _finished(path: Path) -> set[tuple[str, int]]:
    if not path.exists():
        return set()
    return {(d["arm"], d["seed"]) for d in map(json.loads, path.read_text().splitlines()) if d}


def _results(
    recipe: Recipe, runs: dict[str, list[dict]], data: Any, audit: Path | None, n_seeds: int
) -> dict:
    arms: dict[str, dict] = {}
    for name, seeds in runs.items():
        entry: dict = {
            "description": recipe.arms[name].description,
            "stages": recipe.arms[name].stages,
            "blank_images": recipe.arms[name].blank_images,
        }
        for m in stats.METRICS:
            entry[m] = stats.mean_std([stats.metric(s["test"], m) for s in seeds])
        for mode in ABLATIONS:
            entry[mode] = {
                m: stats.mean_std([stats.metric(s[mode], m) for s in seeds]) for m in stats.METRICS
            }
        qtypes = sorted({r["question_type"] for r in seeds[0]["test"]})
        entry["by_question_type"] = {
            q: {
                "n_closed": sum(
                    1
                    for r in seeds[0]["test"]
                    if r["question_type"] == q and is_closed(r["answer_type"])
                ),
                "closed_accuracy": stats.mean_std(
                    [
                        stats.metric(
                            [r for r in s["test"] if r["question_type"] == q], "closed_accuracy"
                        )
                        for s in seeds
                    ]
                )["mean"],
            }
            for q in qtypes
        }
        arms[name] = entry
    comparisons = []
    for name in runs:
        if name == "benchmark":
            continue
        for m in ("closed_accuracy", "closed_accuracy_yesno", "open_recall"):
            diff, ci = stats.paired_bootstrap(
                [s["test"] for s in runs[name]], [s["test"] for s in runs["benchmark"]], m
            )
            comparisons.append({"a": name, "b": "benchmark", "metric": m, "diff": diff, "ci95": ci})
    for name in runs:  # does the arm use the picture? (as trained vs blank test pictures)
        if not recipe.arms[name].blank_images:
            diff, ci = stats.paired_bootstrap(
                [s["test"] for s in runs[name]], [s["blank"] for s in runs[name]], "closed_accuracy"
            )
            comparisons.append(
                {
                    "a": name,
                    "b": f"{name}+blank_test_images",
                    "metric": "closed_accuracy",
                    "diff": diff,
                    "ci95": ci,
                }
            )
    audit_removed = None
    if audit is not None and (Path(audit) / "fix_summary.json").is_file():
        audit_removed = json.loads((Path(audit) / "fix_summary.json").read_text()).get("affected")
    counts = data.counts()
    return {
        "recipe": recipe.description,
        "seeds": n_seeds,
        "arms": arms,
        "baselines": stats.baselines(data.train_all, data.test),
        "comparisons": comparisons,
        "data": {**counts, "audit_removed_rows": audit_removed},
    }


def results_markdown(r: dict) -> str:
    """The results table (mean ± std over seeds) and the comparisons."""

    def cell(d: dict) -> str:
        return f"{d['mean']:.4f} ± {d['std']:.4f}"

    lines = [
        f"# Experiment results ({r['seeds']} seeds, VQA-RAD test)",
        "",
        "| arm | closed acc (answer_type) | closed acc (yes/no only) | open recall | exact match "
        "| closed, blank test images | closed, shuffled test images |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, a in r["arms"].items():
        lines.append(
            f"| {name} | {cell(a['closed_accuracy'])} | {cell(a['closed_accuracy_yesno'])} "
            f"| {cell(a['open_recall'])} | {cell(a['exact_match'])} "
            f"| {cell(a['blank']['closed_accuracy'])} | {cell(a['shuffle']['closed_accuracy'])} |"
        )
    for name, b in r["baselines"].items():
        lines.append(
            f"| baseline: {name} | {b['closed_accuracy']:.4f} | {b['closed_accuracy_yesno']:.4f} "
            f"| {b['open_recall']:.4f} | {b['exact_match']:.4f} | | |"
        )
    lines += [
        "",
        "| a | b | metric | diff (a - b) | 95% CI (paired bootstrap over questions) |",
        "|---|---|---|---|---|",
    ]
    for c in r["comparisons"]:
        lines.append(
            f"| {c['a']} | {c['b']} | {c['metric']} | {c['diff']:+.4f} "
            f"| [{c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}] |"
        )
    qtypes = sorted({q for a in r["arms"].values() for q in a["by_question_type"]})
    lines += [
        "",
        "Closed accuracy per question type (mean over seeds; n = closed test questions)",
        "",
        "| question type | n | " + " | ".join(r["arms"]) + " |",
        "|---|---|" + "---|" * len(r["arms"]),
    ]
    for q in qtypes:
        cells = []
        for a in r["arms"].values():
            v = a["by_question_type"].get(q, {}).get("closed_accuracy")
            cells.append(
                "-" if v is None or not a["by_question_type"][q]["n_closed"] else f"{v:.3f}"
            )
        n = next(
            a["by_question_type"][q]["n_closed"]
            for a in r["arms"].values()
            if q in a["by_question_type"]
        )
        lines.append(f"| {q} | {n} | " + " | ".join(cells) + " |")
    d = r["data"]
    lines += ["", f"Data: {d}", f"Minutes: {r.get('minutes')}", ""]
    return "\n".join(lines)


def plot(r: dict, path: Path) -> None:
    """Closed accuracy per arm: seed points, mean, and mean ± 1.96 x the seeds' std error bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(r["arms"])
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    for i, n in enumerate(names):
        ca = r["arms"][n]["closed_accuracy"]
        ax.scatter([i] * len(ca["per_seed"]), ca["per_seed"], color="grey", s=12, zorder=2)
        ax.errorbar(
            [i],
            [ca["mean"]],
            yerr=[[1.96 * ca["std"]], [1.96 * ca["std"]]],
            fmt="o",
            color="C0",
            capsize=6,
            zorder=3,
        )
    for j, (b, v) in enumerate(r["baselines"].items()):
        ax.axhline(v["closed_accuracy"], color=f"C{j + 1}", ls="--", lw=1, label=b)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("closed accuracy (answer_type), VQA-RAD test")
    ax.set_title(f"mean ± 1.96 std over {r['seeds']} seeds; grey: seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
