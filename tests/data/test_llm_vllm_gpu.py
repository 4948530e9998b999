"""vLLM in-process backend for real: GPU tier only (`pytest -m gpu`, vllm installed in its own env).

Not run where this was written (no GPU). A tiny random-weight Llama built from a config needs no
download; structured output then guarantees JSON even from random weights, so every reply must
parse (no `unparseable_response`), and throughput is printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu


def test_vllm_backend_structured_json_on_gpu(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("vllm")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from radvqa_data.llm.factory import make_generator
    from radvqa_data.llm.parse import parse_response
    from radvqa_data.llm.prompting import qa_prompt
    from radvqa_data.llm.tiny import build_tiny_causal_lm
    from tests.helpers.llm import make_record

    model = build_tiny_causal_lm(tmp_path / "model", hidden=64)
    gen = make_generator(
        "vllm",
        model=str(model),
        temperature=0.8,
        max_new_tokens=512,
        seed=0,
        backend_options={"gpu_memory_utilization": 0.3, "enforce_eager": True},
    )
    records = [make_record(f"img{i}") for i in range(64)]
    prompts = [qa_prompt(r, t) for r in records for t in ("open_qa.v1.jinja", "closed_qa.v1.jinja")]
    start = time.perf_counter()
    replies = gen.backend.complete(prompts)
    seconds = time.perf_counter() - start
    stats = gen.backend.stats
    assert stats.requests == 128 and all(c.text is not None for c in replies)
    finished = [c for c in replies if c.finish_reason == "stop"]
    assert finished, "guided decoding should close some JSON replies within 512 tokens"
    # Guided decoding: a reply that finished is schema-valid JSON, whatever the weights.
    assert all(parse_response(c.text).reject_reason != "unparseable_response" for c in finished)
    print(
        f"vllm: {stats.prompt_tokens / seconds:.0f} prompt tok/s, "
        f"{stats.completion_tokens / seconds:.0f} generation tok/s, "
        f"{len(finished)}/128 replies closed"
    )


def test_vllm_engine_replicas_through_ray_write_the_rows_of_a_local_run(
    ray_cluster: object, sample_catalog: Path, tmp_path: Path
) -> None:
    """`synth --executor ray --backend vllm`: one engine replica per GPU as Ray Data actors; the
    driver starts no engine (lazy backend), the replicas' rows equal an in-process run's."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("vllm")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from radvqa_data.llm.factory import make_generator
    from radvqa_data.llm.tiny import build_tiny_causal_lm
    from radvqa_data.synth.config import SynthConfig
    from radvqa_data.synth.driver import run_synth
    from tests.helpers.shards import shard_rows

    model = build_tiny_causal_lm(tmp_path / "model", hidden=64)
    options = {"gpu_memory_utilization": 0.3, "enforce_eager": True}
    runs = {}
    for ex in ("local", "ray"):
        gen = make_generator(
            "vllm",
            model=str(model),
            temperature=0.0,
            max_new_tokens=128,
            seed=0,
            backend_options={**options, "lazy": ex == "ray"},
        )
        if ex == "ray":
            assert gen.backend.llm is None  # no engine on the driver
        config = SynthConfig(backend="vllm", limit=8, shard_size=4)
        out = tmp_path / ex
        runs[ex] = run_synth(sample_catalog, out, config, gen, progress=False, executor=ex)
        gen.backend.close()
    assert runs["ray"].generator_summary["backend"]["requests"] == 16
    assert runs["ray"].rejected["backend_error"] == 0
    assert shard_rows(tmp_path / "ray") == shard_rows(tmp_path / "local")
