"""`LLMEndpoint`: everything that says which model answers and how, in one value.

Synthesis (`radvqa-data synth --backend openai|transformers|vllm`) and the trainer's judge
(`radvqa-train eval --judge openai`) both build one from their options and call `connect` for
the backend; nothing passes the URL, model, key, timeout, concurrency, retries and sampling
one by one. Defaults live in `llm/defaults.py` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm import defaults
from radvqa_data.llm.backends.base import Sampling

#: Backends an endpoint can name: an OpenAI-compatible server, or an in-process engine.
BACKENDS = ("openai", "transformers", "vllm")


@dataclass(frozen=True)
class LLMEndpoint:
    """A model behind a backend: where it is, how it is asked, how it samples.

    `base_url`, `api_key_env`, `concurrency`, `timeout` and `retries` concern the HTTP backend
    (``openai``); `model` is a model name (a server's) or a local model folder.
    """

    backend: str
    model: str | None
    base_url: str | None = None
    api_key_env: str = defaults.API_KEY_ENV
    concurrency: int = defaults.CONCURRENCY
    timeout: float = defaults.TIMEOUT_S
    retries: int = defaults.RETRIES
    sampling: Sampling = field(default_factory=Sampling)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"unknown LLM backend '{self.backend}'; choose one of {', '.join(BACKENDS)}"
            )
        s = self.sampling
        if not 0 <= s.temperature <= 2 or not 0 < s.top_p <= 1 or s.max_new_tokens < 1:
            raise ConfigError(
                "sampling: need 0 <= temperature <= 2, 0 < top_p <= 1, max_new_tokens >= 1"
            )

    def connect(self, **options: Any) -> Any:
        """The backend (`llm/backends/`); a ConfigError for a missing or inconsistent option.

        `options` go to the backend's constructor (e.g. `batch_size`, `lazy`, `load_format`).
        """
        if not self.model:
            raise ConfigError(
                f"--backend {self.backend} needs --model (a model name, or a local model directory)"
            )
        if self.backend == "openai":
            from radvqa_data.llm.backends.openai_http import OpenAIBackend

            if not self.base_url:
                raise ConfigError(
                    "--backend openai needs --base-url, e.g. http://127.0.0.1:8000/v1"
                )
            return OpenAIBackend(
                self.base_url,
                self.model,
                self.sampling,
                api_key_env=self.api_key_env,
                concurrency=self.concurrency,
                timeout=self.timeout,
                retries=self.retries,
                **options,
            )
        if self.backend == "transformers":
            from radvqa_data.llm.backends.hf_local import TransformersBackend

            return TransformersBackend(self.model, self.sampling, **options)
        from radvqa_data.llm.backends.vllm_local import VLLMBackend

        return VLLMBackend(self.model, self.sampling, **options)

    def record(self) -> dict[str, Any]:
        """What a run records about the endpoint (never the key itself)."""
        return {
            "backend": self.backend,
            "base_url": self.base_url,
            "model": self.model,
            "sampling": asdict(self.sampling),
            "timeout": self.timeout,
            "retries": self.retries,
            "concurrency": self.concurrency,
        }
