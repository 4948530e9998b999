"""Explain one (image, question[, answer]): the function behind `radvqa-diag saliency`.

Without an answer, the model's own greedy answer is explained (generated first, then one
forward + backward pass computes every map). Writes a PNG panel and an `.npz` with the raw maps
and per-layer/head attention next to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from radvqa_data.core.atomic import atomic_path
from radvqa_data.core.errors import InputError

MAX_NEW_TOKENS = 16


def generate_answer(lm: Any, image: Any, question: str) -> str:
    """Greedy answer of the model (decoded, special tokens dropped)."""
    import torch

    from radvqa_train.families import build_inputs, model_inputs

    batch, _ = build_inputs(lm.processor, lm.family, [image], [question])
    batch = {k: v.to(lm.device) for k, v in model_inputs(batch).items()}
    with torch.no_grad():
        out = lm.model.generate(**batch, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    new = out[0, batch["input_ids"].shape[1] :]
    return lm.processor.tokenizer.decode(new, skip_special_tokens=True).strip()


def explain_one(
    model: str | Path,
    image: str | Path,
    question: str,
    answer: str | None,
    out: str | Path,
    layers: list[int] | None = None,
) -> dict[str, Any]:
    """Compute and save all maps for one example; returns answer, confidence and written paths."""
    from radvqa_diag.analyze import load_image
    from radvqa_diag.loading import load_model
    from radvqa_diag.maps import on_image, save_panel
    from radvqa_diag.saliency import METHODS, explain_batch

    try:
        img = load_image(str(image))
    except (OSError, ValueError) as exc:
        raise InputError(f"{image}: cannot read the image ({exc})") from exc
    if not question.strip():
        raise InputError("--question is empty")
    lm = load_model(model)
    if answer is None:
        answer = generate_answer(lm, img, question)
    sal = explain_batch(lm, [img], [question], [answer], layers=layers)[0]
    maps01 = {m: on_image(sal.maps[m], img.size) for m in METHODS}
    out = Path(out)
    title = f"Q: {question}   A: {answer}   (confidence {sal.confidence:.2f})"
    save_panel(img, maps01, out, title=title)
    npz = out.with_suffix(".npz")
    with atomic_path(npz) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, attention_lh=sal.attention_lh, **{m: sal.maps[m] for m in METHODS})
    return {"answer": answer, "confidence": sal.confidence, "png": out, "npz": npz}
