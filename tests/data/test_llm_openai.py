"""The `openai` backend against a real OpenAI-compatible server: `transformers serve` with a tiny
model built here, started on 127.0.0.1 by the test and stopped after it (no fake server)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from radvqa_data.core.errors import ConfigError
from radvqa_data.llm.factory import make_generator
from radvqa_data.llm.local_server import free_port, start_transformers_serve, wait_healthy
from tests.helpers.llm import HAND_WRITTEN_REPLY, make_record


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    pytest.importorskip("fastapi", reason="needs transformers[serving]")
    pytest.importorskip("uvicorn", reason="needs transformers[serving]")
    from radvqa_data.llm.tiny import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("serve")
    model_dir = build_tiny_causal_lm(root / "model")
    port = free_port()
    log = root / "serve.log"
    proc = start_transformers_serve(model_dir, port, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        yield f"http://127.0.0.1:{port}/v1", str(model_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_concurrent_requests_stay_in_flight_and_rows_record_provenance(
    server: tuple[str, str],
) -> None:
    url, model = server
    gen = make_generator(
        "openai",
        base_url=url,
        model=model,
        concurrency=4,
        timeout=60,
        temperature=0.7,
        top_p=0.9,
        max_new_tokens=24,
        seed=11,
    )
    records = [make_record(f"img{i}") for i in range(3)]
    steps: list[float] = []
    gen.on_progress = steps.append  # what the synth driver's progress bar receives
    cands = list(gen.generate(records))
    stats = gen.backend.stats
    assert stats.requests == 6 and stats.failures == 0
    assert len(steps) >= 6 and sum(steps) == pytest.approx(3)  # per finished request, not per chunk
    assert stats.peak_in_flight == 4  # 6 prompts, 4 slots: the semaphore kept 4 requests open
    assert stats.completion_tokens > 0 and stats.prompt_tokens > 6 * 100  # usage from the server
    assert cands and all(
        c.reject_reason for c in cands
    )  # random weights: noise, rejected with reasons
    for c in cands:
        assert (c.generator, c.model, c.seed) == ("openai", model, 11)
        assert json.loads(c.sampling) == {
            "temperature": 0.7,
            "top_p": 0.9,
            "max_new_tokens": 24,
            "seed": 11,
        }
        assert (
            c.template_id in ("open_qa.v1.jinja", "closed_qa.v1.jinja") and c.prompt_version == "v1"
        )


def test_first_attempt_timeout_is_retried_with_backoff(server: tuple[str, str]) -> None:
    url, model = server
    # 1 ms for the first attempt cannot be met; the retry gets 1 ms * 5000 = 5 s and succeeds.
    gen = make_generator(
        "openai",
        base_url=url,
        model=model,
        concurrency=2,
        timeout=0.001,
        max_new_tokens=8,
        backend_options={"timeout_growth": 5000.0, "retries": 2, "backoff": 0.05},
    )
    completions = gen.backend.complete([p for r in [make_record()] for p in _prompts(r)])
    assert all(c.text is not None and c.error is None for c in completions)
    assert all(c.attempts >= 2 for c in completions)
    assert all(c.finish_reason in ("length", "stop") for c in completions)
    assert gen.backend.stats.timeouts >= 2 and gen.backend.stats.retries >= 2


def test_timeouts_on_every_attempt_become_backend_error_rejects(server: tuple[str, str]) -> None:
    url, model = server
    gen = make_generator(
        "openai",
        base_url=url,
        model=model,
        timeout=0.001,
        max_new_tokens=8,
        backend_options={"timeout_growth": 1.0, "retries": 1, "backoff": 0.01},
    )
    cands = list(gen.generate([make_record()]))
    assert [c.reject_reason for c in cands] == ["backend_error", "backend_error"]
    assert all(c.source_text == "timeout" for c in cands)


def test_verifier_pass_judges_every_pair_over_http(server: tuple[str, str]) -> None:
    url, model = server
    gen = make_generator(
        "openai", base_url=url, model=model, max_new_tokens=12, verify=True, temperature=0.0
    )
    cands = gen.candidates_from_reply(make_record(), "open_qa.v1.jinja", HAND_WRITTEN_REPLY)
    cands = [c for c in cands if not c.reject_reason]  # the incomplete entry is already a reject
    assert len(cands) == 7
    before = gen.backend.stats.requests
    gen.verify(cands)
    assert gen.backend.stats.requests - before == 7
    # Noise from random weights rarely says yes: each pair is judged and the outcome recorded.
    assert {c.reject_reason for c in cands} <= {None, "verifier_unparseable", "verifier_disagrees"}
    assert any(c.reject_reason for c in cands)


def test_unreachable_server_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot reach an OpenAI-compatible server"):
        make_generator(
            "openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=2
        )


def _prompts(record):
    from radvqa_data.llm.prompting import qa_prompt

    return [qa_prompt(record, "open_qa.v1.jinja"), qa_prompt(record, "closed_qa.v1.jinja")]


def test_synth_cli_openai_backend_on_the_shipped_sample(
    server: tuple[str, str], sample_catalog: Path, tmp_path: Path
) -> None:
    from tests.helpers.llm import check_synth_output, synth_cli

    url, model = server
    out = tmp_path / "synth-openai"
    result = synth_cli(
        [
            "--catalog",
            str(sample_catalog),
            "--out",
            str(out),
            "--backend",
            "openai",
            "--base-url",
            url,
            "--model",
            model,
            "--max-new-tokens",
            "24",
            "--limit",
            "3",
            "--concurrency",
            "4",
            "--no-progress",
        ]
    )
    assert result.exit_code == 0, result.output
    check_synth_output(out, "openai", model, 3)


def test_synth_cli_unreachable_server_is_one_error_line(
    sample_catalog: Path, tmp_path: Path
) -> None:
    from tests.helpers.llm import synth_cli

    result = synth_cli(
        [
            "--catalog",
            str(sample_catalog),
            "--out",
            str(tmp_path / "x"),
            "--backend",
            "openai",
            "--base-url",
            f"http://127.0.0.1:{free_port()}/v1",
            "--model",
            "m",
            "--no-progress",
        ]
    )
    assert (
        result.exit_code == 1 and "Error: cannot reach an OpenAI-compatible server" in result.output
    )


def test_complete_from_inside_a_running_event_loop(server: tuple[str, str]) -> None:
    # A notebook already runs an event loop; the backend must not call asyncio.run on it.
    import asyncio

    url, model = server
    gen = make_generator("openai", base_url=url, model=model, max_new_tokens=4, concurrency=2)

    async def inside() -> list:
        return gen.backend.complete(_prompts(make_record()))

    replies = asyncio.run(inside())
    assert len(replies) == 2 and all(c.text is not None and c.error is None for c in replies)


def test_openai_backend_through_ray_writes_the_rows_of_a_local_run(
    server: tuple[str, str], ray_cluster: object, sample_catalog: Path, tmp_path: Path
) -> None:
    """The same generator as a Ray Data stage: 2 actors (one per shard of one image), each
    keeping its image's 2 requests in flight."""
    from radvqa_data.synth.config import SynthConfig
    from radvqa_data.synth.driver import run_synth
    from tests.helpers.shards import shard_rows

    url, model = server
    runs = {}
    for ex in ("local", "ray"):
        gen = make_generator(
            "openai",
            base_url=url,
            model=model,
            concurrency=2,
            timeout=60,
            temperature=0.0,
            max_new_tokens=8,
            seed=3,
        )
        config = SynthConfig(backend="openai", limit=2, shard_size=1)
        out = tmp_path / ex
        runs[ex] = run_synth(sample_catalog, out, config, gen, progress=False, executor=ex)
    local, ray = runs["local"], runs["ray"]
    assert ray.shards_total == 2 and ray.images == 2
    # every request of the run was made by an actor, and counted back through the shards
    assert ray.generator_summary["backend"]["requests"] == 4
    assert ray.generator_summary["candidates"] == local.generator_summary["candidates"]
    assert ray.manifest["backend_counters"]["requests"] == 4
    assert shard_rows(tmp_path / "ray") == shard_rows(tmp_path / "local")
