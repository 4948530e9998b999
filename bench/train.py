"""Training throughput of `radvqa_train` against a bare training loop, in the same run.

    .venv/bin/python bench/train.py [--size auto|tiny|3b] [--steps 10] [--warmup 3] [--batch 8]
    .venv/bin/python bench/train.py --size 3b --dry-run     # config + FLOPs only (meta device)

- ``tiny`` (default on CPU): the tiny PaliGemma of `radvqa-train tiny-model` (32 px), LoRA r=8.
- ``3b`` (default on a CUDA GPU): PaliGemma-3B at 448 px (SigLIP-So400m/14 + Gemma-2B) built
  from its config with random weights (no download; same compute and memory as the real model),
  LoRA r=8 on the language model's attention + MLP, bf16, batch 8.

Both measure, on the same model and the same images:
- ours: `radvqa_train.loop.train_stage` (images decoded from PNG, prompts encoded, collated,
  answer-only labels, forward/backward/step, logging) for warmup + steps optimizer steps;
- baseline: a bare loop that steps on one pre-collated batch already on the device (no data
  work at all: an upper bound on step speed).
Prints samples/s and tokens/s of both and their ratio, peak memory, and on a GPU the model-FLOPs
utilization (MFU) with the usual 6·N·tokens convention (+ attention), so a LoRA run (which
skips frozen-weight gradients, about 2/3 of that work) reads below what the GPU executes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Dense bf16 peak of common GPUs (FLOP/s), for MFU.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def paligemma_3b(processor_tokenizer_len: int, image_token_id: int):
    """PaliGemma-3B (pt-448) config: SigLIP-So400m/14 at 448 px + Gemma-2B."""
    from transformers import GemmaConfig, PaliGemmaConfig, SiglipVisionConfig

    return PaliGemmaConfig(
        vision_config=SiglipVisionConfig(
            hidden_size=1152,
            intermediate_size=4304,
            num_hidden_layers=27,
            num_attention_heads=16,
            patch_size=14,
            image_size=448,
            projection_dim=2048,
        ),
        text_config=GemmaConfig(
            vocab_size=257216,
            hidden_size=2048,
            intermediate_size=16384,
            num_hidden_layers=18,
            num_attention_heads=8,
            num_key_value_heads=1,
            head_dim=256,
            hidden_activation="gelu_pytorch_tanh",
        ),
        image_token_index=image_token_id,
        vocab_size=257216,
        projection_dim=2048,
        hidden_size=2048,
    )


def build(size: str, root: Path, device: str):
    """(model, processor, image_size) for the benchmark."""
    import torch
    from transformers import AutoProcessor, PaliGemmaForConditionalGeneration

    from radvqa_train.modeling import load_model
    from radvqa_train.tiny_model import build_tiny_model

    if size == "tiny":
        path = build_tiny_model("paligemma", root / "tiny", image_size=32)
        model, processor = load_model(str(path))
        return model.to(device), processor, 32
    # 3b: processor = our radiology BPE tokenizer + a 448 px SigLIP image processor (1024 tokens)
    path = build_tiny_model("paligemma", root / "tok", image_size=448)
    processor = AutoProcessor.from_pretrained(path)
    # SigLIP /14 at 448 px: 32 x 32 = 1024 image tokens (the tiny model's /8 patches gave 3136)
    processor.image_seq_length = processor.image_processor.image_seq_length = (448 // 14) ** 2
    cfg = paligemma_3b(len(processor.tokenizer), processor.image_token_id)
    model = PaliGemmaForConditionalGeneration._from_config(cfg, dtype=torch.bfloat16)
    return model.to(device), processor, 448


def param_counts(model) -> dict:
    """Parameters of the vision tower, the LM without embeddings, and the output head (call
    before LoRA wrapping)."""
    inner = model.model
    cfg = model.config
    return {
        "vision": sum(p.numel() for p in inner.vision_tower.parameters()),
        "lm": sum(
            p.numel() for n, p in inner.language_model.named_parameters() if "embed_tokens" not in n
        ),
        "head": cfg.text_config.vocab_size * cfg.text_config.hidden_size,
        "cfg": cfg,
    }


def flops_per_sample(counts: dict, seq_len: int, n_patches: int) -> float:
    """6·N·tokens (vision tower on patches, LM + head on the sequence) + attention terms."""
    tc, vc = counts["cfg"].text_config, counts["cfg"].vision_config
    attn = 12 * tc.num_hidden_layers * seq_len**2 * tc.num_attention_heads * tc.head_dim
    attn += 12 * vc.num_hidden_layers * n_patches**2 * vc.hidden_size
    return 6 * (counts["vision"] * n_patches + (counts["lm"] + counts["head"]) * seq_len) + attn


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", choices=("auto", "tiny", "3b"), default="auto")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument(
        "--dry-run", action="store_true", help="3b config on the meta device: params + FLOPs only"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    size = args.size if args.size != "auto" else ("3b" if cuda else "tiny")
    device = "cuda" if cuda else "cpu"
    if args.dry_run:
        from transformers import PaliGemmaForConditionalGeneration

        with torch.device("meta"):
            model = PaliGemmaForConditionalGeneration(paligemma_3b(2176, 4))
        n = sum(p.numel() for p in model.parameters())
        print(
            f"PaliGemma-3B config: {n / 1e9:.3f} B parameters; "
            "model FLOPs per training sample (1024 image + 48 text tokens): "
            f"{flops_per_sample(param_counts(model), 1072, 1024) / 1e12:.2f} TFLOP"
        )
        return

    from accelerate import Accelerator

    from radvqa_train.config import LoraSpec, StageConfig
    from radvqa_train.data import load_stage
    from radvqa_train.families import collate, encode_sample, model_inputs
    from radvqa_train.loop import train_stage
    from radvqa_train.modeling import prepare_for_stage
    from radvqa_train.toydata import make_toy_data
    from radvqa_train.tracking import MetricsLog

    root = Path(tempfile.mkdtemp(prefix="bench-train-"))
    model, processor, image_size = build(size, root, device)
    data_paths = make_toy_data(root / "data", n_images=64, n_test=8, image_size=image_size)
    stage = StageConfig(
        name="bench",
        data=[],
        train="lora_lm",
        lora=LoraSpec(r=8, alpha=16, dropout=0.0),
        lr=1e-4,
        schedule="constant",
        max_steps=args.warmup + args.steps,
        batch_size=args.batch,
        max_length=2048,
        precision="bf16" if cuda else "fp32",
        save_every=10**9,
    )
    from radvqa_train.config import DataSpec

    stage.data = [DataSpec(spec="synthetic:train")]
    data = load_stage(stage, shards=data_paths["shards"], catalog=data_paths["catalog"])
    counts = param_counts(model)
    model = prepare_for_stage(model, stage)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    log = MetricsLog(root / "out", ["bench"])
    train_stage(
        model,
        processor,
        "paligemma",
        stage,
        data,
        root / "out" / "bench",
        Accelerator(cpu=not cuda),
        log,
        resume=False,
        progress=False,
    )
    rows = [json.loads(x) for x in log.path.read_text().splitlines() if '"loss"' in x][
        args.warmup :
    ]
    secs = sum(args.batch / r["samples_per_s"] for r in rows)
    ours_sps = args.batch * len(rows) / secs
    ours_tps = sum(r["tokens_per_s"] * args.batch / r["samples_per_s"] for r in rows) / secs

    # baseline: one pre-collated batch on the device, bare forward/backward/step
    from radvqa_train.data import load_image

    batch_rows = data.frames[0].head(args.batch).to_dicts()
    feats = [
        encode_sample(
            processor, "paligemma", load_image(r["image_path"]), r["question"], r["answer"]
        ).features
        for r in batch_rows
    ]
    batch = {
        k: v.to(device)
        for k, v in model_inputs(collate(feats, processor.tokenizer.pad_token_id)).items()
    }
    tokens = int(batch["attention_mask"].sum())
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ctx = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cuda
        else torch.autocast("cpu", enabled=False)
    )
    times = []
    for i in range(args.warmup + args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with ctx:
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    base_sps = args.batch * len(times) / sum(times)
    base_tps = tokens * len(times) / sum(times)
    result = {
        "size": size,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "batch": args.batch,
        "steps": args.steps,
        "ours_samples_per_s": round(ours_sps, 3),
        "ours_tokens_per_s": round(ours_tps, 1),
        "baseline_samples_per_s": round(base_sps, 3),
        "baseline_tokens_per_s": round(base_tps, 1),
        "ratio_ours_over_baseline": round(ours_sps / base_sps, 3),
    }
    seq = batch["input_ids"].shape[1]
    n_patches = (image_size // counts["cfg"].vision_config.patch_size) ** 2
    fps = flops_per_sample(counts, seq, n_patches)
    result["model_tflop_per_sample"] = round(fps / 1e12, 6)
    if cuda:
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        peak = next((v for k, v in PEAK_BF16.items() if k in result["device"]), None)
        result["mfu_ours"] = round(fps * ours_sps / peak, 4) if peak else None
        result["mfu_baseline"] = round(fps * base_sps / peak, 4) if peak else None
    else:
        from radvqa_train.tracking import memory_mb

        result["peak_rss_mib"] = round(memory_mb(), 1)
    for k, v in result.items():
        print(f"{k:28s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
