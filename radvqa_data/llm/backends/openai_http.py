"""Any OpenAI-compatible chat-completions server (`vllm serve`, Ollama, llama.cpp,
`transformers serve`).

Requests run concurrently on one httpx.AsyncClient, at most `concurrency` in flight (a semaphore),
so a GPU server always has work queued. Each request has a timeout, and timeouts, connection
errors, 429 and 5xx are retried with exponential backoff (and a longer timeout: a request that
timed out on a busy server usually needs more time, not the same time again). The JSON schema
of the reply is sent as `response_format` unless the server rejects that field; then the run
goes on in plain text (the parser copes).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm import defaults
from radvqa_data.llm.backends.base import BackendStats, Completion, Sampling
from radvqa_data.llm.prompting import Prompt

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
RESPONSE_FORMATS = ("auto", "json_schema", "json_object", "off")


class OpenAIBackend:
    """Chat completions over HTTP with bounded concurrency, timeouts and retries."""

    name = "openai"
    on_done: Callable[[int], None] | None = None  # called with a prompt's index as it finishes

    def __init__(
        self,
        base_url: str,
        model: str,
        sampling: Sampling,
        *,
        api_key_env: str = defaults.API_KEY_ENV,
        concurrency: int = defaults.CONCURRENCY,
        timeout: float = defaults.TIMEOUT_S,  # seconds per attempt (first attempt)
        retries: int = defaults.RETRIES,  # extra tries after a timeout, 429, 5xx, lost connection
        backoff: float = 0.5,  # seconds before the first retry, doubled each time
        timeout_growth: float = 2.0,  # each retry waits this much longer for the reply
        response_format: str = "auto",  # auto: json_schema unless the server rejects it
        check_server: bool = True,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--base-url must be an http(s) URL like http://127.0.0.1:8000/v1, got '{base_url}'"
            )
        if concurrency < 1 or timeout <= 0 or retries < 0:
            raise ConfigError("--concurrency must be >= 1, --timeout > 0 and retries >= 0")
        if response_format not in RESPONSE_FORMATS:
            raise ConfigError(
                f"response_format must be one of {RESPONSE_FORMATS}, got '{response_format}'"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.sampling = sampling
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.timeout_growth = timeout_growth
        self.response_format = response_format
        self.schema_supported = response_format != "off"
        self.stats = BackendStats()
        key = os.environ.get(api_key_env) if api_key_env else None
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._rng = random.Random(sampling.seed)  # backoff jitter, reproducible
        if check_server:
            self._check_server()

    def _check_server(self) -> None:
        import httpx

        try:
            httpx.get(f"{self.base_url}/models", headers=self._headers, timeout=10.0)
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"cannot reach an OpenAI-compatible server at {self.base_url} "
                f"({type(exc).__name__}); "
                "start one (e.g. `vllm serve MODEL`) or fix --base-url"
            ) from None

    def complete(self, prompts: Sequence[Prompt]) -> list[Completion]:
        """Send every prompt, `concurrency` at a time; results in prompt order."""
        start = time.perf_counter()
        coro = self._complete_all(list(prompts))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            results = asyncio.run(coro)
        else:  # called from inside an event loop (a notebook): run ours in a worker thread
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                results = pool.submit(asyncio.run, coro).result()
        self.stats.seconds += time.perf_counter() - start
        for c in results:
            self.stats.add(c)
        return results

    async def _complete_all(self, prompts: list[Prompt]) -> list[Completion]:
        import httpx

        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        sem = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(headers=self._headers, limits=limits) as client:
            in_flight = 0

            async def one(i: int, p: Prompt) -> Completion:
                nonlocal in_flight
                async with sem:
                    in_flight += 1
                    self.stats.peak_in_flight = max(self.stats.peak_in_flight, in_flight)
                    try:
                        completion = await self._request(client, p)
                    finally:
                        in_flight -= 1
                if self.on_done is not None:
                    self.on_done(i)
                return completion

            return await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        s = self.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": prompt.messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_new_tokens,
            "seed": s.seed,
        }
        if self.schema_supported and prompt.schema:
            if self.response_format == "json_object":
                body["response_format"] = {"type": "json_object"}
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": prompt.schema_name,
                        "schema": prompt.schema,
                        "strict": True,
                    },
                }
        return body

    async def _request(self, client: Any, prompt: Prompt) -> Completion:
        import httpx

        error = "unknown"
        retry_after = 0.0
        for attempt in range(self.retries + 1):
            timeout = self.timeout * (self.timeout_growth**attempt)
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1) * (0.5 + self._rng.random())
                await asyncio.sleep(max(delay, retry_after))
            body = self._body(prompt)
            try:
                resp = await client.post(
                    f"{self.base_url}/chat/completions", json=body, timeout=timeout
                )
            except httpx.TimeoutException:
                self.stats.timeouts += 1
                error = "timeout"
                continue
            except httpx.TransportError as exc:
                error = f"connection_error: {type(exc).__name__}"
                continue
            if (
                resp.status_code in (400, 422)
                and "response_format" in body
                and self._refuses_schema(resp)
            ):
                return await self._request(client, prompt)  # same prompt, plain text from now on
            if resp.status_code in RETRY_STATUS:
                error = f"http_{resp.status_code}"
                retry_after = _retry_after(resp)
                continue
            if resp.status_code >= 400:
                return Completion(
                    None, f"http_{resp.status_code}: {resp.text[:200]}", attempts=attempt + 1
                )
            return _completion_from(resp, attempt + 1)
        return Completion(None, error, attempts=self.retries + 1)

    def _refuses_schema(self, resp: Any) -> bool:
        """Did the server refuse `response_format`? Then stop sending it (auto mode only).

        Requests already in flight with the field get the same answer; each retries once without.
        """
        if self.response_format != "auto":
            return False
        text = resp.text.lower()
        if any(
            word in text for word in ("response_format", "json_schema", "structured", "grammar")
        ):
            self.schema_supported = False
            return True
        return False

    def close(self) -> None:
        """Nothing held between batches (one client per batch)."""


def _retry_after(resp: Any) -> float:
    """Seconds a 429/503 asks us to wait (Retry-After in seconds), capped at one minute."""
    try:
        return min(60.0, float(resp.headers.get("retry-after", 0)))
    except ValueError:
        return 0.0


def _completion_from(resp: Any, attempts: int) -> Completion:
    try:
        data = resp.json()
        message = data["choices"][0]["message"]
        text = message.get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError):
        return Completion(None, f"bad_reply: {resp.text[:200]}", attempts=attempts)
    usage = data.get("usage") or {}
    return Completion(
        text,
        None,
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        attempts,
        data["choices"][0].get("finish_reason"),
    )
