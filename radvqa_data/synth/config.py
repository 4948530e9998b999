"""The typed configuration of one `synth` run, saved resolved in the manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from radvqa_data.core.errors import ConfigError
from radvqa_data.synth.rules.templates import RULES_VERSION

#: Benchmark sources are not synthesized from by default: their images are evaluation data.
BENCHMARK_KINDS = frozenset({"vqa-rad", "slake"})


@dataclass
class SynthConfig:
    """Every knob that changes what `synth` writes (the fingerprint covers all of them)."""

    backend: str = "rules"  # rules | openai | transformers | vllm
    sources: list[str] = field(default_factory=list)  # empty: every non-benchmark source
    limit: int | None = None  # first N images (sorted by source, image_id); None: all
    seed: int = 0
    allow_missing_images: bool = False  # text-only metadata rows for images whose file is missing
    shard_size: int = 256  # images per shard: higher = fewer files, more memory, coarser resume
    max_answer_words: int = 5  # LengthFilter: longer answers are rejected
    grounding_threshold: float = 85.0  # GroundingFilter: rapidfuzz partial_ratio needed
    yes_share_max: float = 0.55  # YesNoBalancer: most a yes/no type may lean to one answer
    balance: str = "reject"  # YesNoBalancer mode: reject | weight | off (filters.balance)
    generator_settings: dict = field(default_factory=dict)  # model, sampling (LLM backends)

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid value."""
        problems = []
        if self.shard_size < 1:
            problems.append(f"shard_size must be >= 1 (got {self.shard_size})")
        if self.limit is not None and self.limit < 1:
            problems.append(f"limit must be >= 1 (got {self.limit})")
        if self.max_answer_words < 1:
            problems.append(f"max_answer_words must be >= 1 (got {self.max_answer_words})")
        if not 0 < self.grounding_threshold <= 100:
            problems.append(
                f"grounding_threshold must be in (0, 100] (got {self.grounding_threshold})"
            )
        if not 0.5 <= self.yes_share_max < 1:
            problems.append(f"yes_share_max must be in [0.5, 1) (got {self.yes_share_max})")
        if self.balance not in ("reject", "weight", "off"):
            problems.append(f"balance must be one of reject, weight, off (got {self.balance!r})")
        if problems:
            raise ConfigError("; ".join(problems))

    def resolved(self) -> dict:
        """The configuration as written to the manifest."""
        d = asdict(self)
        d["rules_version"] = RULES_VERSION
        return d

    def fingerprint(self) -> str:
        """Hash of the resolved configuration: a rerun resumes only under the same one."""
        blob = json.dumps(self.resolved(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
