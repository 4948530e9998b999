# radvqa runbook: recipes in pipeline order. `just demo` and `just test` are all a newcomer needs.

set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
py := venv / "bin/python"
bin := venv / "bin"
# Where the real public datasets live (tests and benchmarks skip what is absent).
shared := env_var_or_default("RADVQA_SHARED_DATA", "../shared/data")
demo_out := "out/demo"

default:
    @just --list

# Create .venv and install the project (idempotent: reruns only when pyproject/constraints change).
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    stamp="{{venv}}/.radvqa-installed"
    want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
    [ -x "{{py}}" ] || python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    # torch first, from the pinned CPU build: an open range would pull a multi-GB CUDA build.
    {{py}} -m pip install -q -c constraints.txt torch
    {{py}} -m pip install -q -c constraints.txt -e '.[dev,serving]'
    echo "$want" > "$stamp"

# The main job end to end on the shipped sample (CPU, a few minutes):
# catalog -> entities -> synth -> audit -> tiny model -> 3-stage LoRA -> eval -> diagnostic report.
demo: setup
    rm -rf {{demo_out}} && mkdir -p {{demo_out}}
    {{bin}}/radvqa-data catalog add medpix2 catalogs/sample/medpix2 --catalog {{demo_out}}/catalog.duckdb
    {{bin}}/radvqa-data catalog add vqa-rad catalogs/sample/vqa-rad --catalog {{demo_out}}/catalog.duckdb
    {{bin}}/radvqa-data catalog stats --catalog {{demo_out}}/catalog.duckdb
    {{bin}}/radvqa-data entities --catalog {{demo_out}}/catalog.duckdb
    {{bin}}/radvqa-data synth --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/shards
    {{bin}}/radvqa-data export {{demo_out}}/shards --format hf --out {{demo_out}}/hf
    {{bin}}/radvqa-data audit {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --against vqa-rad --report {{demo_out}}/audit
    {{bin}}/radvqa-data export {{demo_out}}/shards --format messages --out {{demo_out}}/messages --audit {{demo_out}}/audit
    {{bin}}/radvqa-train tiny-model --family paligemma --out {{demo_out}}/tiny-model
    {{bin}}/radvqa-train run tiny-demo --model {{demo_out}}/tiny-model --shards {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/train
    {{bin}}/radvqa-train eval --data synthetic:test --model {{demo_out}}/train/benchmark --shards {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/eval
    {{bin}}/radvqa-train eval --data vqa-rad:test --model {{demo_out}}/train/benchmark --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/eval-vqa-rad
    {{bin}}/radvqa-diag report --predictions {{demo_out}}/eval/predictions.parquet --model {{demo_out}}/train/benchmark --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/report

# LLM synthesis on CPU with a tiny random-weight model, in-process and through a local
# OpenAI-compatible server (`transformers serve`): replies are noise, so rows are rejects with reasons.
demo-llm: setup
    #!/usr/bin/env bash
    set -euo pipefail
    [ -f {{demo_out}}/catalog.duckdb ] || just demo
    {{py}} -c "from radvqa_data.llm.tiny import build_tiny_causal_lm; build_tiny_causal_lm('{{demo_out}}/tiny-lm')"
    {{bin}}/radvqa-data synth --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/llm-transformers --overwrite \
        --backend transformers --model {{demo_out}}/tiny-lm --limit 4 --max-new-tokens 48 --no-progress
    HF_HUB_OFFLINE=1 {{bin}}/transformers serve {{demo_out}}/tiny-lm --host 127.0.0.1 --port 8765 --device cpu \
        --continuous-batching > {{demo_out}}/serve.log 2>&1 &
    server=$!
    trap 'kill $server' EXIT
    for _ in $(seq 180); do curl -sf http://127.0.0.1:8765/health > /dev/null && break; sleep 1; done
    {{bin}}/radvqa-data synth --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/llm-openai --overwrite \
        --backend openai --base-url http://127.0.0.1:8765/v1 --model {{demo_out}}/tiny-lm --limit 4 \
        --max-new-tokens 48 --concurrency 8 --no-progress
    {{bin}}/radvqa-data parse-responses tests/data/llm_corpus/replies.jsonl > {{demo_out}}/parsed-pairs.jsonl

# The data-centric experiment on the real data (51 min measured on 2 busy CPU cores): MedPix 2.0 + VQA-RAD
# -> catalog -> entities -> synth -> audit --fix against VQA-RAD -> from-scratch arms x 3 seeds ->
# out/experiment/{results.json,results.md,closed_accuracy.png,report/}. See docs/experiment.md.
experiment out="out/experiment": setup
    #!/usr/bin/env bash
    set -euo pipefail
    o="{{out}}"; d="{{shared}}"
    mkdir -p "$o"
    if [ ! -f "$o/data/.done" ]; then
        rm -rf "$o/data" && mkdir -p "$o/data"
        {{bin}}/radvqa-data catalog add medpix2 "$d/medpix2" --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data catalog add vqa-rad "$d/vqa-rad" --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data entities --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data synth --catalog "$o/data/catalog.duckdb" --out "$o/data/shards"
        {{bin}}/radvqa-data audit "$o/data/shards" --catalog "$o/data/catalog.duckdb" --against vqa-rad \
            --report "$o/data/audit" --fix "$o/data/clean" --no-progress
        touch "$o/data/.done"
    fi
    {{bin}}/radvqa-train experiment data-centric-cpu --catalog "$o/data/catalog.duckdb" \
        --shards "$o/data/clean" --audit "$o/data/clean" --out "$o/run"

# Default test tier: CPU, minutes.
test: setup
    {{bin}}/pytest -q

# Slow tier (longer training runs, full-data checks).
test-slow: setup
    {{bin}}/pytest -q -m slow

# The report's headless-browser test alone (needs Debian's chromium).
test-browser: setup
    {{bin}}/pytest -q -m browser tests/diag

# What CI runs besides the tests: formatting (100 columns) and lint (E501 and RUF100 included).
lint: setup
    {{bin}}/ruff format --check radvqa_data radvqa_train radvqa_diag tests bench
    {{bin}}/ruff check radvqa_data radvqa_train radvqa_diag tests bench

# Catalog throughput against a naive single-process loop (needs ../shared/data).
bench-catalog: setup
    {{py}} bench/catalog.py --data {{shared}}

# label-issues on a full MedPix 2.0 catalog CAT: run time, CV accuracy, planted-flip recall/precision.
bench-labels CAT WORK="out/bench-labels": setup
    {{py}} bench/labels.py --catalog {{CAT}} --work {{WORK}}

# Entity extraction over the 34,111 ROCO captions: ours vs a naive nlp(text) loop.
bench-entities: setup
    {{py}} bench/entities.py --data {{shared}}

# Rules synthesis over all of MedPix 2.0: rows/s and peak memory at two sizes, streaming vs in-memory.
bench-synth: setup
    {{py}} bench/synth.py --data {{shared}}

# Ray's overhead: --executor ray vs local for catalog and rules synth on the shared data, ratio per pair.
bench-scale: setup
    {{py}} bench/scale.py --data {{shared}}

# Saliency speed: batched one-pass engine vs a per-method baseline (tiny models on CPU; --family paligemma-3b on a GPU).
bench-diag: setup
    {{py}} bench/diag.py --threads 1

# Training throughput: our loop vs a bare loop (tiny model on CPU; PaliGemma-3B at 448 px on a GPU).
bench-train: setup
    {{py}} bench/train.py

# LLM request throughput: concurrency 1 vs 8 against a local `transformers serve` (CPU, ~3 min).
bench-llm: setup
    {{py}} bench/llm.py

# Audit at scale: 200k synthetic QA rows (time, memory, recall) vs exhaustive rapidfuzz cdist.
bench-audit: setup
    {{py}} bench/audit.py
