"""The label model: a small multi-task CNN on grey pictures, in plain torch (no torchvision).

One convolutional encoder (five 3x3 conv + batch-norm + ReLU stages, the first strided, a
max-pool after each but the last, then a 2x2 average pool: a 512-d embedding that keeps the
coarse layout a plane needs)
and one linear head per task (modality, plane, region). A missing label is the target -1 and
costs nothing, so every picture trains the tasks it has labels for.

Saved as `NAME.safetensors` (the state dict; the encoder's tensors are the `encoder.*` keys)
beside `config.json` (`LabelModelConfig` + the class names of every head): issue 22 can rebuild
the encoder with `LabelCNN(config)` and load only the `encoder.` keys as a pretrained vision
encoder. Inputs are float tensors [B, 1, S, S] in [0, 1] (S = `image_size`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from radvqa_data.core import atomic


@dataclass
class LabelModelConfig:
    """Every knob of the label model and its training (saved with the weights)."""

    # pixels per side: higher = slower, finer detail. 64 px, 12 epochs (batch 64): CV accuracy
    # modality 0.906, plane 0.837, region 0.800 in 456 s; 128 px, 8 epochs: 0.922 / 0.835 / 0.781
    # in 716 s (full MedPix 2.0, 5 folds, loaded machine); 64 px, 20 epochs, batch 32 (these
    # defaults): 0.918 / 0.861 / 0.811 (docs/label-issues.md)
    image_size: int = 64
    widths: tuple[int, ...] = (24, 32, 64, 96, 128)  # conv channels per stage: wider = slower
    dropout: float = 0.2  # before the heads
    epochs: int = 20  # per fold: more = better fit, longer run
    batch_size: int = 32  # smaller: more optimizer steps per epoch (64 left the model undertrained)
    lr: float = 3e-3  # AdamW peak learning rate (one-cycle schedule)
    weight_decay: float = 1e-4
    folds: int = 5  # cross-fitting folds: more = each model sees more data, longer run
    seed: int = 0
    min_class_images: int = 15  # a class with fewer labelled images is not learned (no check)
    classes: dict[str, list[str]] = field(default_factory=dict)  # task -> class names
    # The training subset (kept with the weights, so a reused encoder says what it saw): only
    # pictures of these splits (empty: every split; a source without splits counts as train),
    # and none of these pictures (image id, source/image_id or sha256). The rest are still
    # predicted and checked, by the fold ensemble (`tasks.in_training_subset`).
    train_splits: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The config as written to config.json."""
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LabelModelConfig:
        """Rebuild from config.json (unknown keys are an error: a config from another version)."""
        from radvqa_data.labels.tasks import task_renames

        d = dict(d)
        d["widths"] = tuple(d.get("widths", cls.widths))
        renames = task_renames()  # a folder an earlier version wrote: its task names
        d["classes"] = {renames.get(t, t): v for t, v in d.get("classes", {}).items()}
        return cls(**d)


def feature_dim(config: LabelModelConfig) -> int:
    """Length of the encoder's embedding: last stage's channels x the 2 x 2 pooled grid."""
    return config.widths[-1] * 4


def build_model(config: LabelModelConfig) -> Any:
    """A fresh `LabelCNN` for `config` (torch imported here, not at module import)."""
    import torch
    from torch import nn

    class LabelCNN(nn.Module):
        """Encoder -> 512-d embedding -> one linear head per task."""

        def __init__(self, cfg: LabelModelConfig) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c_in = 1
            for i, c_out in enumerate(cfg.widths):
                # a strided first stage and a pool after every stage but the last (/32): at 128
                # px, a full-width stage at 64 px cost 4x the whole rest (measured)
                layers += [
                    nn.Conv2d(c_in, c_out, 3, stride=2 if i == 0 else 1, padding=1, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True),
                ]
                if i < len(cfg.widths) - 1:
                    layers.append(nn.MaxPool2d(2))
                c_in = c_out
            layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten()]
            self.encoder = nn.Sequential(*layers)
            self.dropout = nn.Dropout(cfg.dropout)
            self.heads = nn.ModuleDict(
                {t: nn.Linear(feature_dim(cfg), len(names)) for t, names in cfg.classes.items()}
            )

        def embed(self, x: torch.Tensor) -> torch.Tensor:
            """The encoder's 512-d embedding of a batch [B, 1, S, S]."""
            return self.encoder(x)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            z = self.dropout(self.embed(x))
            return {t: head(z) for t, head in self.heads.items()}

    return LabelCNN(config)


def save_model(model: Any, config: LabelModelConfig, folder: Path, name: str) -> Path:
    """Write `folder/name.safetensors` and `folder/config.json` (both atomically)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.safetensors"
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic.atomic_path(target) as tmp:
        save_file(state, str(tmp), metadata={"format": "radvqa-label-cnn/1"})
    atomic.write_json(folder / "config.json", config.to_json())
    return target


def load_config(folder: Path) -> LabelModelConfig:
    """The config.json of a saved model folder."""
    return LabelModelConfig.from_json(json.loads((folder / "config.json").read_text()))


def load_model(folder: Path, name: str) -> Any:
    """Rebuild a saved model (eval mode) from `folder/name.safetensors` + config.json."""
    from safetensors.torch import load_file

    from radvqa_data.labels.tasks import task_renames

    model = build_model(load_config(folder))
    state = load_file(str(folder / f"{name}.safetensors"))
    # a folder an earlier version wrote names a renamed task's head by its old name
    for old, new in task_renames().items():
        state = {k.replace(f"heads.{old}.", f"heads.{new}.", 1): v for k, v in state.items()}
    model.load_state_dict(state)
    return model.eval()
