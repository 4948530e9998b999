"""An LLM judge for open answers: does the prediction mean the same as the reference?

Recall and exact match under-credit a correct paraphrase ("left kidney" vs "in the left renal
fossa"); a judge model asked the question, the reference and the prediction does not. Its
verdicts are reported *beside* recall and exact match (`radvqa_train.judge_run`), never instead.

- The prompt is a versioned template (``radvqa_data/llm/prompts/judge.v1.jinja``, rendered by
  the same code as the synthesis prompts); a new wording is a new version file.
- The reply format is strict (``{"verdict": "yes"}`` / ``{"verdict": "no"}``, also sent as a
  JSON schema where the server supports it) and parsed robustly by `parse_verdict`
  (`radvqa_data.llm.verdict`, shared with the synthesis verifier).
- The judge is any OpenAI-compatible server (`vllm serve`, `transformers serve`, a hosted API),
  reached through the project's HTTP backend (`radvqa_data.llm.backends.openai_http`):
  bounded concurrency, timeouts, retries. Sampling is greedy by default so that a verdict
  repeats; model, prompt version and sampling go into ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm.client import defaults

JUDGE_TEMPLATE = "judge.v1.jinja"
JUDGES = ("openai",)

#: The reply the prompt asks for; sent as `response_format` (vLLM, llama.cpp constrain to it).
JUDGE_SCHEMA_JSON: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class JudgeSettings:
    """Which judge, with which prompt and sampling; recorded in metrics.json."""

    base_url: str
    model: str
    backend: str = "openai"
    template: str = JUDGE_TEMPLATE
    api_key_env: str = defaults.API_KEY_ENV
    concurrency: int = defaults.CONCURRENCY  # requests in flight; the server's batch capacity
    timeout: float = defaults.TIMEOUT_S  # seconds per attempt; a failed item is counted
    retries: int = defaults.JUDGE_RETRIES  # extra attempts after a timeout, 429, 5xx
    temperature: float = defaults.JUDGE_TEMPERATURE  # greedy: an item gets the same verdict
    top_p: float = defaults.JUDGE_TOP_P
    max_new_tokens: int = defaults.JUDGE_MAX_NEW_TOKENS  # a verdict is ~6 tokens
    seed: int = defaults.SEED

    def __post_init__(self) -> None:
        if self.backend not in JUDGES:
            raise ConfigError(
                f"--judge {self.backend}: unknown judge (expected: {', '.join(JUDGES)})"
            )
        if not self.base_url or not self.model:
            raise ConfigError("--judge openai needs --judge-base-url URL and --judge-model NAME")

    def sampling(self) -> Any:
        """The backend's `Sampling` for these settings."""
        from radvqa_data.llm.client import Sampling

        return Sampling(self.temperature, self.top_p, self.max_new_tokens, self.seed)

    def endpoint(self) -> Any:
        """The judge's `LLMEndpoint` (the one value synthesis uses too)."""
        from radvqa_data.llm.client import LLMEndpoint

        return LLMEndpoint(
            self.backend,
            self.model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            concurrency=self.concurrency,
            timeout=self.timeout,
            retries=self.retries,
            sampling=self.sampling(),
        )

    def record(self) -> dict[str, Any]:
        """What metrics.json says about the judge (no API key)."""
        from radvqa_data.llm.client import template_digest, template_version

        ep = self.endpoint().record()
        return {
            **{k: ep[k] for k in ("backend", "base_url", "model")},
            "template": self.template,
            "prompt_version": template_version(self.template),
            "prompt_digest": template_digest([self.template]),
            **{k: ep[k] for k in ("sampling", "timeout", "retries", "concurrency")},
        }

    def connect(self) -> Any:
        """The HTTP backend; a ConfigError at once when the server cannot be reached."""
        return self.endpoint().connect()


def judge_prompt(
    question: str, reference: str, prediction: str, template: str = JUDGE_TEMPLATE
) -> Any:
    """The judge's chat prompt for one item (`radvqa_data.llm.prompting.Prompt`)."""
    from radvqa_data.llm.client import render

    return render(
        template,
        JUDGE_SCHEMA_JSON,
        "verdict",
        question=question,
        reference=reference,
        prediction=prediction,
    )
