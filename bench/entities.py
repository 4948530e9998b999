"""Entity extraction throughput on the 34,111 real ROCO captions (test + validation + train).

    .venv/bin/python bench/entities.py [--data ../shared/data] [--processes 2] [--limit N]

Same pipeline (blank English + scispaCy abbreviations + lexicon ruler), same texts, same run:
- baseline: the naive loop `for text in texts: nlp(text)` (no entity post-processing at all);
- ours: `radvqa_data.entities.extract.extract_entities` (nlp.pipe batches in forked workers,
  duplicate captions processed once), which also turns every doc into normalized entities with
  negation/uncertainty. It skips the pipeline steps that cannot change those entities (the
  abbreviation detector where no parenthesis follows a lexicon surface, the stock ruler
  component's overhead), so the baseline runs more of the pipeline per caption and ours adds
  the post-processing; tests check that ours gives the entities of `nlp(text)` one by one.
Prints both rates (captions/s), the ratio, and what ours found. Target: ratio >= 2 on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from radvqa_data.entities.extract import extract_entities
from radvqa_data.entities.pipeline import build_pipeline


def roco_captions(root: Path) -> list[tuple[str, str]]:
    """(ROCO id, caption) of every captions.txt under roco/{test,validation,train}/radiology."""
    out = []
    for split in ("test", "validation", "train"):
        path = root / "roco" / split / "radiology" / "captions.txt"
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" in line:
                rid, text = line.split("\t", 1)
                out.append((rid.strip(), text.strip()))
    return out


def _spin(n: int) -> float:
    x = 0
    for i in range(n):
        x += i * i
    return float(x > 0)


def parallel_capacity(n: int = 5_000_000) -> float:
    """How many times faster 2 busy processes finish 2 units of pure-Python work than 1 process
    finishes 1 unit twice: ~2.0 on two idle cores, ~1.0 when only one core's worth is free."""
    import multiprocessing as mp

    t0 = time.perf_counter()
    _spin(n)
    _spin(n)
    serial = time.perf_counter() - t0
    with mp.get_context("fork").Pool(2) as pool:
        t0 = time.perf_counter()
        pool.map(_spin, [n, n])
        parallel = time.perf_counter() - t0
    return serial / parallel


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", type=Path, default=Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data"))
    )
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument(
        "--rounds", type=int, default=4, help="alternate baseline and ours in this many blocks"
    )
    args = ap.parse_args()
    items = roco_captions(args.data)[: args.limit]
    texts = [t for _, t in items]
    print(
        f"{len(texts):,} ROCO captions ({len(set(texts)):,} distinct), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"parallel capacity now: {parallel_capacity():.2f}x for 2 processes (2.0 = two free cores)"
    )
    nlp = build_pipeline()
    # Alternate the two in `--rounds` blocks so both see the same (shared, fluctuating) load.
    blocks = [items[k :: args.rounds] for k in range(args.rounds)]
    naive = naive_cpu = ours = ours_cpu = 0.0
    n_ents = n_neg = n_unc = 0
    for block in blocks:
        t0, c0 = time.perf_counter(), time.process_time()
        for _, text in block:
            nlp(text)
        naive += time.perf_counter() - t0
        naive_cpu += time.process_time() - c0

        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, c0 = time.perf_counter(), time.process_time()
        for _, _, ents in extract_entities(
            ((rid, "caption", t) for rid, t in block),
            nlp=nlp,
            n_process=args.processes,
            batch_size=256,
        ):
            n_ents += len(ents)
            n_neg += sum(e.negated for e in ents)
            n_unc += sum(e.uncertain for e in ents)
        ours += time.perf_counter() - t0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours_cpu += (
            time.process_time()
            - c0
            + (children.ru_utime - children0.ru_utime)
            + (children.ru_stime - children0.ru_stime)
        )
    n = len(texts)
    print(
        f"baseline  for text in texts: nlp(text)     {n / naive:8,.0f} captions/s  "
        f"({naive:.1f} s wall, {naive_cpu:.1f} s CPU)"
    )
    print(
        f"ours      extract_entities(n_process={args.processes})   {n / ours:8,.0f} captions/s  "
        f"({ours:.1f} s wall, {ours_cpu:.1f} s CPU in all processes)"
    )
    print(
        f"ratio     {naive / ours:.2f}x wall (target >= 2x); "
        f"CPU work per caption: ours/baseline = {ours_cpu / naive_cpu:.2f}"
    )
    print(f"found     {n_ents:,} mentions, {n_neg:,} negated, {n_unc:,} uncertain")
    print(
        f"load average now {os.getloadavg()[0]:.1f}; "
        f"parallel capacity now: {parallel_capacity():.2f}x "
        f"(the wall ratio of {args.processes} workers needs that many free cores)"
    )


if __name__ == "__main__":
    main()
