"""Fixtures for diag tests: tiny models of two families and a tiny model with a planted dependence.

The planted model is trained here for a few dozen steps to answer "yes" iff the TOP-LEFT quadrant
of the image is bright. Every quadrant is independently bright or dark with the same intensities,
so a map that favours the top-left does so because the model uses it, not because those pixels
are larger (gradient x input scales with the input).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

QUESTION = "is the corner bright?"
BRIGHT, DARK = 230, 25


def quadrant_image(bits: tuple[int, int, int, int], size: int = 32, seed: int = 0):
    """RGB image whose quadrants (TL, TR, BL, BR) are bright (1) or dark (0), with mild noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    h = size // 2
    arr = np.zeros((size, size), dtype=np.float32)
    for k, (y, x) in enumerate(((0, 0), (0, h), (h, 0), (h, h))):
        arr[y : y + h, x : x + h] = BRIGHT if bits[k] else DARK
    arr += rng.normal(0, 8, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")


def planted_batch(rng: np.random.Generator, n: int):
    bits = [tuple(int(b) for b in rng.integers(0, 2, 4)) for _ in range(n)]
    images = [quadrant_image(b, seed=int(rng.integers(1 << 30))) for b in bits]
    answers = ["yes" if b[0] else "no" for b in bits]
    return images, answers


def train_planted(
    family: str, out: Path, steps: int = 60, batch: int = 16
) -> tuple[Path, list[float]]:
    """Build a tiny model and train it (all weights, AdamW) on the quadrant task; returns (dir,
    losses)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from radvqa_train.families import build_inputs
    from radvqa_train.tiny_model import build_tiny_model

    src = build_tiny_model(family, out / "init", seed=0)
    torch.manual_seed(0)
    processor = AutoProcessor.from_pretrained(src)
    model = AutoModelForImageTextToText.from_pretrained(src, attn_implementation="eager")
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        images, answers = planted_batch(rng, batch)
        inputs, _ = build_inputs(processor, family, images, [QUESTION] * batch, answers)
        loss = model(**inputs).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    model.eval()
    model.save_pretrained(out / "trained")
    processor.save_pretrained(out / "trained")
    return out / "trained", losses


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: tiny models on a shared 2-core machine run ~25x faster than with 2
    contending threads (measured: 0.09 s vs 2.3 s per training step)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained tiny models of both families the trainer supports."""
    from radvqa_train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("diag-tiny")
    return {f: build_tiny_model(f, root / f, seed=1) for f in ("paligemma", "idefics3")}


@pytest.fixture(scope="session")
def planted_paligemma(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """A tiny PaliGemma that answers from the top-left quadrant (trained once per session)."""
    return train_planted("paligemma", tmp_path_factory.mktemp("diag-planted"))


def _flip(answer: str) -> str:
    return "no" if answer.strip().lower() == "yes" else "yes"


@pytest.fixture(scope="session")
def sample_report(
    tmp_path_factory: pytest.TempPathFactory, sample_catalog: Path, planted_paligemma
):
    """A report built end to end from the shipped sample: catalog -> `radvqa-train eval` scoring
    a predictions file -> `build_report`. Every second VQA-RAD paraphrase pair is answered
    inconsistently, and one row points at a corrupt image file.

    Returns (report dir, predictions.parquet, ids expected to be flagged inconsistent, corrupt id).
    """
    import json

    import polars as pl

    from radvqa_data.reader import read_qa
    from radvqa_diag.report import ReportOptions, build_report
    from radvqa_train.evaluate import evaluate

    root = tmp_path_factory.mktemp("diag-report")
    qa = read_qa("vqa-rad:train", catalog=sample_catalog)
    import duckdb

    con = duckdb.connect(str(sample_catalog), read_only=True)
    links = dict(con.execute("SELECT qid, linked_id FROM benchmark_qa").fetchall())
    con.close()
    pairs: dict[str, list[str]] = {}
    for qid in qa["id"].to_list():
        pairs.setdefault(links.get(qid), []).append(qid)
    pairs = {k: v for k, v in pairs.items() if k and len(v) > 1}
    inconsistent = {k: v for i, (k, v) in enumerate(sorted(pairs.items())) if i % 2 == 0}
    flip = {v[0] for v in inconsistent.values()}
    answers = {
        r["id"]: (_flip(r["answer"]) if r["id"] in flip else r["answer"]) for r in qa.to_dicts()
    }
    jsonl = root / "answers.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in answers.items())
    )
    evaluate(
        "vqa-rad:train",
        predictions=jsonl,
        catalog=sample_catalog,
        out=root / "eval",
        progress=False,
    )
    preds = root / "eval" / "predictions.parquet"
    df = pl.read_parquet(preds)
    (root / "corrupt.jpg").write_text("not an image")
    victim = sorted(set(df["id"]) - {i for v in pairs.values() for i in v})[0]
    df = df.with_columns(
        pl.when(pl.col("id") == victim)
        .then(pl.lit(str(root / "corrupt.jpg")))
        .otherwise(pl.col("image_path"))
        .alias("image_path")
    )
    df.write_parquet(preds)
    out = root / "report"
    build_report(preds, planted_paligemma[0], out, sample_catalog, ReportOptions(progress=False))
    # expected: pairs we flipped, plus pairs whose VQA-RAD reference answers already differ
    norm = {k: " ".join(v.lower().strip().rstrip(".").split()) for k, v in answers.items()}
    expected = {i for ids in pairs.values() if len({norm[i] for i in ids}) > 1 for i in ids} - {
        victim
    }
    assert {i for ids in inconsistent.values() for i in ids} <= expected
    return out, preds, expected, victim
