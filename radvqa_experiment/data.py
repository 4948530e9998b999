"""The experiment's rows: VQA-RAD train/validation/test and the audited synthetic QA.

The validation split is carved from VQA-RAD *train* by image (a stable hash of `image_id`), so
no validation picture has a question in the training part; every setting is chosen on it and
VQA-RAD test is scored once per final configuration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from radvqa_data.core.answers import answer_type_of
from radvqa_data.core.errors import InputError
from radvqa_data.reader import read_qa

DEFAULT_VERSION = "default"  # the synthetic folder given by --shards


@dataclass
class ExperimentData:
    """Rows (dicts with image_path, question, answer, answer_type, question_type, ...).

    `versions`: synthetic QA per data version (name -> rows): the folder of ``--shards`` is
    ``default``, each ``--data NAME=DIR`` adds one; `folders` names each version's folder."""

    train: list[dict]
    val: list[dict]
    test: list[dict]
    versions: dict[str, list[dict]]
    train_all: list[dict]  # all of VQA-RAD train (validation included, no limit): baselines
    folders: dict[str, str]
    totals: dict[str, dict] = field(default_factory=dict)  # per version, before any limit
    captions: list[dict] = field(default_factory=list)  # image-caption alignment rows

    @property
    def synthetic(self) -> list[dict]:
        """The default version's synthetic rows."""
        return self.versions[DEFAULT_VERSION]

    def counts(self) -> dict:
        """Split sizes (synthetic_* of the default version) and ``versions``: every data
        version's folder, rows, images and rows per split (what `data.versions` records)."""
        return {
            "vqa_rad_train": len(self.train),
            "vqa_rad_val": len(self.val),
            "vqa_rad_test": len(self.test),
            "synthetic_rows": len(self.synthetic),
            "synthetic_images": len({r["image_id"] for r in self.synthetic}),
            "caption_rows": len(self.captions),
            "versions": {
                name: {"folder": self.folders[name], **self.totals.get(name, version_counts(rows))}
                for name, rows in self.versions.items()
            },
        }


def version_counts(rows: list[dict]) -> dict:
    """Rows, images and rows per split of one data version (`data.versions.NAME`)."""
    return {
        "rows": len(rows),
        "images": len({r["image_id"] for r in rows}),
        "rows_by_split": {
            k: sum(1 for r in rows if str(r.get("split")) == k)
            for k in sorted({str(r.get("split")) for r in rows})
        },
    }


CAPTION_WORDS = 24  # a caption target longer than this is cut at a word (the model's max_length)


def caption_target(text: str, words: int = CAPTION_WORDS) -> str:
    """The caption's first sentence, at most `words` words: what the alignment stage generates.

    MedPix captions open with what the picture is ("Axial T2 FLAIR MRI shows ..."); later
    sentences often discuss the case, not the picture, and a 96-token model sequence holds
    about two dozen words after the image tokens and the prompt."""
    t = " ".join(str(text).split())
    for stop in (". ", "; "):
        cut = t.find(stop)
        if 0 < cut:
            t = t[:cut]
    return " ".join(t.rstrip(".").split()[:words])


def caption_rows(catalog: Path, synthetic_train: list[dict]) -> list[dict]:
    """MedPix train-split captions of the pictures the audited synthetic train rows are on.

    The same leak-free picture set as the label encoder's pretraining
    (`radvqa_experiment.vision.leak_free_pictures`): the audit dropped every row on a picture it
    matched to a VQA-RAD picture, and dev/test pictures are not train rows."""
    allowed = {(r["source"], r["image_id"]) for r in synthetic_train}
    rows = read_qa("captions:*:train", catalog=catalog).to_dicts()
    out = []
    for r in rows:
        if (r["source"], r["image_id"]) in allowed and r.get("answer"):
            target = caption_target(r["answer"])
            if target:
                out.append({**r, "answer": target, "answer_type": "open"})
    return out


def in_val(image_id: str, fraction: float) -> bool:
    """Stable by-image validation membership (sha1 of the id, not Python's salted hash)."""
    h = int(hashlib.sha1(str(image_id).encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def _closed(rows: list[dict]) -> list[dict]:
    for r in rows:  # VQA-RAD ships one answer_type with a trailing space; "" when there is none
        r["answer_type"] = answer_type_of(r.get("answer_type")) or ""
    return rows


def parse_versions(shards: Path, data: list[str] | None) -> dict[str, Path]:
    """{name: folder} from ``--shards`` (``default``) and ``--data NAME=DIR`` options."""
    out = {DEFAULT_VERSION: Path(shards)}
    for spec in data or []:
        name, sep, folder = spec.partition("=")
        name = name.strip()
        if not sep or not name or not folder:
            raise InputError(f"--data {spec}: expected NAME=DIR (a synthetic QA shard folder)")
        if not name.replace("-", "").replace("_", "").isalnum():
            raise InputError(f"--data {spec}: the name may hold letters, digits, - and _ only")
        if name in out:
            raise InputError(f"--data {spec}: version '{name}' given twice")
        out[name] = Path(folder)
    return out


def load_experiment_data(
    catalog: Path,
    shards: Path | dict[str, Path],
    *,
    val_fraction: float = 0.15,
    benchmark: str = "vqa-rad",
    limit: int | None = None,
    captions: bool = False,
) -> ExperimentData:
    """Read every split once; `limit` keeps the first N rows of each training split (quick mode;
    test stays whole, so its baselines are the real ones).

    With `limit` the model is scored on the first N test rows only: see `run_experiment`.
    `captions`: also read the alignment rows (`caption_rows`) of the default version."""
    if not Path(catalog).is_file():
        raise InputError(f"{catalog}: catalog not found (build it with `radvqa-data catalog add`)")
    folders = shards if isinstance(shards, dict) else {DEFAULT_VERSION: Path(shards)}
    for name, folder in folders.items():
        if not Path(folder).is_dir():
            raise InputError(
                f"{folder}: synthetic QA shard folder of data version '{name}' not found "
                "(`radvqa-data synth`)"
            )
    train_all = _closed(read_qa(f"{benchmark}:train", catalog=catalog).to_dicts())
    test = _closed(read_qa(f"{benchmark}:test", catalog=catalog).to_dicts())
    versions = {
        name: _closed(read_qa("synthetic", shards=folder, catalog=catalog).to_dicts())
        for name, folder in folders.items()
    }
    train = [r for r in train_all if not in_val(r["image_id"], val_fraction)]
    val = [r for r in train_all if in_val(r["image_id"], val_fraction)]
    empty = [n for n, rows in versions.items() if not rows]
    if not train or not val or not test or empty:
        raise InputError(
            f"empty split: train {len(train)}, val {len(val)}, test {len(test)}, "
            f"synthetic rows with an image file: "
            + ", ".join(f"{n} {len(r)} ({folders[n]})" for n, r in versions.items())
        )
    totals = {n: version_counts(rows) for n, rows in versions.items()}
    aligned = (
        caption_rows(
            catalog,
            [r for r in versions[DEFAULT_VERSION] if str(r.get("split")) == "train"],
        )
        if captions
        else []
    )
    if limit is not None:
        train, val = train[:limit], val[:limit]
        versions = {n: rows[:limit] for n, rows in versions.items()}
        aligned = aligned[:limit]
    return ExperimentData(
        train,
        val,
        test,
        versions,
        train_all,
        {n: str(f) for n, f in folders.items()},
        totals,
        aligned,
    )
