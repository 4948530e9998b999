"""LLM generators: `llm_generator(endpoint)` for the synth registry, `make_generator(backend,
...)` for code that has the options one by one (tests, notebooks).

Imported lazily by the synth registry; the backend modules (httpx, torch/transformers, vllm) are
imported only for the backend chosen (`LLMEndpoint.connect`).
"""

from __future__ import annotations

from typing import Any

from radvqa_data.llm import defaults
from radvqa_data.llm.backends.base import Sampling
from radvqa_data.llm.endpoint import BACKENDS, LLMEndpoint

__all__ = ["BACKENDS", "llm_generator", "make_generator"]


def llm_generator(
    endpoint: LLMEndpoint,
    *,
    verify: bool = False,
    n_pairs: int = 4,
    templates: dict[str, str] | None = None,
    chunk_records: int | None = None,
    backend_options: dict[str, Any] | None = None,
) -> Any:
    """An `LLMGenerator` asking `endpoint`.

    `verify=True` adds the yes/no verifier pass, run by the same backend and model.
    `backend_options` go to the backend constructor (e.g. `batch_size`, `load_format`, `lazy`).
    """
    from radvqa_data.llm.generator import LLMGenerator

    be = endpoint.connect(**(backend_options or {}))
    if chunk_records is None:
        # The driver writes a shard only when all its records are done, so a chunk as large as a
        # shard loses nothing on Ctrl-C and leaves server slots idle only once per shard.
        chunk_records = 256 if endpoint.backend != "transformers" else 32
    return LLMGenerator(
        be,
        templates=templates,
        n_pairs=n_pairs,
        verify_backend=be if verify else None,
        chunk_records=chunk_records,
    )


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
    """`llm_generator` for an endpoint given field by field (None: the default of
    `llm/defaults.py`); a ``retries`` in `backend_options` is the endpoint's."""
    options = dict(backend_options or {})
    sampling = Sampling(
        temperature=defaults.TEMPERATURE if temperature is None else float(temperature),
        top_p=defaults.TOP_P if top_p is None else float(top_p),
        max_new_tokens=defaults.MAX_NEW_TOKENS if max_new_tokens is None else int(max_new_tokens),
        seed=defaults.SEED if seed is None else int(seed),
    )
    endpoint = LLMEndpoint(
        backend,
        model,
        base_url=base_url,
        api_key_env=api_key_env or defaults.API_KEY_ENV,
        concurrency=concurrency or defaults.CONCURRENCY,
        timeout=timeout or defaults.TIMEOUT_S,
        retries=int(options.pop("retries", defaults.RETRIES)),
        sampling=sampling,
    )
    return llm_generator(
        endpoint,
        verify=verify,
        n_pairs=n_pairs,
        templates=templates,
        chunk_records=chunk_records,
        backend_options=options,
    )
