"""The experiment's rows: VQA-RAD train/validation/test and the audited synthetic QA.

The validation split is carved from VQA-RAD *train* by image (a stable hash of `image_id`), so
no validation picture has a question in the training part; every setting is chosen on it and
VQA-RAD test is scored once per final configuration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from radvqa_data.core.errors import InputError
from radvqa_data.reader import read_qa


@dataclass
class ExperimentData:
    """Rows (dicts with image_path, question, answer, answer_type, question_type, ...)."""

    train: list[dict]
    val: list[dict]
    test: list[dict]
    synthetic: list[dict]
    train_all: list[dict]  # all of VQA-RAD train (validation included, no limit): baselines

    def counts(self) -> dict:
        return {
            "vqa_rad_train": len(self.train),
            "vqa_rad_val": len(self.val),
            "vqa_rad_test": len(self.test),
            "synthetic_rows": len(self.synthetic),
            "synthetic_images": len({r["image_id"] for r in self.synthetic}),
        }


def in_val(image_id: str, fraction: float) -> bool:
    """Stable by-image validation membership (sha1 of the id, not Python's salted hash)."""
    h = int(hashlib.sha1(str(image_id).encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def _closed(rows: list[dict]) -> list[dict]:
    for r in rows:  # VQA-RAD ships one answer_type with a trailing space
        r["answer_type"] = (r.get("answer_type") or "").strip().lower()
    return rows


def load_experiment_data(
    catalog: Path,
    shards: Path,
    *,
    val_fraction: float = 0.15,
    benchmark: str = "vqa-rad",
    limit: int | None = None,
) -> ExperimentData:
    """Read every split once; `limit` keeps the first N rows of each training split (quick mode;
    test stays whole, so its baselines are the real ones).

    With `limit` the model is scored on the first N test rows only: see `run_experiment`."""
    if not Path(catalog).is_file():
        raise InputError(f"{catalog}: catalog not found (build it with `radvqa-data catalog add`)")
    if not Path(shards).is_dir():
        raise InputError(f"{shards}: synthetic QA shard folder not found (`radvqa-data synth`)")
    train_all = _closed(read_qa(f"{benchmark}:train", catalog=catalog).to_dicts())
    test = _closed(read_qa(f"{benchmark}:test", catalog=catalog).to_dicts())
    synthetic = _closed(read_qa("synthetic", shards=shards, catalog=catalog).to_dicts())
    train = [r for r in train_all if not in_val(r["image_id"], val_fraction)]
    val = [r for r in train_all if in_val(r["image_id"], val_fraction)]
    if not train or not val or not test or not synthetic:
        raise InputError(
            f"empty split: train {len(train)}, val {len(val)}, test {len(test)}, "
            f"synthetic {len(synthetic)} rows with an image file"
        )
    if limit is not None:
        train, val, synthetic = (x[:limit] for x in (train, val, synthetic))
    return ExperimentData(train, val, test, synthetic, train_all)
