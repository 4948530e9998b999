"""Train-area fixtures: tiny models of two families and a small self-made data set."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{family: model folder} for paligemma, idefics3, qwen2_5_vl, gemma3 and qwen3_vl (built
    once per session)."""
    from radvqa_train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    families = ("paligemma", "idefics3", "qwen2_5_vl", "gemma3", "qwen3_vl")
    return {f: build_tiny_model(f, root / f) for f in families}


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"catalog", "shards", "root"}: 24 generated images (18 train / 6 test), captions, a
    'vqa-rad' benchmark and QA shards (see radvqa_train.toydata)."""
    from radvqa_train.toydata import make_toy_data

    return make_toy_data(tmp_path_factory.mktemp("toy-data"))
