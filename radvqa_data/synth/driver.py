"""The synth driver: shards of image records -> any Generator -> filters -> balance -> Parquet.

The driver is backend-agnostic: it accepts any `Generator` (rules, or an LLM backend from
`radvqa_data.llm`), runs every candidate through the shared `FilterChain` and the yes/no
balancer, and writes kept rows and rejects (with their reason) shard by shard.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from radvqa_data.catalog.db import connect
from radvqa_data.errors import InputError
from radvqa_data.filters import FilterChain, YesNoBalancer, default_filters
from radvqa_data.synth.config import BENCHMARK_KINDS, SynthConfig
from radvqa_data.synth.manifest import shard_stats, write_manifest
from radvqa_data.synth.progress import ShardProgress, counted, progress_bar
from radvqa_data.synth.records import (
    case_splits,
    catalog_fingerprint,
    load_shard,
    plan_shards,
    texts_without_entities,
)
from radvqa_data.synth.shards import claim_output, finished_shards, row_id, to_row, write_shard
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


def resolve_sources(con, requested: list[str]) -> list[str]:
    """The requested sources (each must be catalogued), or every non-benchmark source."""
    rows = con.execute("SELECT name, kind FROM sources ORDER BY name").fetchall()
    known = {name: kind for name, kind in rows}
    if requested:
        unknown = [s for s in requested if s not in known]
        if unknown:
            raise InputError(f"source(s) {', '.join(unknown)} not in the catalog (catalogued: {', '.join(known) or 'none'})")
        return list(requested)
    chosen = [n for n, k in known.items() if k not in BENCHMARK_KINDS]
    if not chosen:
        raise InputError("the catalog has no source to synthesize from; add one with `radvqa-data catalog add`")
    return chosen


def run_synth(
    catalog: str | Path,
    out: str | Path,
    config: SynthConfig,
    generator: Generator,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> SynthSummary:
    """Synthesize QA shards into `out` (resuming finished shards of the same run)."""
    config.validate()
    t0 = time.perf_counter()
    out = Path(out)
    con = connect(catalog, read_only=True)
    try:
        sources = resolve_sources(con, config.sources)
        config.sources = sources
        settings = getattr(generator, "settings", None)  # templates, model, sampling of the backend
        if isinstance(settings, dict):
            config.generator_settings = {**config.generator_settings, **settings}
        fp = catalog_fingerprint(con, sources)
        # The resolved config rides along so that a refused rerun can name what changed.
        resolved = json.loads(json.dumps(config.resolved(), default=str))
        claim_output(out, {"config": config.fingerprint(), "catalog": fp, "resolved": resolved}, overwrite=overwrite)
        plans = plan_shards(con, sources, allow_missing=config.allow_missing_images,
                            shard_size=config.shard_size, limit=config.limit)
        overrides, conflicts = case_splits(con, sources)
        done = finished_shards(out)
        summary = SynthSummary(out, shards_total=len(plans), shards_skipped=sum(p.index in done for p in plans))
        chain = FilterChain(default_filters(max_answer_words=config.max_answer_words,
                                            grounding_threshold=config.grounding_threshold))
        balancer = YesNoBalancer(config.yes_share_max)
        todo = [p for p in plans if p.index not in done]
        text_fields = getattr(generator, "text_fields", None)  # optional: what the generator reads
        missing = texts_without_entities(con, sources, text_fields)
        if missing:
            summary.warnings.append(_missing_entities_warning(generator, missing, catalog))
        # Per-image progress: a generator with an `on_progress` hook (the LLM one) reports finished
        # requests itself; for the others each record pulled means the previous one is done.
        hooked = hasattr(generator, "on_progress")
        with progress_bar("synth", sum(p.n_images for p in todo), "images", progress) as advance:
            tick = ShardProgress(advance)
            if hooked:
                generator.on_progress = tick
            try:
                for plan in todo:
                    _run_shard(con, out, plan, config, generator, chain, balancer, overrides, text_fields,
                               done, summary, tick if not hooked else None)
                    tick.finish(plan.n_images)
            finally:
                if hooked:
                    generator.on_progress = None
        summary.manifest = write_manifest(
            out, config, catalog=Path(catalog), catalog_fp=fp, plans=plans, done=done, case_conflicts=conflicts,
            generator=getattr(generator, "name", type(generator).__name__),
        )
        if callable(getattr(generator, "summary", None)):
            summary.generator_summary = generator.summary()
    finally:
        con.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_shard(con, out: Path, plan, config: SynthConfig, generator: Generator, chain: FilterChain,
               balancer: YesNoBalancer, overrides, text_fields, done: dict, summary: SynthSummary, tick) -> None:
    """Generate, filter, balance and write one shard; record its counts in `done` and `summary`."""
    records = load_shard(con, plan, allow_missing=config.allow_missing_images,
                         split_override=overrides, text_fields=text_fields)
    chain.reset()
    before = backend_counters(generator)
    stream = records if tick is None else counted(records, tick)
    kept_c, rejected_c = chain.split(generator.generate(stream))
    kept_ids = [(row_id(c), c) for c in kept_c]
    kept_ids, trimmed = balancer.balance(kept_ids)
    kept = [to_row(rid, c) for rid, c in kept_ids]
    rejects = [{**to_row(row_id(c), c), "reason": reason} for c, reason in rejected_c]
    rejects += [{**to_row(rid, c), "reason": balancer.name} for rid, c in trimmed]
    stats = shard_stats(plan, len(records), kept, rejects, backend=counters_delta(before, backend_counters(generator)))
    write_shard(out, plan.index, kept, rejects, stats)
    done[plan.index] = stats
    summary.images += len(records)
    summary.kept += len(kept)
    summary.rejected.update(r["reason"] for r in rejects)


def backend_counters(generator: Generator) -> dict[str, float]:
    """The numeric backend counters of `generator.summary()["backend"]` (requests, retries,
    timeouts, tokens, seconds); empty for a generator without a backend (rules)."""
    get = getattr(generator, "summary", None)
    backend = get().get("backend") if callable(get) else None
    if not isinstance(backend, dict):
        return {}
    return {k: v for k, v in backend.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def counters_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What one shard added to the counters (`peak_*` values are maxima: the value after)."""
    delta = {}
    for k, v in after.items():
        d = v if k.startswith("peak_") else v - before.get(k, 0)
        delta[k] = round(d, 3) if isinstance(d, float) else d
    return delta


def _missing_entities_warning(generator: Generator, missing: int, catalog) -> str:
    run = f"run `radvqa-data entities --catalog {catalog}` first"
    if getattr(generator, "name", None) == "rules":
        return f"{missing:,} texts have no entities yet, so they yield metadata questions only; {run}"
    return (f"{missing:,} texts have no entities yet, so prompts list no entities or negations for them "
            f"and answers cannot be grounded on normalized entity names; {run}")
