"""Saliency speed: our batched one-pass engine vs a naive per-method, per-example baseline.

Ours: `explain_batch` on batches (one forward with attentions + one backward per batch serves
attention, rollout, Grad-CAM and gradient x input). Baseline, the way the LVLM-Interpret-style
tools do it: per example, one forward per attention method and one forward+backward per
gradient method. Both run in the same process on the same model and images; prints s/example
for each and the ratio.

    # tiny PaliGemma + Idefics3, CPU
    .venv/bin/python bench/diag.py
    # GPU: 3B config, random weights, 448 px
    .venv/bin/python bench/diag.py --family paligemma-3b --n 16 --batch 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _images(n: int, size: int):
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)) for _ in range(n)]


def _paligemma_3b(tmp: Path, layers: int | None):
    """PaliGemma-3B-shaped model (SigLIP So400m/14 at 448 px + Gemma-2B), random weights, no
    download."""
    import torch
    from transformers import (
        AutoProcessor,
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        SiglipVisionConfig,
    )

    from radvqa_diag.loading import LoadedModel
    from radvqa_train.families import image_token_id
    from radvqa_train.tiny_model import build_tiny_model

    src = build_tiny_model("paligemma", tmp / "proc", image_size=32)
    processor = AutoProcessor.from_pretrained(src)
    processor.image_processor.size = {"height": 448, "width": 448}
    processor.image_processor.image_seq_length = processor.image_seq_length = (448 // 14) ** 2
    vocab = max(
        len(processor.tokenizer), 257216
    )  # the real Gemma vocabulary: LM head cost as in the 3B model
    cfg = PaliGemmaConfig(
        vision_config=SiglipVisionConfig(
            hidden_size=1152,
            intermediate_size=4304,
            num_hidden_layers=layers or 27,
            num_attention_heads=16,
            image_size=448,
            patch_size=14,
            projection_dim=2048,
        ),
        text_config=GemmaConfig(
            vocab_size=vocab,
            hidden_size=2048,
            intermediate_size=16384,
            num_hidden_layers=layers or 18,
            num_attention_heads=8,
            num_key_value_heads=1,
            head_dim=256,
            max_position_embeddings=8192,
        ),
        image_token_index=image_token_id(processor),
        vocab_size=vocab,
        projection_dim=2048,
        hidden_size=2048,
    )
    cfg._attn_implementation = "eager"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = PaliGemmaForConditionalGeneration(cfg).to(device=device, dtype=dtype).eval()
    model.config._attn_implementation = "eager"
    return LoadedModel(
        model, processor, "paligemma", "paligemma", image_token_id(processor), tmp
    ), 448


def _tiny(family: str, tmp: Path):
    from radvqa_diag.loading import load_model
    from radvqa_train.tiny_model import build_tiny_model

    return load_model(build_tiny_model(family, tmp / family)), 64


def _naive(lm, images, questions, answers) -> None:
    """Per example: a forward for each attention method, a forward+backward for each gradient
    method."""
    import torch

    from radvqa_diag.saliency import explain_batch
    from radvqa_train.families import build_inputs, model_inputs

    for img, q, a in zip(images, questions, answers, strict=True):
        batch, _ = build_inputs(lm.processor, lm.family, [img], [q], [a])
        batch.pop("labels", None)
        batch = {k: v.to(lm.device) for k, v in model_inputs(batch).items()}
        with torch.no_grad():
            for _ in ("attention", "rollout"):
                lm.model(**batch, output_attentions=True, use_cache=False)
        for _ in ("grad_x_input", "gradcam"):
            explain_batch(lm, [img], [q], [a])


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench(family: str, n: int, batch: int, layers: int | None) -> dict:
    import torch

    from radvqa_diag.saliency import explain_batch

    with tempfile.TemporaryDirectory() as tmp:
        lm, size = (
            _paligemma_3b(Path(tmp), layers)
            if family == "paligemma-3b"
            else _tiny(family, Path(tmp))
        )
        images = _images(n, size)
        questions = ["is there a fracture of the left femur?"] * n
        answers = ["no"] * n
        explain_batch(lm, images[:1], questions[:1], answers[:1])  # warm-up (allocations, kernels)
        _sync()
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            explain_batch(
                lm, images[i : i + batch], questions[i : i + batch], answers[i : i + batch]
            )
        _sync()
        ours = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        _naive(lm, images, questions, answers)
        _sync()
        naive = (time.perf_counter() - t0) / n
    return {
        "family": family,
        "device": str(lm.device),
        "threads": torch.get_num_threads(),
        "n": n,
        "batch": batch,
        "ours_s_per_example": ours,
        "naive_s_per_example": naive,
        "speedup": naive / ours,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--family", action="append", help="paligemma, idefics3, paligemma-3b (repeatable)"
    )
    ap.add_argument("--n", type=int, default=32, help="examples per measurement")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    ap.add_argument(
        "--layers", type=int, default=None, help="paligemma-3b: override layer counts (smoke runs)"
    )
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    for fam in args.family or ["paligemma", "idefics3"]:
        r = bench(fam, args.n, args.batch, args.layers)
        print(
            f"{r['family']:>13} on {r['device']} ({r['threads']} threads), "
            f"n={r['n']}, batch={r['batch']}: "
            f"ours {r['ours_s_per_example']:.4f} s/example, "
            f"naive per-method {r['naive_s_per_example']:.4f} "
            f"s/example, ratio {r['speedup']:.1f}x"
        )


if __name__ == "__main__":
    main()
