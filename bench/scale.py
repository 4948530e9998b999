"""Ray's overhead: `--executor ray` against `--executor local` on the shared data, same run.

    .venv/bin/python bench/scale.py [--data ../shared/data] [--pairs 3] [--ray-address ADDR]
                                    [--steps catalog,synth[,entities]]

Steps (each checked to write the same rows on both executors before it is timed):
- catalog: `add_source(medpix2)` + `add_source(vqa-rad)` into a fresh catalog (712 images
  decoded: the whole job, parsing and DuckDB writes included), as `bench/catalog.py` times it;
- synth: rules over all 2,050 MedPix 2.0 records (missing images allowed, caption entities
  present), 9 shards of 256, into a fresh folder;
- entities (opt in): every MedPix 2.0 text (15,675) into a fresh copy of the catalog.

Per-item CPU costs (local runs: this process and its children), and the CPU cost of turning one
LLM reply into filtered rows (parse, ground, filter; the 22 replies of tests/data/llm_corpus
against real MedPix records), are printed for sizing (docs/scale.md).

Ray is started once in this process (a local instance sized to the machine, or the cluster at
--ray-address) and its start-up timed apart; the first Ray run of each step (workers still
importing our modules) is reported apart too, then `--pairs` local/Ray pairs alternate which
side goes first, and each pair's ratio (local seconds / Ray seconds: Ray's throughput as a share
of local's) and the median are printed. This shared 2-CPU machine drifts by 20-40 % within
minutes, so compare ratios within a pair, not rates across runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
print = functools.partial(print, flush=True)  # progress lines while a pair runs


def cpu_seconds() -> float:
    """CPU of this process (all threads) and of its waited-for children (forked workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def start_ray(address: str | None) -> float:
    """Join (or start) Ray as every step would; returns the seconds it took."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway local instance
    from radvqa_data.executor.ray_runtime import ensure_ray

    t0 = time.perf_counter()
    ensure_ray(address)
    return time.perf_counter() - t0


def rows_of(cat: Path, tables: tuple[str, ...]) -> list:
    import duckdb

    con = duckdb.connect(str(cat), read_only=True)
    try:
        return [sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables]
    finally:
        con.close()


class Steps:
    """One run of each step on one executor; returns (seconds, items, a digest of its rows)."""

    def __init__(self, data: Path, work: Path) -> None:
        self.data, self.work = data, work
        self.n = 0
        self.synth_catalog: Path | None = None

    def _fresh(self, name: str) -> Path:
        self.n += 1
        path = self.work / f"{self.n:03d}-{name}"
        path.mkdir(parents=True)
        return path

    def catalog(self, ex: str) -> tuple[float, int, object]:
        from radvqa_data.catalog.ingest import add_source

        cat = self._fresh(f"catalog-{ex}") / "c.duckdb"
        t0 = time.perf_counter()
        a = add_source(cat, "medpix2", self.data / "medpix2", progress=False, executor=ex)
        b = add_source(cat, "vqa-rad", self.data / "vqa-rad", progress=False, executor=ex)
        seconds = time.perf_counter() - t0
        rows = rows_of(cat, ("images", "texts", "benchmark_qa", "ingest_issues"))
        shutil.rmtree(cat.parent)
        return seconds, a.probed + b.probed, rows

    def _medpix_catalog(self) -> Path:
        if self.synth_catalog is None:
            from radvqa_data.catalog.ingest import add_source
            from radvqa_data.entities.run import run_entities

            self.synth_catalog = self.work / "medpix.duckdb"
            add_source(self.synth_catalog, "medpix2", self.data / "medpix2", progress=False)
            run_entities(self.synth_catalog, fields=["caption"], progress=False)
        return self.synth_catalog

    def synth(self, ex: str) -> tuple[float, int, object]:
        import polars as pl

        from radvqa_data.synth.config import SynthConfig
        from radvqa_data.synth.driver import run_synth
        from radvqa_data.synth.rules.generator import RulesGenerator

        cat = self._medpix_catalog()
        out = self._fresh(f"synth-{ex}")
        t0 = time.perf_counter()
        s = run_synth(
            cat,
            out,
            SynthConfig(allow_missing_images=True),
            RulesGenerator(0),
            progress=False,
            executor=ex,
        )
        seconds = time.perf_counter() - t0
        rows = [
            sorted(map(repr, pl.read_parquet(sorted((out / d).glob("*.parquet"))).rows()))
            for d in ("qa", "rejects")
        ]
        shutil.rmtree(out)
        return seconds, s.images, rows

    def entities(self, ex: str) -> tuple[float, int, object]:
        from radvqa_data.catalog.ingest import add_source
        from radvqa_data.entities.run import run_entities

        base = self.work / "entities-base.duckdb"
        if not base.exists():
            add_source(base, "medpix2", self.data / "medpix2", progress=False)
        cat = self._fresh(f"entities-{ex}") / "c.duckdb"
        shutil.copy(base, cat)
        t0 = time.perf_counter()
        s = run_entities(cat, progress=False, executor=ex)
        seconds = time.perf_counter() - t0
        rows = rows_of(cat, ("entities",))
        shutil.rmtree(cat.parent)
        return seconds, s.texts_processed, rows


def reply_cost(cat: Path, n_records: int = 64) -> float:
    """CPU seconds to parse, ground and filter one LLM reply (corpus replies x real records)."""
    from radvqa_data.core.db import connect
    from radvqa_data.filters import FilterChain, default_filters
    from radvqa_data.llm.backends.base import Sampling
    from radvqa_data.llm.backends.openai_http import OpenAIBackend
    from radvqa_data.llm.generator import LLMGenerator
    from radvqa_data.reader.image_records import load_shard, plan_shards

    # A real backend object that never sends anything: the generator reads its name and settings.
    gen = LLMGenerator(OpenAIBackend("http://127.0.0.1:9/v1", "m", Sampling(), check_server=False))
    con = connect(cat, read_only=True)
    try:
        plan = plan_shards(
            con, ["medpix2"], allow_missing=True, shard_size=n_records, limit=n_records
        )[0]
        records = load_shard(
            con, plan, allow_missing=True, split_override={}, text_fields=gen.text_fields
        )
    finally:
        con.close()
    replies = [
        json.loads(line)["text"] for line in (ROOT / "tests/data/llm_corpus/replies.jsonl").open()
    ]
    chain = FilterChain(default_filters())
    c0 = time.process_time()
    for rec in records:
        chain.reset()
        for text in replies:
            chain.split(gen.candidates_from_reply(rec, "open_qa.v1.jinja", text))
    return (time.process_time() - c0) / (len(records) * len(replies))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("RADVQA_SHARED_DATA", ROOT.parent / "shared" / "data")),
    )
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument(
        "--ray-address", default=None, help="a running cluster (default: a local Ray instance)"
    )
    ap.add_argument(
        "--steps", default="catalog,synth", help="comma list of catalog, synth, entities"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    for name in ("medpix2", "vqa-rad"):
        if not (args.data / name).is_dir():
            sys.exit(f"{args.data / name}: not found; pass --data pointing at the shared datasets")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    print(f"CPUs usable: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f}")
    startup = start_ray(args.ray_address)
    print(f"Ray start-up (ray.init, once per process): {startup:.2f} s")
    report: dict[str, object] = {"ray_startup_s": round(startup, 2), "steps": {}}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        runner = Steps(args.data, Path(tmp))
        for step in steps:
            run = getattr(runner, step)
            run("local")  # builds what the step reads, once, and imports what it needs
            c0 = cpu_seconds()
            local_s, n, local_rows = run("local")
            cpu = cpu_seconds() - c0
            cold_s, _, ray_rows = run("ray")
            if ray_rows != local_rows:
                sys.exit(f"{step}: Ray wrote other rows than local; timings would mean nothing")
            print(
                f"\n{step} ({n:,} items): local CPU {1000 * cpu / n:.2f} ms per item; "
                f"first Ray run, workers starting: {cold_s:.2f} s"
            )
            pairs = []
            for i in range(args.pairs):
                order = ("local", "ray") if i % 2 == 0 else ("ray", "local")
                t = {ex: run(ex)[0] for ex in order}
                loc, ray = t["local"], t["ray"]
                pairs.append((loc, ray))
                print(
                    f"  pair {i + 1}: local {loc:.2f} s ({n / loc:,.0f}/s), "
                    f"ray {ray:.2f} s ({n / ray:,.0f}/s), ray/local throughput {loc / ray:.2f}x"
                )
            med = statistics.median(a / b for a, b in pairs)
            med_local = statistics.median(a for a, _ in pairs)
            med_ray = statistics.median(b for _, b in pairs)
            print(
                f"  median ray/local throughput: {med:.2f}x (local {med_local:.2f} s, "
                f"ray {med_ray:.2f} s); load average {os.getloadavg()[0]:.1f}"
            )
            report["steps"][step] = {
                "items": n,
                "cpu_ms_per_item": round(1000 * cpu / n, 3),
                "ray_cold_s": round(cold_s, 2),
                "median_ratio": round(med, 3),
                "pairs": [[round(a, 3), round(b, 3)] for a, b in pairs],
            }
        if "synth" in steps:
            per_reply = reply_cost(runner._medpix_catalog())
            ms = 1000 * per_reply
            print(f"\nLLM reply -> rows (parse, ground, filter): {ms:.2f} ms CPU per reply")
            report["llm_reply_cpu_ms"] = round(1000 * per_reply, 3)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
