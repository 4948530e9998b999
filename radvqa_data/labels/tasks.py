"""What the label model learns and checks: its three tasks, their classes, and which images.

The classes are the catalog's own normalized values (`images.modality`, `plane`, `organ`), so
a suggested label is a value synthesis can use as it is. A task learns a value only when at
least `min_class_images` training pictures carry it (MedPix 2.0 holds only CT and MRI, and 4
breast images): rarer values are neither learned nor checked, and say so in the summary.

Training pictures come from the catalog's non-benchmark sources (benchmark pictures, VQA-RAD's
and SLAKE's, are evaluation data: a model that issue 22 reuses as an encoder must not have
learned them). Benchmark pictures are only predicted (VQA-RAD states no plane and, for most
images, no modality). Photographs, drawings and pathology pictures are not scans: their
modality and plane say nothing a model could see, so they are neither trained on nor checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

#: The three tasks: the catalog column each one learns.
TASKS: tuple[str, ...] = ("modality", "plane", "organ")
#: Task names a label model folder written by an earlier version uses (old -> new): its
#: config.json and weights are renamed where they are read (`model.load_config`, `load_model`).
RENAMED_TASKS: dict[str, str] = {"region": "organ"}


def task_renames() -> dict[str, str]:
    """{old: new} of the renamed tasks that `TASKS` now names."""
    return {o: n for o, n in RENAMED_TASKS.items() if n in TASKS and o not in TASKS}


#: Image kinds (catalog `image_kind`) whose metadata a picture can confirm; None: not stated.
CHECKABLE_KINDS = frozenset({"scan", "montage", "3d", "scout", None})
#: Source kinds whose pictures are evaluation data: predicted, never trained on or checked.
BENCHMARK_KINDS = frozenset({"vqa-rad", "slake"})


@dataclass(frozen=True)
class Picture:
    """One catalogued picture the label model reads."""

    source: str
    image_id: str
    image_path: str
    sha256: str | None
    group: str  # case id (or the image id): a case's pictures share a fold
    labels: dict[str, str | None]  # task -> the catalog's value (None: not stated)
    train: bool  # a non-benchmark picture of a checkable kind: trained on and checked
    split: str | None = None  # the catalog's split (train | validation | test | None)

    @property
    def key(self) -> tuple[str, str]:
        """The catalog key (source, image_id)."""
        return (self.source, self.image_id)


def pictures(con: duckdb.DuckDBPyConnection, sources: list[str] | None = None) -> list[Picture]:
    """Every readable picture of the catalog (status ok, with a file), sorted by key."""
    from radvqa_data.reader.catalog import labelled_pictures

    rows = labelled_pictures(con, sources)
    out = []
    for src, iid, path, sha, group, mod, plane, organ, kind, src_kind, split in rows:
        train = src_kind not in BENCHMARK_KINDS and kind in CHECKABLE_KINDS
        labels = {"modality": mod, "plane": plane, "organ": organ}
        out.append(Picture(src, iid, path, sha, f"{src}/{group}", labels, train, split))
    return out


def task_classes(pics: list[Picture], min_images: int) -> dict[str, list[str]]:
    """task -> the values at least `min_images` training pictures carry (sorted); a task with
    fewer than two such values is left out."""
    classes: dict[str, list[str]] = {}
    for task in TASKS:
        counts: dict[str, int] = {}
        for p in pics:
            v = p.labels[task]
            if p.train and v is not None:
                counts[v] = counts.get(v, 0) + 1
        names = sorted(v for v, n in counts.items() if n >= min_images)
        if len(names) >= 2:  # one class leaves nothing to predict or to confuse it with
            classes[task] = names
    return classes


def unlearned_values(pics: list[Picture], classes: dict[str, list[str]]) -> dict[str, dict]:
    """task -> {value: training pictures} for the values too rare to learn (reported)."""
    out: dict[str, dict] = {}
    for task in TASKS:
        rare: dict[str, int] = {}
        for p in pics:
            v = p.labels[task]
            if p.train and v is not None and v not in classes.get(task, ()):
                rare[v] = rare.get(v, 0) + 1
        if rare:
            out[task] = dict(sorted(rare.items()))
    return out


def targets(pics: list[Picture], classes: dict[str, list[str]]) -> dict[str, list[int]]:
    """task -> class index per picture (-1: no label, a rare value, or not a training picture)."""
    out: dict[str, list[int]] = {}
    for task, names in classes.items():
        index = {n: i for i, n in enumerate(names)}
        out[task] = [index.get(p.labels[task], -1) if p.train else -1 for p in pics]
    return out


#: The catalog's split names (`images.split`), the values `--train-split` accepts.
SPLITS: tuple[str, ...] = ("train", "validation", "test")


def in_training_subset(
    pics: list[Picture], splits: list[str], exclude: list[str]
) -> tuple[list[bool], list[str]]:
    """(per picture: may the model train on it?, the `exclude` entries that match no picture).

    `splits`: keep only pictures of these splits (empty: all; a picture of a source without
    splits counts as "train": it belongs to no benchmark split). `exclude`: drop the pictures an
    entry names, by image id, "source/image_id" or file sha256 (so a list of benchmark
    pictures found by hash, e.g. the audit's MedPix matches of VQA-RAD, works as it is).
    Whether a picture is trainable at all (`Picture.train`) is decided elsewhere."""
    wanted = set(exclude)
    matched: set[str] = set()
    keep: list[bool] = []
    for p in pics:
        names = {p.image_id, f"{p.source}/{p.image_id}"} | ({p.sha256} if p.sha256 else set())
        hit = names & wanted
        matched |= hit
        split_ok = not splits or (p.split or "train") in splits
        keep.append(split_ok and not hit)
    return keep, sorted(wanted - matched)
