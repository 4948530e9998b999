"""An LLM judge for open answers: does the prediction mean the same as the reference?

Recall and exact match under-credit a correct paraphrase ("left kidney" vs "in the left renal
fossa"); a judge model asked the question, the reference and the prediction does not. Its
verdicts are reported *beside* recall and exact match (`radvqa_train.judge_run`), never instead.

- The prompt is a versioned template (``radvqa_data/llm/prompts/judge.v1.jinja``, rendered by
  the same code as the synthesis prompts); a new wording is a new version file.
- The reply format is strict (``{"verdict": "yes"}`` / ``{"verdict": "no"}``, also sent as a
  JSON schema where the server supports it) and parsed robustly by `parse_verdict`.
- The judge is any OpenAI-compatible server (`vllm serve`, `transformers serve`, a hosted API),
  reached through the project's HTTP backend (`radvqa_data.llm.backends.openai_http`):
  bounded concurrency, timeouts, retries. Sampling is greedy by default so that a verdict
  repeats; model, prompt version and sampling go into ``metrics.json``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from radvqa_data.core.errors import ConfigError

JUDGE_TEMPLATE = "judge.v1.jinja"
JUDGES = ("openai",)

#: The reply the prompt asks for; sent as `response_format` (vLLM, llama.cpp constrain to it).
JUDGE_SCHEMA_JSON: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}

_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)  # reasoning models' scratchpad
_KEYED = re.compile(
    r"""["']?\b(?:verdict|same_meaning|same|match(?:es)?|equivalent|correct)\b["']?\s*[:=]\s*"""
    r"""["'*]*\s*(yes|no|true|false|same|different|correct|incorrect)\b""",
    re.I,
)
_FIRST_WORD = re.compile(r"^[\s*_`\"'#>-]*(yes|no|true|false|correct|incorrect)\b", re.I)
_TRUE = {"yes", "true", "same", "correct"}


def parse_verdict(text: str | None) -> bool | None:
    """True (same meaning), False (different) or None (no readable verdict).

    Reads a keyed verdict anywhere (``{"verdict": "yes"}``, fenced or after a preamble,
    ``Verdict: no``, ``{"same": true}``, single quotes); keyed verdicts that disagree give None.
    Without one, a reply that starts with yes/no/true/false/correct/incorrect counts. Reasoning
    blocks (``<think>...</think>``) are ignored.
    """
    if not text:
        return None
    text = _THINK.sub(" ", text)
    found = {m.group(1).lower() in _TRUE for m in _KEYED.finditer(text)}
    if len(found) == 1:
        return found.pop()
    if found:  # "yes" and "no" both claimed: not a verdict
        return None
    m = _FIRST_WORD.match(text)
    return None if m is None else m.group(1).lower() in _TRUE


@dataclass(frozen=True)
class JudgeSettings:
    """Which judge, with which prompt and sampling; recorded in metrics.json."""

    base_url: str
    model: str
    backend: str = "openai"
    template: str = JUDGE_TEMPLATE
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8  # requests in flight; match the server's batch capacity
    timeout: float = 60.0  # seconds per attempt; a failed item is counted, not fatal
    retries: int = 2  # extra attempts after a timeout / 429 / 5xx / connection error
    temperature: float = 0.0  # greedy: the same item gets the same verdict
    top_p: float = 1.0
    max_new_tokens: int = 32  # {"verdict": "yes"} is ~6 tokens; room for a short preamble
    seed: int = 0

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

    def record(self) -> dict[str, Any]:
        """What metrics.json says about the judge (no API key)."""
        from radvqa_data.llm.client import template_digest, template_version

        return {
            "backend": self.backend,
            "base_url": self.base_url,
            "model": self.model,
            "template": self.template,
            "prompt_version": template_version(self.template),
            "prompt_digest": template_digest([self.template]),
            "sampling": asdict(self.sampling()),
            "timeout": self.timeout,
            "retries": self.retries,
            "concurrency": self.concurrency,
        }

    def connect(self) -> Any:
        """The HTTP backend; a ConfigError at once when the server cannot be reached."""
        from radvqa_data.llm.client import make_backend

        return make_backend(
            self.backend,
            base_url=self.base_url,
            model=self.model,
            api_key_env=self.api_key_env,
            concurrency=self.concurrency,
            timeout=self.timeout,
            sampling=self.sampling(),
            retries=self.retries,
        )


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
