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
    {{bin}}/radvqa-data audit {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --against vqa-rad --report {{demo_out}}/audit
    {{bin}}/radvqa-train tiny-model --family paligemma --out {{demo_out}}/tiny-model
    {{bin}}/radvqa-train run tiny-demo --model {{demo_out}}/tiny-model --shards {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/train
    {{bin}}/radvqa-train eval --data synthetic:test --model {{demo_out}}/train/benchmark --shards {{demo_out}}/shards --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/eval
    {{bin}}/radvqa-diag report --predictions {{demo_out}}/eval/predictions.parquet --model {{demo_out}}/train/benchmark --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/report

# Default test tier: CPU, minutes.
test: setup
    {{bin}}/pytest -q

# Slow tier (longer training runs, full-data checks).
test-slow: setup
    {{bin}}/pytest -q -m slow

lint: setup
    {{bin}}/ruff check radvqa_data radvqa_train radvqa_diag tests bench

# Catalog throughput against a naive single-process loop (needs ../shared/data).
bench-catalog: setup
    {{py}} bench/catalog.py --data {{shared}}
