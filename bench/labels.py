"""`label-issues` on a MedPix 2.0 catalog: run time, CV accuracy, planted-flip recall/precision.

    .venv/bin/python bench/labels.py --catalog CAT --work DIR [--fraction 0.05] [--seeds 0,1]
                                     [--threads]

CAT: a catalog of the full MedPix 2.0 (assemble its 2,050 pictures as the README of
`medpix2-train-256/` shows, then `radvqa-data catalog add medpix2 ...`). In DIR, on copies of
CAT, in one process run:
1. clean: `run_label_issues` on the unchanged copy (timed per phase; the flags it raises are
   the source's own suspects);
2. planted: the same on a copy whose modality and plane labels were flipped for `--fraction` of
   the pictures (`labels.planted`), scored per field: recall, strict precision, and precision
   with the clean run's own flags set aside; once per planted-flip seed (`--seeds`: settings
   are chosen on one seed and confirmed on another).
`--threads`: instead, the same-run baseline of the worker layout: two fold jobs (4 epochs) in one
process with 2 torch threads, then in 2 one-thread processes.
Prints JSON lines. Target: the whole clean run <= 10 min on 2 cores; recall and precision >= 0.8.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from radvqa_data.core.db import connect
from radvqa_data.labels.planted import plant_flips, score_flips
from radvqa_data.labels.run import run_label_issues


def flags(catalog: Path) -> set[tuple[str, str, str]]:
    """The flagged (source, image_id, field) keys of a catalog."""
    with connect(catalog, read_only=True) as con:
        rows = con.execute("SELECT source, image_id, field FROM label_issues").fetchall()
        return {tuple(r) for r in rows}


def run(catalog: Path, work: Path, name: str) -> tuple[Path, dict]:
    """Copy the catalog, run label-issues on it from scratch, return (copy, figures)."""
    cat = work / f"{name}.duckdb"
    shutil.copy(catalog, cat)
    shutil.rmtree(work / f"{name}.duckdb.assets", ignore_errors=True)
    t0 = time.perf_counter()
    s = run_label_issues(cat, report=work / f"{name}-report", progress=False)
    return cat, {
        "run": name,
        "seconds": round(time.perf_counter() - t0, 1),
        "phases": s.seconds,
        "accuracy": s.accuracy,
        "flagged_images": s.flagged_images,
        "checked_images": s.checked_images,
        "issues_by_field": s.issues_by_field,
    }


def threads(catalog: Path) -> None:
    """Same two jobs, one 2-thread process vs two 1-thread processes."""
    import numpy as np

    from radvqa_data.labels import tasks
    from radvqa_data.labels.model import LabelModelConfig
    from radvqa_data.labels.pixels import decode_all
    from radvqa_data.labels.train import Job, run_jobs

    with connect(catalog, read_only=True) as con:
        pics = [p for p in tasks.pictures(con) if p.train][:800]
    cfg = LabelModelConfig(epochs=4)
    x, _ = decode_all([p.image_path for p in pics], cfg.image_size)
    cfg.classes = tasks.task_classes(pics, cfg.min_class_images)
    y = {t: np.array(v) for t, v in tasks.targets(pics, cfg.classes).items()}
    idx = np.arange(len(pics))
    jobs = [Job(f"j{i}", idx, None, i) for i in range(2)]
    for workers in (2, 1):  # the processes first: the parent must not have run torch yet
        t0 = time.perf_counter()
        run_jobs(jobs, cfg, x, y, workers=workers, tick=lambda: None)
        dt = time.perf_counter() - t0
        print(json.dumps({"workers": workers, "seconds": round(dt, 1)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--seeds", default="0", help="planted-flip seeds, comma-separated")
    ap.add_argument("--threads", action="store_true")
    ap.add_argument("--skip-clean", action="store_true", help="reuse DIR/clean.duckdb")
    a = ap.parse_args()
    if a.threads:
        threads(a.catalog)
        return
    a.work.mkdir(parents=True, exist_ok=True)
    if not a.skip_clean:
        _, fig = run(a.catalog, a.work, "clean")
        print(json.dumps(fig), flush=True)
    clean = flags(a.work / "clean.duckdb")
    for seed in (int(v) for v in a.seeds.split(",")):
        name = "planted" if seed == 0 else f"planted-seed{seed}"  # seed 0: the old file names
        planted_src = a.work / f"{name}-source.duckdb"
        shutil.copy(a.catalog, planted_src)
        with connect(planted_src) as con:
            flips = plant_flips(con, a.fraction, seed=seed)
        cat, fig = run(planted_src, a.work, name)
        print(json.dumps({**fig, "seed": seed}), flush=True)
        got = flags(cat)
        for field in ("modality", "plane", None):
            sc = score_flips(flips, got, clean, field)
            print(json.dumps({"seed": seed, "field": field or "both", **sc.__dict__}), flush=True)


if __name__ == "__main__":
    main()
