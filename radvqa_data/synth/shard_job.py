"""One shard's work, shared by every executor: records -> generator -> filters -> balance -> rows.

The driver runs `synth_shard` in-process (`--executor local`); under Ray, `ShardJob` (picklable:
the catalog path, the config and the generator) loads the shard's records from the catalog in a
Ray worker, runs the same `synth_shard`, and sends the rows back. The driver alone writes the
shard files, their state (the resume mark) and the manifest, so shard ids key completion for
both executors and their rows are the same.

A generator that raises for a record does not stop the run: the shard is generated again one
record at a time, and each record that still raises becomes one `generator_error` reject with
the exception as its `source_text`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from radvqa_data.core.answers import OPEN
from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.executor import item_error
from radvqa_data.filters import FilterChain, YesNoBalancer, default_filters
from radvqa_data.reader.image_records import ShardPlan, load_shard
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.types import Generator


@dataclass
class ShardResult:
    """What one shard produced: rows to write, and the generator's counters for this shard."""

    index: int
    n_images: int
    kept: list[dict]
    rejects: list[dict]
    backend: dict[str, float] = field(default_factory=dict)  # LLM backend counters (delta)
    candidates: dict[str, int] = field(default_factory=dict)  # LLM generator outcomes (delta)


def synth_shard(
    index: int,
    records: list[ImageRecord],
    generator: Generator,
    chain: FilterChain,
    balancer: YesNoBalancer,
    stream: Iterable[ImageRecord] | None = None,
) -> ShardResult:
    """Generate, filter and balance one shard's records (`stream`: the same records, counted)."""
    chain.reset()
    before = generator_counters(generator)
    kept_c, rejected_c = chain.split(_generate(generator, records, stream))
    kept_ids = [(c.row_id(), c) for c in kept_c]
    kept_ids, trimmed = balancer.balance(kept_ids)
    kept = [c.to_row(rid) for rid, c in kept_ids]
    rejects = [{**c.to_row(c.row_id()), "reason": reason} for c, reason in rejected_c]
    rejects += [{**c.to_row(rid), "reason": balancer.name} for rid, c in trimmed]
    after = generator_counters(generator)
    return ShardResult(
        index,
        len(records),
        kept,
        rejects,
        backend=counters_delta(before["backend"], after["backend"]),
        candidates={
            k: v for k, v in (Counter(after["candidates"]) - Counter(before["candidates"])).items()
        },
    )


def _generate(
    generator: Generator, records: list[ImageRecord], stream: Iterable[ImageRecord] | None
) -> list[Candidate]:
    """All candidates of `records`; a record whose generation raises becomes one reject."""
    try:
        return list(generator.generate(records if stream is None else stream))
    except Exception:  # isolate the record below, whatever the generator raised
        pass
    out: list[Candidate] = []
    for rec in records:
        try:
            out.extend(generator.generate([rec]))
        except Exception as exc:  # one bad record must not stop the run
            out.append(Candidate(
                record=rec, question="", answer="", answer_type=OPEN, question_type="OTHER",
                generator=generator.name, template_id="",
                prompt_version="", reject_reason="generator_error", source_field="error",
                source_text=item_error(exc),
            ))  # fmt: skip
    return out


def generator_counters(generator: Generator) -> dict[str, dict]:
    """The generator's numeric backend counters and candidate outcomes (empty for rules)."""
    summary = generator.summary()
    backend = summary.get("backend") if isinstance(summary, dict) else None
    candidates = summary.get("candidates") if isinstance(summary, dict) else None
    numeric = {
        k: v
        for k, v in (backend or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return {"backend": numeric, "candidates": dict(candidates or {})}


def backend_counters(generator: Generator) -> dict[str, float]:
    """The numeric backend counters of `generator.summary()["backend"]` (requests, retries,
    timeouts, tokens, seconds); empty for a generator without a backend (rules)."""
    return generator_counters(generator)["backend"]


def counters_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What one shard added to the counters (`peak_*` values are maxima: the value after)."""
    delta = {}
    for k, v in after.items():
        d = v if k.startswith("peak_") else v - before.get(k, 0)
        delta[k] = round(d, 3) if isinstance(d, float) else d
    return delta


@dataclass
class ShardJob:
    """A shard plan -> its `ShardResult`, in any process that can read the catalog file.

    Each call opens the catalog read-only and closes it again: a worker that kept it open would
    lock out the next `catalog add` or `entities` on the same file.
    """

    catalog: str
    config: SynthConfig
    generator: Generator
    split_override: dict[tuple[str, str], str]
    text_fields: tuple[str, ...] | None

    def __call__(self, plan: ShardPlan) -> ShardResult:
        from radvqa_data.core.db import connect

        with connect(self.catalog, read_only=True) as con:
            records = load_shard(
                con,
                plan,
                allow_missing=self.config.allow_missing_images,
                split_override=self.split_override,
                text_fields=self.text_fields,
            )
        return synth_shard(plan.index, records, self.generator, self.chain(), self.balancer())

    def chain(self) -> FilterChain:
        """The run's filter chain (one per call: its per-shard state starts empty)."""
        c = self.config
        return FilterChain(
            default_filters(
                max_answer_words=c.max_answer_words, grounding_threshold=c.grounding_threshold
            )
        )

    def balancer(self) -> YesNoBalancer:
        """The run's yes/no balancer."""
        return YesNoBalancer(self.config.yes_share_max, self.config.balance)


def ray_placement(
    generator: Generator, cpus: int, gpus: int, shards: int
) -> tuple[int | None, float]:
    """(actors, GPUs per actor) for a generator on Ray: rules run as short tasks; an LLM
    generator on long-lived actors that keep their client or model (one per CPU, or one vLLM
    engine replica per GPU)."""
    from radvqa_data.core.errors import ConfigError

    if generator.ray_placement == "task":
        return None, 0
    if generator.ray_placement == "gpu":
        if gpus < 1:
            raise ConfigError("--backend vllm on Ray needs GPU nodes in the cluster; it has none")
        return min(gpus, shards), 1
    return min(cpus, shards), 0
