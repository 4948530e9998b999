"""vLLM in-process (`vllm.LLM`) with structured JSON output, for GPU machines.

vLLM pins its own torch and transformers, which conflict with this project's CPU pins, so it
is an optional extra installed in its own environment (see docs/llm.md); it is imported only
when this backend is built. The recommended way to use vLLM is still `vllm serve MODEL` plus
`--backend openai`: the server owns the GPU and this project's environment stays clean.

Structured output: vLLM >= 0.12 takes
`SamplingParams(structured_outputs=StructuredOutputsParams(json=...))`; older releases took
`guided_decoding=GuidedDecodingParams(json=...)`. Both are handled.

On Ray (`synth --executor ray`) the backend is built `lazy` on the driver, which may have no GPU
and no vLLM, and pickled to one actor per GPU: a pickled backend carries its recipe (model,
sampling, engine options), never the engine, and each copy starts its own engine on first use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from radvqa_data.core.errors import require
from radvqa_data.llm.backends.base import BackendStats, Completion, Sampling
from radvqa_data.llm.prompting import Prompt

INSTALL = (
    "python -m venv .venv-vllm && .venv-vllm/bin/pip install vllm && "
    ".venv-vllm/bin/pip install --no-deps -e . "
    "(a GPU machine; or run `vllm serve MODEL` and use --backend openai)"
)


def load_vllm() -> Any:
    """Import vllm or fail with the install command (MissingDependencyError)."""
    return require("vllm", INSTALL)


def structured_kwargs(vllm_module: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """SamplingParams keyword arguments that constrain the reply to `schema`, for this vLLM
    version."""
    if not schema:
        return {}
    params = vllm_module.sampling_params
    if hasattr(params, "StructuredOutputsParams"):
        return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
    if hasattr(params, "GuidedDecodingParams"):  # vLLM < 0.12
        return {"guided_decoding": params.GuidedDecodingParams(json=schema)}
    return {}


class VLLMBackend:
    """Offline batched generation with `vllm.LLM.chat`; every prompt of a batch in one call."""

    name = "vllm"
    on_done: Callable[[int], None] | None = None  # called with a prompt's index as it finishes

    def __init__(
        self,
        model: str,
        sampling: Sampling,
        *,
        guided: bool = True,
        lazy: bool = False,  # start the engine on first use (a Ray replica), not now
        **llm_kwargs: Any,
    ) -> None:
        self.model = model
        self.sampling = sampling
        self.guided = guided  # constrain replies to the JSON schema (no parse failures from format)
        self.stats = BackendStats()
        # llm_kwargs: e.g. load_format="dummy" (random weights, no download),
        # gpu_memory_utilization.
        self.llm_kwargs = llm_kwargs
        self._vllm: Any = None
        self.llm: Any = None
        if not lazy:
            self._start()

    def _start(self) -> None:
        """Import vLLM (or fail with the install command) and start the engine."""
        self._vllm = load_vllm()
        self.llm = self._vllm.LLM(model=self.model, seed=self.sampling.seed, **self.llm_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the recipe, not the engine (a Ray actor starts its own)."""
        return {**self.__dict__, "_vllm": None, "llm": None}

    def sampling_params(self, prompt: Prompt) -> Any:
        """The vllm.SamplingParams of one prompt (its own JSON schema when guided)."""
        if self._vllm is None:
            self._vllm = load_vllm()
        s = self.sampling
        extra = structured_kwargs(self._vllm, prompt.schema) if self.guided else {}
        return self._vllm.SamplingParams(
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_new_tokens,
            seed=s.seed,
            **extra,
        )

    def complete(self, prompts: Sequence[Prompt]) -> list[Completion]:
        """Generate for all prompts in one `LLM.chat` call (vLLM schedules the batch itself)."""
        if self.llm is None:
            self._start()
        start = time.perf_counter()
        outputs = self.llm.chat(
            [p.messages for p in prompts],
            [self.sampling_params(p) for p in prompts],
            use_tqdm=False,
        )
        results = []
        for out in outputs:
            gen = out.outputs[0]
            n_prompt = len(out.prompt_token_ids or [])
            results.append(
                Completion(
                    gen.text, None, n_prompt, len(gen.token_ids), finish_reason=gen.finish_reason
                )
            )
        self.stats.seconds += time.perf_counter() - start
        for i, c in enumerate(results):
            self.stats.add(c)
            if self.on_done is not None:  # one engine call: progress moves when it returns
                self.on_done(i)
        return results

    def close(self) -> None:
        """Drop the engine (frees GPU memory)."""
        self.llm = None
