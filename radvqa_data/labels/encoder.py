"""The trained label model's convolutional encoder, for reuse as a pretrained vision encoder.

The stable entry point for other code (issue 22's VQA experiment):

    encoder, info = load_label_encoder(model_dir)   # model_dir: CAT.assets/label-model/
    x = encode_inputs(["a.png", "b.png"], info)     # [B, 1, S, S] float in [0, 1]
    features = encoder(x)                           # [B, info.feature_dim]

`encoder` is a `torch.nn.Module` (eval mode, weights of `full.safetensors` by default: the model
trained on every training picture); `info` says what it expects and what it saw, so a caller can
check that no benchmark picture was among its training pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radvqa_data.labels.model import LabelModelConfig, feature_dim, load_config

#: The saved model trained on every training picture (the others are the fold models).
FULL_MODEL = "full"


@dataclass(frozen=True)
class EncoderInfo:
    """What a loaded label encoder expects and what it was trained on."""

    image_size: int  # inputs are [B, channels, image_size, image_size]
    channels: int  # 1: grey (a colour picture is converted, as `encode_inputs` does)
    feature_dim: int  # length of one picture's embedding
    value_range: tuple[float, float]  # pixel values: grey level / 255
    config: LabelModelConfig  # every training setting, the heads' classes, the training subset
    trained_on: frozenset[tuple[str, str]]  # (source, image_id) of the training pictures
    weights: Path  # the .safetensors file the encoder came from


def load_label_encoder(model_dir: str | Path, name: str = FULL_MODEL) -> tuple[Any, EncoderInfo]:
    """(encoder module in eval mode, its `EncoderInfo`) from a saved label-model folder.

    `name`: which saved model ("full", or "fold-K"). A folder without that model or its
    config.json is an `InputError` naming the path."""
    from radvqa_data.core.errors import InputError
    from radvqa_data.labels.model import load_model
    from radvqa_data.labels.store import read_training

    folder = Path(model_dir)
    weights = folder / f"{name}.safetensors"
    if not weights.is_file() or not (folder / "config.json").is_file():
        raise InputError(
            f"{weights}: no saved label model there; expected a folder written by "
            "`radvqa-data label-issues` (config.json and full.safetensors)"
        )
    config = load_config(folder)
    model = load_model(folder, name)
    info = EncoderInfo(
        image_size=config.image_size,
        channels=1,
        feature_dim=feature_dim(config),
        value_range=(0.0, 1.0),
        config=config,
        trained_on=frozenset(read_training(folder)),
        weights=weights,
    )
    return model.encoder.eval(), info


def encode_inputs(paths: Sequence[str | Path], info: EncoderInfo) -> Any:
    """The encoder's input for picture files: grey, padded to a square, resized, in [0, 1]
    ([N, 1, S, S] float tensor), exactly as the label model was trained. An unreadable file is
    an `InputError` naming it."""
    import torch

    from radvqa_data.core.errors import InputError
    from radvqa_data.labels.pixels import decode_all

    x, failed = decode_all([str(p) for p in paths], info.image_size, workers=1)
    if failed:
        i, why = next(iter(failed.items()))
        raise InputError(f"{paths[i]}: cannot read the picture ({why}); expected an image file")
    return torch.from_numpy(x).float().unsqueeze(1) / 255
