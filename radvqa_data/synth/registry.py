"""The generator registry: the name `--backend` gives -> a `Generator` (`synth.types`).

The synth CLI only names a backend and hands over its options; what to build, and which of the
options shape the rows (`settings`, recorded in the manifest and the run's fingerprint), is
decided here. A new backend is one entry in `GENERATORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.synth.types import Generator

#: What a backend factory returns: the generator and the settings recorded for the run.
Built = tuple[Generator, dict[str, Any]]
#: factory(seed, LLM endpoint options, verify, executor, rules-backend options) -> Built
Factory = Callable[[int, dict[str, Any], bool, str, dict[str, Any]], Built]


def _rules(
    seed: int, llm: dict[str, Any], verify: bool, executor: str, rules: dict[str, Any]
) -> Built:
    from radvqa_data.synth.rules.generator import RulesGenerator

    return RulesGenerator(seed, **rules), {}


def _llm(backend: str) -> Factory:
    def build(
        seed: int, llm: dict[str, Any], verify: bool, executor: str, rules: dict[str, Any]
    ) -> Built:
        try:
            from radvqa_data.llm.factory import make_generator
        except ImportError as exc:
            raise ConfigError(
                f"--backend {backend} needs radvqa_data.llm, which is not available here ({exc})"
            ) from exc
        # On Ray each vLLM replica starts its engine on its own GPU: none starts here.
        options = {"lazy": True} if backend == "vllm" and executor == "ray" else None
        generator = make_generator(
            backend, **llm, seed=seed, verify=verify, backend_options=options
        )
        keys = ("model", "base_url", "temperature", "top_p", "max_new_tokens")
        return generator, {**{k: llm.get(k) for k in keys}, "verify": verify}

    return build


#: Backend name -> factory(seed, LLM endpoint options, verify, executor, rules options).
GENERATORS: dict[str, Factory] = {
    "rules": _rules,
    "openai": _llm("openai"),
    "transformers": _llm("transformers"),
    "vllm": _llm("vllm"),
}


def build_generator(
    backend: str,
    *,
    seed: int = 0,
    llm: dict[str, Any] | None = None,
    verify: bool = False,
    executor: str = "local",
    rules: dict[str, Any] | None = None,
) -> Built:
    """The generator `backend` names, and the settings it records.

    `llm`: the LLM endpoint's options as given (base_url, model, api_key_env, concurrency,
    timeout, temperature, top_p, max_new_tokens); the rules backend ignores them.
    `rules`: the rules backend's options (`label_issues`); the LLM backends ignore them.
    """
    if backend not in GENERATORS:
        names = list(GENERATORS)
        raise ConfigError(
            f"--backend {backend}: unknown backend "
            f"(expected {', '.join(names[:-1])} or {names[-1]})"
        )
    return GENERATORS[backend](seed, llm or {}, verify, executor, rules or {})
