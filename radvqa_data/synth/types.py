"""The synthesis step's contract: what a generator is, and every member the driver uses.

The records a generator reads and yields are core types
(`radvqa_data.core.pipeline_records`); they are re-exported here so that code and pickles
naming `radvqa_data.synth.types.Candidate` (or `ImageRecord`, `Entity`) keep working. New code
imports them from the core.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord

__all__ = ["Candidate", "Entity", "Generator", "ImageRecord"]


class Generator(abc.ABC):
    """Turns image records into candidate QA pairs (rules, or prompts -> LLM -> parsed pairs).

    Subclass it and implement `generate`; the other members have defaults. The synth driver
    (`radvqa_data.synth.driver`, `shard_job`) uses these members and no others.
    """

    #: The backend name: each row's `generator` column, the manifest, the entities warning.
    name: str = "generator"
    #: The catalog texts the driver loads for each record, with their entities (None: all).
    text_fields: tuple[str, ...] | None = None
    #: True: `generate` reports finished images through `on_progress` itself (an LLM generator
    #: reports per finished request). False: the driver counts records as `generate` pulls them.
    reports_progress: bool = False
    #: Set by the driver while a run shows progress (only when `reports_progress`).
    on_progress: Callable[[float], None] | None = None
    #: Where `--executor ray` runs it: short stateless tasks, long-lived actors that keep a
    #: client or model, or one actor per GPU (an in-process engine).
    ray_placement: Literal["task", "actor", "gpu"] = "task"

    @property
    def settings(self) -> dict[str, object]:
        """What shapes the rows (templates, model, sampling): recorded in the manifest and part
        of the run's fingerprint, so a rerun under other settings is refused."""
        return {}

    def summary(self) -> dict[str, object]:
        """The generator's own counters, cumulative: ``backend`` (numeric request counters) and
        ``candidates`` (outcome -> count). Empty for a generator without a backend."""
        return {}

    @abc.abstractmethod
    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Yield candidates for `records` (in any order; may batch internally)."""
