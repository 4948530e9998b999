"""`radvqa-experiment run`: every arm x seed, scored once on VQA-RAD test, then the figures.

Layout of OUT:
- ``results.json``: ``arms.NAME.{closed_accuracy, closed_accuracy_yesno, open_recall,
  exact_match, image_determined_accuracy}.{mean,std,per_seed}``, ``arms.NAME.blank`` /
  ``.shuffle`` (the same metrics with blank or shuffled test pictures),
  ``arms.NAME.subsets.{closed,image_determined}.{accuracy,blank,shuffle}.{mean,std,per_seed}``
  and ``.sensitivity.{blank,shuffle}`` (share of answers that change, with a CI),
  ``arms.NAME.by_question_type`` (real, blank, shuffled accuracy per type), ``baselines``,
  ``comparisons[]`` (``{a, b, metric, subset, diff, ci95}``: paired bootstrap over test
  questions), ``data`` (with ``versions``: each data folder and its row counts), ``vision``
  (the pretrained encoder's leak-free training), ``minutes``.
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
from radvqa_data.core.schema import prediction_renames, predictions_schema
from radvqa_experiment import stats
from radvqa_experiment.data import DEFAULT_VERSION
from radvqa_experiment.recipe import Arm, Recipe, uses_captions
from radvqa_train.evaluate import IMAGE_ABLATIONS as ABLATIONS
from radvqa_train.metrics import METRIC_KEYS


def _write_preds(path: Path, rows: list[dict]) -> None:
    """The same predictions table `radvqa-train eval` writes (so `radvqa-diag` reads it)."""
    schema = predictions_schema(METRIC_KEYS, judge=False)
    write_parquet(
        path,
        pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema),
    )


def _score_test(
    model: Any, processor: Any, recipe: Recipe, prep: Any, blank: bool, seed: int
) -> dict[str, list[dict]]:
    """Scored test rows through `radvqa_train.evaluate` (its generation, ablation and scorer):
    as trained (blank pictures for a blank arm), then on blank and on shuffled pictures. The
    pictures come from the experiment's decoded, resized cache (the same pixels it trains on)."""
    from radvqa_train.evaluate import ablate, generate_answers, score_rows

    rows = [f["_row"] for f in prep.test]

    def answers(mode: str | None) -> list[dict]:
        gen = generate_answers(
            (model, processor),
            ablate(rows, mode, seed),
            batch_size=64,
            max_new_tokens=recipe.max_new_tokens,
            progress=False,
            image=prep.encoder.image,
        )
        return score_rows(rows, gen)

    out = {"test": answers("blank" if blank else None)}
    for mode in ABLATIONS:
        out[mode] = out["test"] if (blank and mode == "blank") else answers(mode)
    return out


_STATE: dict = {}  # per worker process: recipe, encoded features, output folder


def _read_data(recipe: Recipe, catalog: Path, shards: dict[str, Path], limit: int | None) -> Any:
    """The experiment's rows as the recipe needs them (caption rows only when a stage uses them);
    the same call in the driver and in every worker."""
    from radvqa_experiment.data import load_experiment_data

    return load_experiment_data(
        catalog,
        shards,
        val_fraction=recipe.val_fraction,
        limit=limit,
        captions=uses_captions(recipe),
    )


def _init_worker(
    recipe: Recipe,
    catalog: Path,
    shards: dict[str, Path],
    out: Path,
    limit: int | None,
    threads: int,
) -> None:
    """Load and encode the data once per worker (each worker trains one arm x seed at a time)."""
    import torch

    from radvqa_experiment.arm import prepare
    from radvqa_train.families import family_of
    from radvqa_train.modeling import load_model

    torch.set_num_threads(threads)
    data = _read_data(recipe, catalog, shards, limit)
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
    from radvqa_experiment.arm import run_arm, vision_dir

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
        vision=vision_dir(out),
    )
    scored = _score_test(model, processor, recipe, prep, arm.blank_images, seed)
    for k, rows in scored.items():
        _write_preds(_pred_path(out, name, seed, k), rows)
    if seed == 0 and arm.vision == "scratch":  # a swapped-in tower has no transformers layout
        model.save_pretrained(out / "models" / name)
        processor.save_pretrained(out / "models" / name)
    return {
        "arm": name,
        "seed": seed,
        **info,
        "test_closed_accuracy": stats.metric(scored["test"], "closed_accuracy"),
    }


def _read_preds(path: Path) -> list[dict]:
    """Rows of a predictions table `_write_preds` wrote (an earlier version's too: its columns
    are renamed here, where the file is read)."""
    df = pl.read_parquet(path)
    return df.rename(prediction_renames(df.columns)).to_dicts()


def _pred_path(out: Path, arm: str, seed: int, kind: str) -> Path:
    return out / "predictions" / arm / f"seed{seed}{'' if kind == 'test' else '-' + kind}.parquet"


def with_versions(recipe: Recipe, versions: dict[str, Path]) -> Recipe:
    """`recipe` plus, for every data version no arm names, a copy ``ARM@NAME`` of each arm that
    trains on synthetic rows, drawing them from that version; each copy is compared with its
    original (paired CIs), so ``--data v2=DIR`` alone runs a data-version comparison."""
    import dataclasses

    named = {a.data for a in recipe.arms.values()}
    arms = dict(recipe.arms)
    compare = [list(p) for p in recipe.compare]
    for version in versions:
        if version in named:
            continue
        for name, arm in recipe.arms.items():
            uses_synthetic = any("synthetic" in recipe.stages[s].data for s in arm.stages)
            if uses_synthetic and arm.data == DEFAULT_VERSION:
                arms[f"{name}@{version}"] = dataclasses.replace(
                    arm, data=version, description=f"{arm.description} (data {version})"
                )
                compare.append([f"{name}@{version}", name])
    return dataclasses.replace(recipe, arms=arms, compare=compare)


def run_experiment(
    recipe: Recipe,
    *,
    catalog: Path,
    shards: Path | dict[str, Path],
    out: Path,
    seeds: int | None = None,
    audit: Path | None = None,
    limit: int | None = None,
    workers: int = 2,
    report: bool = True,
    log: Any = print,
) -> dict:
    """Train and score every arm x seed of `recipe`; write OUT (see module doc); return results.

    `shards`: the synthetic folder, or {data version: folder} (``default`` required; see
    `with_versions`). `limit` (quick mode): the first N rows of each training split, and of test
    for the model's answers and the report; the baselines and data counts still use the whole
    test split.

    `workers` processes of one torch thread each train arm x seed jobs side by side. Measured
    on the shared 2-core machine while other (niced) jobs ran: one 2-thread process trained
    14.5 samples/s, one 1-thread process 49.5 (threads of one process wait on each other
    whenever one is preempted), so two 1-thread workers beat one 2-thread process.
    """
    from radvqa_experiment.arm import build_seed_model, vision_dir

    t0 = time.perf_counter()
    out = Path(out)
    versions = shards if isinstance(shards, dict) else {DEFAULT_VERSION: Path(shards)}
    recipe = with_versions(recipe, versions)
    n_seeds = seeds or recipe.seeds
    if n_seeds < 1:
        raise InputError(f"--seeds {n_seeds}: expected at least 1")
    if workers < 1:
        raise InputError(f"--workers {workers}: expected at least 1")
    for name, arm in recipe.arms.items():
        if arm.data not in versions:
            raise InputError(
                f"arm {name}: data version '{arm.data}' not given "
                f"(pass --data {arm.data}=DIR; given: {', '.join(versions)})"
            )
    data = _read_data(recipe, catalog, versions, limit)
    log(f"data: {data.counts()}")
    vision_info = None
    if any(a.vision == "label_encoder" for a in recipe.arms.values()):
        from radvqa_data.reader import read_qa
        from radvqa_experiment.vision import pretrain_label_encoder

        # the default version's audited rows of the MedPix *train* split, whatever `limit`
        pre_rows = read_qa(
            "synthetic:train", shards=versions[DEFAULT_VERSION], catalog=catalog
        ).to_dicts()
        settings = {"image_size": recipe.model.image_size, **recipe.vision_pretrain}
        vision_info = pretrain_label_encoder(catalog, pre_rows, vision_dir(out), settings, log)
        log(f"pretrained label encoder: {vision_info['held_out_cases_accuracy']}")
    for seed in range(n_seeds):  # built here once, so workers never race on them
        if not (out / "models" / f"_scratch-seed{seed}" / "config.json").exists():
            build_seed_model(recipe, out / "models" / f"_scratch-seed{seed}", seed)
    done = _finished(out / "runs.jsonl")
    jobs = [(a, s) for s in range(n_seeds) for a in recipe.arms if (a, s) not in done]
    log(f"{len(jobs)} arm x seed runs to train ({len(done)} already done), {workers} worker(s)")
    init = (recipe, Path(catalog), versions, out, limit, 1)

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
            {k: _read_preds(_pred_path(out, a, s, k)) for k in ("test", *ABLATIONS)}
            for s in range(n_seeds)
        ]
        for a in recipe.arms
    }
    results = _results(recipe, runs, data, audit, n_seeds)
    results["vision"] = vision_info
    results["runs"] = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines() if x]
    best = max(
        (a for a in recipe.arms if not recipe.arms[a].blank_images),
        key=lambda a: results["arms"][a]["closed_accuracy"]["mean"],
    )
    results["best_arm"] = best
    # the diag report loads a transformers model folder: only scratch-vision arms save one
    reported = max(
        (a for a, arm in recipe.arms.items() if not arm.blank_images and arm.vision == "scratch"),
        key=lambda a: results["arms"][a]["closed_accuracy"]["mean"],
    )
    results["report_arm"] = reported
    if report:
        from radvqa_diag.report import ReportOptions, build_report

        log(f"diagnostic report on {reported} (seed 0) -> {out / 'report'}")
        build_report(
            _pred_path(out, reported, 0, "test"),
            out / "models" / reported,
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


def _subsets(seeds: list[dict]) -> dict:
    """`arms.NAME.subsets`: per subset, accuracy on real / blank / shuffled pictures (mean, std,
    per seed) and the share of answers that change with each ablation (with a CI)."""
    out = {}
    for subset, m in stats.SUBSET_METRICS.items():
        cell = {"accuracy": stats.mean_std([stats.metric(s["test"], m) for s in seeds])}
        for mode in ABLATIONS:
            cell[mode] = stats.mean_std([stats.metric(s[mode], m) for s in seeds])
        cell["n"] = len(stats.per_question(seeds[0]["test"], m))
        cell["sensitivity"] = {
            mode: stats.sensitivity([s["test"] for s in seeds], [s[mode] for s in seeds], subset)
            for mode in ABLATIONS
        }
        out[subset] = cell
    return out


def _by_question_type(seeds: list[dict]) -> dict:
    """Per question type: closed accuracy (as before) and the accuracy over all its questions
    on real, blank and shuffled pictures (mean over seeds)."""

    def acc(rows: list[dict]) -> float | None:
        return sum(float(r["correct"]) for r in rows) / len(rows) if rows else None

    def mean(vals: list[float | None]) -> float | None:
        v = [x for x in vals if x is not None]
        return round(sum(v) / len(v), 6) if v else None

    first = seeds[0]["test"]
    out = {}
    for q in sorted({r["question_type"] for r in first}):

        def of(rows: list[dict], q: str = q) -> list[dict]:
            return [r for r in rows if r["question_type"] == q]

        out[q] = {
            "n": len(of(first)),
            "n_closed": sum(1 for r in of(first) if is_closed(r["answer_type"])),
            "closed_accuracy": stats.mean_std(
                [stats.metric(of(s["test"]), "closed_accuracy") for s in seeds]
            )["mean"],
            "accuracy": mean([acc(of(s["test"])) for s in seeds]),
            **{f"{mode}_accuracy": mean([acc(of(s[mode])) for s in seeds]) for mode in ABLATIONS},
        }
    return out


def _comparisons(recipe: Recipe, runs: dict) -> list[dict]:
    """Every arm vs benchmark (closed, yes/no, open recall, image_determined), every arm vs
    question_only on image_determined, each recipe/data-version pair on both subsets, and
    every seeing arm vs itself on blank and on shuffled test pictures (both subsets)."""

    def pair(a: str, b: str, metric: str, b_kind: str = "test", b_label: str | None = None):
        diff, ci = stats.paired_bootstrap(
            [s["test"] for s in runs[a]], [s[b_kind] for s in runs[b]], metric
        )
        return {
            "a": a,
            "b": b_label or b,
            "metric": metric,
            "subset": stats.SUBSET_OF[metric],
            "diff": diff,
            "ci95": ci,
        }

    out = []
    for name in runs:
        if name == "benchmark":
            continue
        for m in (
            "closed_accuracy",
            "closed_accuracy_yesno",
            "open_recall",
            "image_determined_accuracy",
        ):
            out.append(pair(name, "benchmark", m))
    for name in runs:
        if name not in ("question_only", "benchmark"):
            out.append(pair(name, "question_only", "image_determined_accuracy"))
    for a, b in recipe.compare:
        for m in stats.SUBSET_METRICS.values():
            out.append(pair(a, b, m))
    for name, arm in recipe.arms.items():  # does the arm use the picture?
        if arm.blank_images:
            continue
        for mode in ABLATIONS:
            for m in stats.SUBSET_METRICS.values():
                out.append(pair(name, name, m, mode, f"{name}+{mode}_test_images"))
    return out


def _results(
    recipe: Recipe, runs: dict[str, list[dict]], data: Any, audit: Path | None, n_seeds: int
) -> dict:
    arms: dict[str, dict] = {}
    for name, seeds in runs.items():
        arm: Arm = recipe.arms[name]
        entry: dict = {
            "description": arm.description,
            "stages": arm.stages,
            "blank_images": arm.blank_images,
            "data": arm.data,
            "vision": arm.vision,
        }
        for m in stats.METRICS:
            entry[m] = stats.mean_std([stats.metric(s["test"], m) for s in seeds])
        for mode in ABLATIONS:
            entry[mode] = {
                m: stats.mean_std([stats.metric(s[mode], m) for s in seeds]) for m in stats.METRICS
            }
        entry["subsets"] = _subsets(seeds)
        entry["by_question_type"] = _by_question_type(seeds)
        arms[name] = entry
    audit_removed = None
    if audit is not None and (Path(audit) / "fix_summary.json").is_file():
        audit_removed = json.loads((Path(audit) / "fix_summary.json").read_text()).get("affected")
    counts = data.counts()
    return {
        "recipe": recipe.description,
        "seeds": n_seeds,
        "arms": arms,
        "baselines": stats.baselines(data.train_all, data.test),
        "comparisons": _comparisons(recipe, runs),
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
        "Where the picture decides (image_determined: MODALITY, PLANE, ORGAN, closed and open) "
        "and closed questions; real, blank and shuffled test pictures; changed = share of "
        "answers that differ on blank pictures (95% CI over questions)",
        "",
        "| arm | n | image_det. | blank | shuffle | changed (blank) | closed | blank | shuffle "
        "| changed (blank) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in r["arms"].items():
        cells = []
        for sub in ("image_determined", "closed"):
            c = a["subsets"][sub]
            sens = c["sensitivity"]["blank"]
            ci = "" if sens["ci95"] is None else f" [{sens['ci95'][0]:.3f}, {sens['ci95'][1]:.3f}]"
            cells += [
                f"{c['accuracy']['mean']:.3f}",
                f"{c['blank']['mean']:.3f}",
                f"{c['shuffle']['mean']:.3f}",
                f"{sens['mean']:.3f}{ci}",
            ]
        n = a["subsets"]["image_determined"]["n"]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| a | b | metric | subset | diff (a - b) | 95% CI (paired bootstrap over questions) |",
        "|---|---|---|---|---|---|",
    ]
    for c in r["comparisons"]:
        lines.append(
            f"| {c['a']} | {c['b']} | {c['metric']} | {c['subset']} | {c['diff']:+.4f} "
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
    """Two panels per arm: closed accuracy (seed points, mean, mean ± 1.96 x the seeds' std), and
    accuracy where the picture decides (`image_determined`) on real beside blank test pictures:
    a gap between the two is the model using the picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(r["arms"])
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(1.6 * len(names) + 2, 7.5), sharex=True)
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
        sub = r["arms"][n].get("subsets", {}).get("image_determined")
        for dx, key, color in ((-0.12, "accuracy", "C0"), (0.12, "blank", "C3")):
            if sub and sub.get(key):
                c = sub[key]
                bx.scatter([i + dx] * len(c["per_seed"]), c["per_seed"], color="grey", s=10)
                bx.errorbar(
                    [i + dx],
                    [c["mean"]],
                    yerr=[[1.96 * c["std"]], [1.96 * c["std"]]],
                    fmt="o",
                    color=color,
                    capsize=5,
                    label=("real pictures" if key == "accuracy" else "blank pictures")
                    if i == 0
                    else None,
                )
    for j, (b, v) in enumerate(r["baselines"].items()):
        ax.axhline(v["closed_accuracy"], color=f"C{j + 1}", ls="--", lw=1, label=b)
    bx.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("closed accuracy (answer_type)")
    ax.set_title(f"VQA-RAD test: mean ± 1.96 std over {r['seeds']} seeds; grey: seeds")
    ax.legend(fontsize=8)
    bx.set_ylabel("accuracy, image_determined")
    bx.set_title("where the picture decides (MODALITY, PLANE, ORGAN): real vs blank test pictures")
    bx.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
