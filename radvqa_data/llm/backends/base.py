"""What every backend shares: sampling settings, one completion, counters, the protocol."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from radvqa_data.llm import defaults
from radvqa_data.llm.prompting import Prompt


@dataclass(frozen=True)
class Sampling:
    """Sampling settings, explicit and recorded (as JSON) on every generated row."""

    temperature: float = defaults.TEMPERATURE  # 0 = greedy; higher = more varied, more junk
    top_p: float = defaults.TOP_P
    max_new_tokens: int = defaults.MAX_NEW_TOKENS
    seed: int = defaults.SEED

    def to_json(self) -> str:
        """Stable JSON text for the `sampling` column."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class Completion:
    """One backend answer: the text, or why there is none."""

    text: str | None
    error: str | None = None  # e.g. "timeout", "http_500" after all retries
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    attempts: int = 1
    finish_reason: str | None = (
        None  # "stop" | "length" (hit max_new_tokens), when the backend says
    )


@dataclass
class BackendStats:
    """Counters a run reports at the end (and the benchmark reads)."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    peak_in_flight: int = 0  # most requests awaiting a reply at once (HTTP backend)

    def add(self, c: Completion) -> None:
        """Count one finished request."""
        self.requests += 1
        self.retries += c.attempts - 1
        self.failures += c.error is not None
        self.prompt_tokens += c.prompt_tokens or 0
        self.completion_tokens += c.completion_tokens or 0


class Backend(Protocol):
    """Turns a batch of prompts into completions, in the same order."""

    name: str  # openai | transformers | vllm
    model: str
    sampling: Sampling
    stats: BackendStats
    # Optional: set by LLMGenerator around a `complete` call, called with each prompt's index as
    # its completion is ready (progress bars); None otherwise.
    on_done: Callable[[int], None] | None

    def complete(self, prompts: Sequence[Prompt]) -> list[Completion]:
        """Answer every prompt; per-prompt failures are `Completion(text=None, error=...)`."""
        ...

    def close(self) -> None:
        """Release clients, models or servers."""
        ...
