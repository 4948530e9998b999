"""Entity extraction throughput on the 34,111 real ROCO captions (test + validation + train).

    .venv/bin/python bench/entities.py [--data ../shared/data] [--processes 2] [--limit N]

Same pipeline (blank English + scispaCy abbreviations + lexicon ruler), same texts, same run:
- baseline: the naive loop `for text in texts: nlp(text)` (no entity post-processing at all);
- ours: `radvqa_data.entities.extract.extract_entities` (nlp.pipe batches in forked workers,
  duplicate captions processed once), which also turns every doc into normalized entities with
  negation/uncertainty, so it does strictly more work per caption than the baseline.
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

from radvqa_data.entities.extract import extract_entities  # noqa: E402
from radvqa_data.entities.pipeline import build_pipeline  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data")))
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    items = roco_captions(args.data)[: args.limit]
    texts = [t for _, t in items]
    print(f"{len(texts):,} ROCO captions ({len(set(texts)):,} distinct), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    nlp = build_pipeline()

    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        nlp(text)
    naive, naive_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"baseline  for text in texts: nlp(text)     {len(texts) / naive:8,.0f} captions/s  "
          f"({naive:.1f} s wall, {naive_cpu:.1f} s CPU)")

    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    n_ents = n_neg = n_unc = 0
    for _, _, ents in extract_entities(((rid, "caption", t) for rid, t in items), nlp=nlp,
                                       n_process=args.processes, batch_size=256):
        n_ents += len(ents)
        n_neg += sum(e.negated for e in ents)
        n_unc += sum(e.uncertain for e in ents)
    ours = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours_cpu = time.process_time() - c0 + (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    print(f"ours      extract_entities(n_process={args.processes})   {len(texts) / ours:8,.0f} captions/s  "
          f"({ours:.1f} s wall, {ours_cpu:.1f} s CPU in all processes)")
    print(f"ratio     {naive / ours:.2f}x wall (target >= 2x); CPU work per caption: ours/baseline = {ours_cpu / naive_cpu:.2f}")
    print(f"load average now {os.getloadavg()[0]:.1f}: the wall ratio needs idle cores (other jobs share them)")
    print(f"found     {n_ents:,} mentions, {n_neg:,} negated, {n_unc:,} uncertain")


if __name__ == "__main__":
    main()
