"""Full-parameter training of a from-scratch model on pre-encoded examples, and greedy scoring.

Why not `radvqa_train.loop`: that loop decodes and encodes every image at every step (right for
shards of millions of rows on a GPU). Here a few hundred images are seen for dozens of epochs on
2 CPU cores, so each example is encoded once (`encode_sample`, the same prompt layout as
`run`/`eval`) and kept as tensors; a step only collates, augments and runs the model. The model
is the same transformers PaliGemma class `run`, `eval` and `radvqa-diag` load.

Image pathway: the vision tower and projector get `vision_lr_mult` x the learning rate (from
scratch the language prior is learned first and the image path starves otherwise), and
training pixels get a small random shift and contrast jitter (a few hundred pictures are easy
to memorize).
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from typing import Any

from radvqa_train.evaluate import derangement, score_rows
from radvqa_train.families import collate, encode_sample


@dataclass
class TrainSettings:
    """Optimizer and schedule of one stage (see the recipe for the chosen values)."""

    epochs: float = 10.0
    lr: float = 1e-3
    vision_lr_mult: float = 3.0  # higher: the image path learns faster than the language prior
    weight_decay: float = 0.05
    batch_size: int = 32
    warmup_frac: float = 0.05
    augment: bool = True  # random shift (+-4 px) and contrast jitter on training pixels
    select_on_val: bool = False  # keep the epoch with the best validation closed accuracy
    max_rows: int | None = None  # cap on rows drawn per epoch (shares scaled down to fit): keeps
    # the run time fixed when a source grows (full MedPix 2.0 gives about 4x the synthetic rows)


class Encoder:
    """Encodes rows once; images are decoded once per path and resized to the model's side."""

    def __init__(self, processor: Any, family: str, image_size: int, max_length: int = 96):
        self.processor, self.family, self.size, self.max_length = (
            processor,
            family,
            image_size,
            max_length,
        )
        self._images: dict[str, Any] = {}
        self._pixels: dict[str | None, Any] = {}  # one pixel tensor per picture, shared by rows

    def image(self, path: str | None, blank: bool = False) -> Any:
        from PIL import Image

        if blank or path is None:
            return Image.new("RGB", (self.size, self.size), (128, 128, 128))
        if path not in self._images:
            from radvqa_train.data import load_image

            im = load_image(path)
            self._images[path] = (
                None if im is None else im.resize((self.size, self.size), Image.BICUBIC)
            )
        return self._images[path]

    def encode(self, rows: list[dict], *, answers: bool, blank: bool = False) -> list[dict]:
        """Features per row (answer tokens included when `answers`); unusable rows are dropped.

        Rows on one picture share one pixel tensor (full MedPix 2.0: 21,955 synthetic rows on
        2,003 pictures), so memory grows with pictures, not rows. `blank` or an image_path of
        None: the mid-grey picture `radvqa_train.evaluate` uses for its blank ablation."""
        out = []
        for r in rows:
            path = None if blank else r.get("image_path")
            im = self.image(path, blank)
            if im is None:
                continue
            enc = encode_sample(
                self.processor,
                self.family,
                im,
                r["question"],
                r["answer"] if answers else None,
                max_length=self.max_length,
            )
            if enc.features is not None:
                px = self._pixels.setdefault(path, enc.features["pixel_values"])
                out.append({**enc.features, "pixel_values": px, "_row": r})
        return out


def _augment(pixels: Any, gen: Any) -> Any:
    """Random shift by up to 4 px (edge padding) and contrast/brightness jitter, per image."""
    import torch

    b, _, h, w = pixels.shape
    pad = 4
    padded = torch.nn.functional.pad(pixels, (pad, pad, pad, pad), mode="replicate")
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    scale = 1 + 0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)
    shift = 0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)
    return (out * scale + shift).clamp(-1, 1)


def _batch(feats: list[dict], pad_id: int, padding_side: str = "right") -> dict:
    return collate(
        [{k: v for k, v in f.items() if k != "_row"} for f in feats],
        pad_id,
        padding_side=padding_side,
    )


def _param_groups(model: Any, s: TrainSettings) -> list[dict]:
    vision, rest = [], []
    for n, p in model.named_parameters():
        if getattr(p, "radvqa_frozen", False):  # a frozen pretrained encoder stays as it is
            p.requires_grad_(False)
            continue
        p.requires_grad_(True)
        (vision if ("vision_tower" in n or "multi_modal_projector" in n) else rest).append(p)
    return [{"params": rest, "lr": s.lr}, {"params": vision, "lr": s.lr * s.vision_lr_mult}]


def train(
    model: Any,
    pad_id: int,
    stage_feats: list[tuple[list[dict], float]],
    s: TrainSettings,
    seed: int,
    *,
    val: Any = None,
    log: Any = None,
    label: str = "",
) -> dict:
    """Train `model` in place on a mixture; returns {'steps', 'best_epoch', 'val_curve'}.

    `stage_feats`: (features, rows per epoch as a multiple of len(features)) per source; every
    epoch draws each source's share without replacement. `val`: a callable model -> score,
    evaluated after each epoch when `s.select_on_val` (the best epoch's weights are restored).
    """
    import torch

    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    wanted = sum(len(f) * share for f, share in stage_feats)
    if s.max_rows is not None and wanted > s.max_rows:
        stage_feats = [(f, share * s.max_rows / wanted) for f, share in stage_feats]
    per_epoch = sum(int(round(len(f) * share)) for f, share in stage_feats)
    steps_per_epoch = max(1, math.ceil(per_epoch / s.batch_size))
    n_epochs = max(1, math.ceil(s.epochs))
    total = max(1, int(round(s.epochs * steps_per_epoch)))
    opt = torch.optim.AdamW(_param_groups(model, s), weight_decay=s.weight_decay)
    base = [g["lr"] for g in opt.param_groups]
    warm = max(1, int(s.warmup_frac * total))
    step, curve, best, best_state, best_epoch = 0, [], -1.0, None, None
    model.train()
    for epoch in range(n_epochs):
        pool: list[dict] = []
        for feats, share in stage_feats:  # each source's share, whole passes first
            k, idx = int(round(len(feats) * share)), []
            while len(idx) < k:
                idx += rng.sample(range(len(feats)), len(feats))
            pool += [feats[i] for i in idx[:k]]
        rng.shuffle(pool)
        losses = []
        for lo in range(0, len(pool), s.batch_size):
            if step >= total:
                break
            batch = _batch(pool[lo : lo + s.batch_size], pad_id)
            batch.pop("answer_mask")
            if s.augment:
                batch["pixel_values"] = _augment(batch["pixel_values"], gen)
            frac = (
                (step + 1) / warm
                if step < warm
                else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            )
            for g, b in zip(opt.param_groups, base, strict=True):
                g["lr"] = b * frac
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
        entry = {"epoch": epoch + 1, "loss": round(sum(losses) / max(len(losses), 1), 4)}
        if s.select_on_val and val is not None:
            entry["val"] = round(val(model), 4)
            if entry["val"] > best:
                best, best_epoch = entry["val"], epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            model.train()
        curve.append(entry)
        if log is not None:
            log(
                f"{label} epoch {epoch + 1}/{n_epochs} "
                + " ".join(f"{k}={v}" for k, v in entry.items() if k != "epoch")
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {
        "steps": step,
        "best_epoch": best_epoch,
        "best_val": best if best_state else None,
        "curve": curve,
    }


def generate(
    model: Any,
    processor: Any,
    feats: list[dict],
    *,
    max_new_tokens: int = 8,
    batch_size: int = 64,
    pixels: Any = None,
) -> list[str]:
    """Greedy answers for prompt-only features; `pixels` ([N,3,H,W]) replaces their images."""
    import torch

    tok = processor.tokenizer
    answers: list[str] = []
    model.eval()
    with torch.no_grad():
        for lo in range(0, len(feats), batch_size):
            batch = _batch(feats[lo : lo + batch_size], tok.pad_token_id, padding_side="left")
            batch.pop("answer_mask")
            batch.pop("labels", None)
            if pixels is not None:
                batch["pixel_values"] = pixels[lo : lo + batch_size]
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)
            new = out[:, batch["input_ids"].shape[1] :]
            answers += [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
    return answers


def ablated_pixels(feats: list[dict], mode: str, seed: int = 0) -> Any:
    """Pixels for an image ablation: ``blank`` (mid-grey, 0 after normalization) or ``shuffle``
    (each question gets another question's image: a random derangement)."""
    import torch

    pixels = torch.stack([f["pixel_values"] for f in feats])
    if mode == "blank":
        return torch.zeros_like(pixels)
    return pixels[derangement(len(feats), seed)]


def scored_rows(feats: list[dict], answers: list[str]) -> list[dict]:
    """Eval rows with prediction and scores: `radvqa_train.evaluate.score_rows`, the one scorer."""
    return score_rows([f["_row"] for f in feats], answers)
