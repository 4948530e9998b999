"""`make_generator`: the one entry point `radvqa-data synth` uses for LLM backends.

Imported lazily by the synth CLI; the backend modules (httpx, torch/transformers, vllm) are
imported only for the backend chosen.
"""

from __future__ import annotations

from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm import defaults
from radvqa_data.llm.backends.base import Sampling

BACKENDS = ("openai", "transformers", "vllm")


def make_backend(
    backend: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    concurrency: int | None = None,
    timeout: float | None = None,
    sampling: Sampling,
    **options: Any,
) -> Any:
    """Build one backend; a ConfigError for a missing or inconsistent option."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown LLM backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if not model:
        raise ConfigError(
            f"--backend {backend} needs --model (a model name, or a local model directory)"
        )
    if backend == "openai":
        from radvqa_data.llm.backends.openai_http import OpenAIBackend

        if not base_url:
            raise ConfigError("--backend openai needs --base-url, e.g. http://127.0.0.1:8000/v1")
        return OpenAIBackend(
            base_url,
            model,
            sampling,
            api_key_env=api_key_env or defaults.API_KEY_ENV,
            concurrency=concurrency or defaults.CONCURRENCY,
            timeout=timeout or defaults.TIMEOUT_S,
            **options,
        )
    if backend == "transformers":
        from radvqa_data.llm.backends.hf_local import TransformersBackend

        return TransformersBackend(model, sampling, **options)
    from radvqa_data.llm.backends.vllm_local import VLLMBackend

    return VLLMBackend(model, sampling, **options)


def make_generator(
    backend: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    concurrency: int | None = None,
    timeout: float | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_new_tokens: int | None = None,
    seed: int | None = None,
    verify: bool = False,
    n_pairs: int = 4,
    templates: dict[str, str] | None = None,
    chunk_records: int | None = None,
    backend_options: dict[str, Any] | None = None,
) -> Any:
    """An `LLMGenerator` for `backend` (openai | transformers | vllm) with explicit sampling.

    `verify=True` adds the yes/no verifier pass, run by the same backend and model.
    `backend_options` go to the backend constructor (e.g. `retries`, `batch_size`, `load_format`).
    """
    from radvqa_data.llm.generator import LLMGenerator

    default = Sampling()
    sampling = Sampling(
        temperature=default.temperature if temperature is None else float(temperature),
        top_p=default.top_p if top_p is None else float(top_p),
        max_new_tokens=default.max_new_tokens if max_new_tokens is None else int(max_new_tokens),
        seed=default.seed if seed is None else int(seed),
    )
    if (
        not 0 <= sampling.temperature <= 2
        or not 0 < sampling.top_p <= 1
        or sampling.max_new_tokens < 1
    ):
        raise ConfigError(
            "sampling: need 0 <= temperature <= 2, 0 < top_p <= 1, max_new_tokens >= 1"
        )
    be = make_backend(
        backend,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout=timeout,
        sampling=sampling,
        **(backend_options or {}),
    )
    if chunk_records is None:
        # The driver writes a shard only when all its records are done, so a chunk as large as a
        # shard loses nothing on Ctrl-C and leaves server slots idle only once per shard.
        chunk_records = 256 if backend != "transformers" else 32
    return LLMGenerator(
        be,
        templates=templates,
        n_pairs=n_pairs,
        verify_backend=be if verify else None,
        chunk_records=chunk_records,
    )
