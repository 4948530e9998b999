"""LLM synthesis throughput: the `openai` backend at concurrency 1 (one request at a time, the
baseline) vs concurrency N, against a real local OpenAI-compatible server (`transformers serve`
with a tiny random-weight model on CPU, started here). Same prompts, same run, same server.

    .venv/bin/python bench/llm.py [--prompts 48] [--concurrency 8] [--max-new-tokens 32]

Prints requests/s and records/s for both settings and the ratio. On a GPU, point `--base-url`
at `vllm serve MODEL` instead (then no local server is started) and pass `--model MODEL`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from radvqa_data.core.pipeline_records import ImageRecord
from radvqa_data.llm.backends.base import Sampling
from radvqa_data.llm.backends.openai_http import OpenAIBackend
from radvqa_data.llm.prompting import qa_prompt

CAPTIONS = [
    "Axial noncontrast CT shows a hyperdense subdural hematoma over the left convexity.",
    "Sagittal T2-weighted MRI of the lumbar spine shows a disc herniation at L4-L5.",
    "Frontal chest radiograph with a large left pleural effusion and no pneumothorax.",
    "Coronal contrast-enhanced CT shows a 3 cm hypodense lesion in segment 7 of the liver.",
]


def records(n: int) -> list[ImageRecord]:
    return [
        ImageRecord(
            "bench",
            f"img{i}",
            f"case{i}",
            "train",
            "ok",
            modality="CT",
            plane="axial",
            texts={"caption": CAPTIONS[i % 4]},
        )
        for i in range(n)
    ]


def run(
    url: str, model: str, prompts: list, concurrency: int, max_new_tokens: int
) -> tuple[float, OpenAIBackend]:
    backend = OpenAIBackend(
        url,
        model,
        Sampling(temperature=0.0, max_new_tokens=max_new_tokens),
        concurrency=concurrency,
        timeout=300,
    )
    start = time.perf_counter()
    done = backend.complete(prompts)
    seconds = time.perf_counter() - start
    failed = sum(c.error is not None for c in done)
    if failed:
        print(f"warning: {failed} failed requests at concurrency {concurrency}", file=sys.stderr)
    return seconds, backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument(
        "--base-url", default=None, help="an existing server; default: start transformers serve"
    )
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--no-continuous-batching",
        dest="continuous_batching",
        action="store_false",
        help=(
            "start transformers serve without continuous batching "
            "(then it runs one request at a time)"
        ),
    )
    args = ap.parse_args()

    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        url, model = args.base_url, args.model
        if url is None:
            from radvqa_data.llm.local_server import (
                free_port,
                start_transformers_serve,
                wait_healthy,
            )
            from radvqa_data.llm.tiny import build_tiny_causal_lm

            model_dir = build_tiny_causal_lm(Path(tmp) / "model")
            port = free_port()
            log = Path(tmp) / "serve.log"
            proc = start_transformers_serve(
                model_dir, port, log, continuous_batching=args.continuous_batching
            )
            wait_healthy(f"http://127.0.0.1:{port}", proc, log)
            url, model = f"http://127.0.0.1:{port}/v1", str(model_dir)
        try:
            recs = records(args.prompts // 2)
            prompts = [
                qa_prompt(r, t) for r in recs for t in ("open_qa.v1.jinja", "closed_qa.v1.jinja")
            ]
            run(
                url, model, prompts[:2], 2, args.max_new_tokens
            )  # warm-up: model load, first-request costs
            base_s, base = run(url, model, prompts, 1, args.max_new_tokens)
            ours_s, ours = run(url, model, prompts, args.concurrency, args.max_new_tokens)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    n = len(prompts)
    mode = (
        ""
        if args.base_url
        else (
            " (transformers serve, continuous batching "
            f"{'on' if args.continuous_batching else 'off'})"
        )
    )
    print(
        f"server: {url}{mode} model: {model} prompts: {n} ({len(recs)} records x 2 templates), "
        f"max_new_tokens: {args.max_new_tokens}"
    )
    print(
        f"concurrency 1 (baseline): {base_s:7.2f} s  "
        f"{n / base_s:7.2f} requests/s  {len(recs) / base_s:7.2f} records/s  "
        f"gen tokens/s {base.stats.completion_tokens / base_s:8.1f}"
    )
    print(
        f"concurrency {args.concurrency:<2}          : {ours_s:7.2f} s  "
        f"{n / ours_s:7.2f} requests/s  {len(recs) / ours_s:7.2f} records/s  "
        f"gen tokens/s {ours.stats.completion_tokens / ours_s:8.1f}  "
        f"(peak in flight {ours.stats.peak_in_flight})"
    )
    print(f"speedup: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
