"""Plain-text and Markdown views of a `rehearse` report (docs/train.md holds the Markdown)."""

from __future__ import annotations


def _b(n: float) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e8 else f"{n / 1e6:.2f} M"


def stage_lines(report: dict) -> list[str]:
    """One line per stage: parameters, image tokens, FLOPs, memory."""
    lines = []
    for s in report["stages"]:
        m = s["est_gpu_memory_gb"]
        lines.append(
            f"{s['name']:14s} {s['train']:14s} params {_b(s['params_total'])} "
            f"(trainable {_b(s['params_trainable'])}) image tokens {s['image_tokens']} "
            f"/ max_length {s['max_length']}  {s['flops_per_step'] / 1e15:.1f} PFLOP/step  "
            f"GPU memory {m['total']} GB ({m['total_checkpointed']} GB checkpointed)"
        )
    return lines


def gpu_markdown(report: dict) -> str:
    """Markdown table: per stage and GPU, fits / largest batch / steps per second."""
    head = (
        "| stage | batch | GPU | fits (ckpt) | largest batch (ckpt) | steps/s (ckpt) |\n"
        "|---|---|---|---|---|---|"
    )
    rows = []
    for s in report["stages"]:
        for g in s["gpus"]:
            fits = f"{'yes' if g['fits'] else 'no'} ({'yes' if g['fits_checkpointed'] else 'no'})"
            rows.append(
                f"| {s['name']} | {s['batch_size']}x{s['grad_accum']} | {g['gpu']} | {fits} | "
                f"{g['max_batch']} ({g['max_batch_checkpointed']}) | "
                f"{g['steps_per_s']} ({g['steps_per_s_checkpointed']}) |"
            )
    return "\n".join([head, *rows])


def summary_markdown(report: dict) -> str:
    """Markdown table: per stage, parameters vs published, tokens, FLOPs, memory."""
    head = (
        "| stage | train | params (vs published) | trainable | image tokens / max_length "
        "| TFLOP/step | est. GPU GB (ckpt) |\n|---|---|---|---|---|---|---|"
    )
    rows = []
    for s in report["stages"]:
        m = s["est_gpu_memory_gb"]
        rows.append(
            f"| {s['name']} | {s['train']} | {_b(s['params_base'])} "
            f"({s['params_error_pct']:+.2f}%) | {_b(s['params_trainable'])} | "
            f"{s['image_tokens']} / {s['max_length']} | {s['flops_per_step'] / 1e12:,.0f} | "
            f"{m['total']} ({m['total_checkpointed']}) |"
        )
    return "\n".join([head, *rows])


def format_report(report: dict) -> str:
    """What `radvqa-train rehearse` prints without --json."""
    a = report["assumptions"]
    out = [
        f"{report['recipe']}: {report['model']} from {report['config_file']}",
        f"published total {_b(report['published_params'])} ({report['published_params_source']})",
        *stage_lines(report),
        "",
        f"GPU estimate at MFU {a['mfu']}, +{a['overhead_gb']} GB overhead, "
        f"{a['nominal_image_px']} px images (not yet checked on a GPU):",
        gpu_markdown(report),
    ]
    for r in report.get("real", []):
        out.append(
            f"real step {r['stage']}: loss {r['loss']:.3f}, {r['rows']} rows, "
            f"answer {r['generated']!r}, saliency {r['saliency_shape']}, reload ok; "
            f"{r['seconds']} s ({r['cpu_seconds']} CPU s), peak RSS {r['peak_rss_gb']} GB "
            f"(at start {r['rss_start_gb']} GB)"
        )
    return "\n".join(out)


def compact_markdown(reports: list[dict]) -> str:
    """One row per recipe and distinct stage cost: params, tokens, FLOPs, memory, then per GPU
    "fits at the recipe's batch (with checkpointing) / largest batch (ckpt) / steps per s"."""
    gpus = [g["gpu"] for g in reports[0]["stages"][0]["gpus"]]
    head = (
        "| recipe | stage(s) | params (vs published) | trainable | image tok / max_length "
        "| TFLOP/step | est. GB (ckpt) | " + " | ".join(gpus) + " |\n"
        "|" + "---|" * (7 + len(gpus))
    )
    rows = []
    for rep in reports:
        seen: dict[tuple, list[str]] = {}
        for s in rep["stages"]:
            key = (s["train"], s["max_length"], s["flops_per_step"])
            seen.setdefault(key, []).append(s["name"])
        for s in rep["stages"]:
            key = (s["train"], s["max_length"], s["flops_per_step"])
            if s["name"] != seen[key][0]:
                continue
            m = s["est_gpu_memory_gb"]
            cells = []
            for g in s["gpus"]:
                fit = ("yes" if g["fits"] else "no") + (
                    " (yes)" if g["fits_checkpointed"] else " (no)"
                )
                cells.append(
                    f"{fit} / {g['max_batch']} ({g['max_batch_checkpointed']}) / {g['steps_per_s']}"
                )
            rows.append(
                f"| {rep['recipe']} | {', '.join(seen[key])} ({s['train']}) | "
                f"{_b(s['params_base'])} ({s['params_error_pct']:+.2f}%) | "
                f"{_b(s['params_trainable'])} | {s['image_tokens']} / {s['max_length']} | "
                f"{s['flops_per_step'] / 1e12:,.0f} | {m['total']} ({m['total_checkpointed']}) | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join([head, *rows])
