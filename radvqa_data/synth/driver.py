"""The synth driver: shards of image records -> any Generator -> filters -> balance -> Parquet.

The driver is backend-agnostic: it accepts any `Generator` (rules, or an LLM backend from
`radvqa_data.llm`), runs every candidate through the shared `FilterChain` and the yes/no
balancer, and writes kept rows and rejects (with their reason) shard by shard.

Executors: `local` runs the shards here, one after the other; `ray` runs them as a Ray Data map
(`radvqa_data.synth.shard_job`), rules as short tasks and LLM backends on actors, and this
process writes each shard as it comes back. Same shards, same rows, same manifest counts.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from radvqa_data.core.db import connect
from radvqa_data.core.errors import ALLOW_EMPTY_HINT, EmptyOutputError, InputError
from radvqa_data.core.progress import progress_bar
from radvqa_data.reader.catalog import source_kinds
from radvqa_data.reader.image_records import (
    case_splits,
    catalog_fingerprint,
    images_left_out,
    load_shard,
    plan_shards,
    texts_without_entities,
)
from radvqa_data.synth.config import BENCHMARK_KINDS, SynthConfig
from radvqa_data.synth.manifest import backend_totals, shard_stats, splits_text, write_manifest
from radvqa_data.synth.progress import ShardProgress, counted
from radvqa_data.synth.shard_job import ShardJob, ShardResult, ray_placement, synth_shard
from radvqa_data.synth.shards import claim_output, finished_shards, write_shard
from radvqa_data.synth.types import Generator


@dataclass
class SynthSummary:
    """What one `synth` run did (this run's shards; the manifest has the totals)."""

    out: Path
    shards_total: int = 0
    shards_skipped: int = 0  # finished by an earlier run
    images: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    manifest: dict = field(default_factory=dict)
    generator_summary: dict = field(default_factory=dict)  # the backend's own counters, this run
    warnings: list[str] = field(default_factory=list)
    # What the run did not do and why, one line per reason (images left out, no train split)
    not_done: list[str] = field(default_factory=list)


@dataclass
class _Run:
    """What every shard of a run writes into: the folder, the finished shards' stats (updated
    as shards finish), the run summary and the progress bar."""

    out: Path
    done: dict
    summary: SynthSummary
    advance: Callable[[float], None]

    def write(self, plan, result: ShardResult) -> None:
        """Write one shard and its state (the commit mark); count it in `done` and `summary`."""
        stats = shard_stats(
            plan, result.n_images, result.kept, result.rejects, backend=result.backend
        )
        write_shard(self.out, plan.index, result.kept, result.rejects, stats)
        self.done[plan.index] = stats
        self.summary.images += result.n_images
        self.summary.kept += len(result.kept)
        self.summary.rejected.update(r["reason"] for r in result.rejects)


def resolve_sources(con, requested: list[str]) -> list[str]:
    """The requested sources (each must be catalogued), or every non-benchmark source."""
    known = source_kinds(con)
    if requested:
        unknown = [s for s in requested if s not in known]
        if unknown:
            raise InputError(
                f"source(s) {', '.join(unknown)} not in the catalog "
                f"(catalogued: {', '.join(known) or 'none'})"
            )
        return list(requested)
    chosen = [n for n, k in known.items() if k not in BENCHMARK_KINDS]
    if not chosen:
        raise InputError(
            "the catalog has no source to synthesize from; add one with `radvqa-data catalog add`"
        )
    return chosen


def run_synth(
    catalog: str | Path,
    out: str | Path,
    config: SynthConfig,
    generator: Generator,
    *,
    overwrite: bool = False,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
    allow_empty: bool = False,
) -> SynthSummary:
    """Synthesize QA shards into `out` (resuming finished shards of the same run).

    No image to read raises `EmptyOutputError` before anything is written (the reasons: images
    without a file, benchmark sources left out), unless `allow_empty`; `summary.not_done` names
    every reason rows are missing, one line each (the CLI also exits non-zero on 0 rows).

    `executor`: `local` (this process) or `ray` (a Ray Data map over the shards on the cluster
    at `ray_address`, default a local Ray instance; the workers read the catalog file, so it
    must be at the same path on every node). Which executor ran is not part of the run's
    identity: a run interrupted on one can be finished on the other.
    """
    from radvqa_data.executor import make_executor

    config.validate()
    ex = make_executor(executor, address=ray_address)
    t0 = time.perf_counter()
    out = Path(out)
    with connect(catalog, read_only=True) as con:
        sources = resolve_sources(con, config.sources)
        left_out = images_left_out(con, sources, allow_missing=config.allow_missing_images)
        not_done = _left_out_lines(left_out) + _benchmarks_left_out(con, config.sources)
        # the caller's config stays as it was: this run's copy names its sources and settings
        config = dataclasses.replace(
            config,
            sources=sources,
            generator_settings={**config.generator_settings, **generator.settings},
        )
        fp = catalog_fingerprint(con, sources)
        plans = plan_shards(
            con,
            sources,
            allow_missing=config.allow_missing_images,
            shard_size=config.shard_size,
            limit=config.limit,
        )
        if not plans and not allow_empty:  # before claiming `out`: nothing is written
            why = "; ".join(not_done) or f"sources {', '.join(sources)} hold no image"
            raise EmptyOutputError(f"no image to synthesize from: {why}; {ALLOW_EMPTY_HINT}")
        # The resolved config rides along so that a refused rerun can name what changed.
        resolved = json.loads(json.dumps(config.resolved(), default=str))
        claim_output(
            out,
            {"config": config.fingerprint(), "catalog": fp, "resolved": resolved},
            overwrite=overwrite,
        )
        overrides, conflicts = case_splits(con, sources)
        done = finished_shards(out)
        summary = SynthSummary(
            out, shards_total=len(plans), shards_skipped=sum(p.index in done for p in plans)
        )
        todo = [p for p in plans if p.index not in done]
        text_fields = generator.text_fields
        missing = texts_without_entities(con, sources, text_fields)
        if missing:
            summary.warnings.append(_missing_entities_warning(generator, missing, catalog))
        job = ShardJob(str(Path(catalog).resolve()), config, generator, overrides, text_fields)
        with progress_bar("synth", sum(p.n_images for p in todo), "images", progress) as advance:
            run = _Run(out, done, summary, advance)
            if ex.remote:
                _run_remote(ex, job, todo, run)
            else:
                _run_local(ex, con, job, todo, run)
        summary.manifest = write_manifest(
            out,
            config,
            catalog=Path(catalog),
            catalog_fp=fp,
            plans=plans,
            done=done,
            case_conflicts=conflicts,
            generator=generator.name,
            left_out=left_out,
            not_done=not_done,
        )
        summary.not_done = list(summary.manifest["not_done"])
        # Under Ray each worker counted on its own copy of the generator: `_run_remote` sums
        # the shards' counters instead.
        if not ex.remote:
            summary.generator_summary = generator.summary()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_local(ex, con, job: ShardJob, todo: list, run: _Run) -> None:
    """The shards one after the other in this process (the local executor runs them inline,
    in order), on the driver's connection, the bar moving per image."""
    generator, chain, balancer = job.generator, job.chain(), job.balancer()
    # Per-image progress: a generator that reports progress (the LLM one) reports finished
    # requests itself; for the others each record pulled means the previous one is done.
    hooked = generator.reports_progress
    tick = ShardProgress(run.advance)

    def one(plan) -> ShardResult:
        records = load_shard(
            con,
            plan,
            allow_missing=job.config.allow_missing_images,
            split_override=job.split_override,
            text_fields=job.text_fields,
        )
        stream = records if hooked else counted(records, tick)
        return synth_shard(plan.index, records, generator, chain, balancer, stream)

    if hooked:
        generator.on_progress = tick
    try:
        for plan, result in zip(todo, ex.map_dataset(one, todo), strict=True):
            run.write(plan, result)
            tick.finish(plan.n_images)
    finally:
        if hooked:
            generator.on_progress = None


def _run_remote(ex, job: ShardJob, todo: list, run: _Run) -> None:
    """The shards as a Ray Data map; each is written here as it comes back (any order)."""
    from radvqa_data.executor.ray_runtime import cluster_cpus, cluster_gpus

    plans = {p.index: p for p in todo}
    cpus, gpus = cluster_cpus(ex.ray), cluster_gpus(ex.ray)
    actors, gpus_each = ray_placement(job.generator, cpus, gpus, len(todo))
    backend: list[dict] = []
    candidates: Counter = Counter()
    try:
        for result in ex.map_dataset(job, todo, actors=actors, num_gpus=gpus_each):
            run.write(plans[result.index], result)
            backend.append({"backend": result.backend})
            candidates.update(result.candidates)
            run.advance(result.n_images)
    finally:
        if candidates or any(b["backend"] for b in backend):  # an LLM generator (rules count none)
            run.summary.generator_summary = {
                "candidates": dict(candidates),
                "backend": backend_totals(backend),
            }


def _left_out_lines(left_out: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """One line per (source, reason) of images the run does not read."""
    lines = []
    for source, by_status in left_out.items():
        for status, by_split in by_status.items():
            n = sum(by_split.values())
            if status == "missing":
                what = f"{n:,} records without an image file"
                fix = "pass --allow-missing-images for caption-only rows"
            else:
                what = f"{n:,} images the catalog could not decode ({status})"
                fix = "see the catalog's ingest_issues table"
            lines.append(f"{source}: {what} ({splits_text(by_split)}): no rows; {fix}")
    return lines


def _benchmarks_left_out(con, requested: list[str]) -> list[str]:
    """Benchmark sources the default selection skips (their images are evaluation data)."""
    if requested:
        return []
    return [
        f"{name}: benchmark source ({kind}), not synthesized from: its images are evaluation "
        "data; name it in --sources to use it anyway"
        for name, kind in source_kinds(con).items()
        if kind in BENCHMARK_KINDS
    ]


def _missing_entities_warning(generator: Generator, missing: int, catalog) -> str:
    run = f"run `radvqa-data entities --catalog {catalog}` first"
    if generator.name == "rules":
        return (
            f"{missing:,} texts have no entities yet, so they yield metadata questions only; {run}"
        )
    return (
        f"{missing:,} texts have no entities yet, so prompts list no entities or negations "
        "for them "
        f"and answers cannot be grounded on normalized entity names; {run}"
    )
