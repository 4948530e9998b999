"""Crop recall: planted copies of real images (crop >= 50% of the area, rescaled 0.5x-2x, JPEG vs
PNG, scanner text and rulers burnt in on either side) must be found; the same transform applied to
a neighbouring slice of the series must not match.

The default-tier test plants three hard pairs in the shipped sample; the slow one plants 200 in
the shared MedPix 2.0 images among every other MedPix and VQA-RAD image (docs/audit.md)."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from radvqa_data.audit.image_checks import benchmark_images
from radvqa_data.audit.images import CandidateConfig
from radvqa_data.audit.pixels import PixelConfig, compare_files
from radvqa_data.audit.planted import PlantedSet, PlantSpec, plant_set, series_neighbours
from tests.conftest import dataset


def _series(paths: list[Path]) -> dict[str, list[str]]:
    """MedPix images grouped by case (`MPX1884_synpic21852.png` -> MPX1884)."""
    out: dict[str, list[str]] = defaultdict(list)
    for p in sorted(paths):
        m = re.match(r"(MPX\d+)_", p.name)
        if m:
            out[m.group(1)].append(str(p))
    return out


def _frame(paths: list[str], split: str) -> pl.DataFrame:
    """Catalog-shaped image records for files outside any catalog."""
    from PIL import Image

    from radvqa_data.catalog.imageprobe import phash64

    hashes = []
    for p in paths:
        with Image.open(p) as im:
            hashes.append(phash64(im))
    return pl.DataFrame(
        {"source": ["planted"] * len(paths), "image_id": paths, "split": [split] * len(paths), "path": paths,
         "sha256": [None] * len(paths), "phash": hashes},
        schema={"source": pl.String, "image_id": pl.String, "split": pl.String, "path": pl.String,
                "sha256": pl.String, "phash": pl.UInt64},
    )


def _audit(ps: PlantedSet, background_a: list[str], background_p: list[str]) -> set[tuple[str, str]]:
    """benchmark_image pairs (audited file, protected file) with copies + background audited
    against originals + background."""
    audited = _frame(ps.copies + background_a, "train")
    protected = _frame(ps.originals + background_p, "test")
    found = benchmark_images(audited, protected, CandidateConfig(), PixelConfig())
    return {(f.a.image_id, f.b.image_id) for f in found if f.kind == "benchmark_image"}


#: the hard cases at once: about half the area, both rescale extremes, overlays on either side
HARD = [
    PlantSpec(area=0.52, aspect=0.75, fx=0.9, fy=0.2, scale=0.5, fmt="JPEG", overlay="original", ruler=True, seed=1),
    PlantSpec(area=0.55, aspect=1.3, fx=0.1, fy=0.8, scale=2.0, fmt="PNG", overlay="copy", ruler=True, seed=2),
    PlantSpec(area=0.6, aspect=1.0, fx=0.5, fy=0.5, scale=0.7, fmt="JPEG", overlay="both", ruler=False, seed=3),
]


def test_planted_half_area_crops_with_overlays_and_rescale(tmp_path: Path, sample_dir: Path) -> None:
    images = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(images) < 20:
        pytest.skip("sample images not shipped")
    series = _series(images)
    picks = {k: series[k] for k in ("MPX1884", "MPX2388", "MPX1233")}
    pairs = [next(p for p in series_neighbours({k: v}) if p[0] == v[1]) for k, v in picks.items()]
    ps = plant_set(pairs, tmp_path / "planted", specs=HARD)
    for i, spec in enumerate(HARD):  # the verifier alone, pair by pair
        v = compare_files(ps.copies[2 * i], ps.originals[i])
        assert v.same, (spec, v)
        d = compare_files(ps.copies[2 * i + 1], ps.originals[i])
        assert not d.same, (spec, d)
    # the whole path (candidates, coarse crop search, verification) among the other sample images
    used = {p for pair in pairs for p in pair}
    bg_a = [str(p) for p in images if str(p) not in used]
    bg_p = [str(p) for p in sorted((sample_dir / "vqa-rad" / "VQA_RAD Image Folder").glob("*.jpg"))]
    found = _audit(ps, bg_a, bg_p)
    for i in range(len(HARD)):
        assert (ps.copies[2 * i], ps.originals[i]) in found, HARD[i]
        assert (ps.copies[2 * i + 1], ps.originals[i]) not in found, HARD[i]


@pytest.mark.slow
def test_planted_crop_recall_on_shared_medpix(tmp_path: Path, shared_data: Path) -> None:
    """200 planted pairs + 200 neighbouring-slice distractors among all shared MedPix and VQA-RAD
    images: recall >= 0.95, no distractor matched, every other match the same real picture."""
    medpix = sorted((dataset(shared_data, "medpix2") / "images").glob("*.png"))
    vqarad = sorted((dataset(shared_data, "vqa-rad") / "VQA_RAD Image Folder").glob("*.jpg"))
    import numpy as np

    candidates = series_neighbours(_series(medpix))
    rng = np.random.default_rng(0)
    pairs = [candidates[i] for i in rng.permutation(len(candidates))[:200]]
    ps = plant_set(pairs, tmp_path / "planted", seed=0)
    used = {p for pair in pairs for p in pair}
    t = time.perf_counter()
    found = _audit(ps, [str(p) for p in medpix if str(p) not in used], [str(p) for p in vqarad])
    secs = time.perf_counter() - t

    truth = {(ps.copies[2 * i], ps.originals[i]) for i in range(len(pairs))}
    decoys = {(ps.copies[2 * i + 1], ps.originals[i]) for i in range(len(pairs))}
    recall = len(found & truth) / len(truth)
    others = found - truth
    same_real: dict[tuple[str, str], bool] = {}

    def correct(a: str, b: str) -> bool:
        sa, sb = ps.source.get(a, a), ps.source.get(b, b)
        if sa == sb:
            return True
        if (sa, sb) not in same_real:  # two real images that are one picture (a series can hold one slice twice)
            same_real[(sa, sb)] = compare_files(sa, sb).same
        return same_real[(sa, sb)]

    wrong = {p for p in others if not correct(*p)}
    n_images = len(ps.copies) + len(ps.originals) + len(medpix) - len(used) + len(vqarad)
    print(f"planted crops: recall {recall:.3f} ({len(found & truth)}/{len(truth)}), decoys matched "
          f"{len(found & decoys)}, other matches {len(others)} (wrong {len(wrong)}), "
          f"{secs:.0f} s for {n_images} images ({1000 * secs / n_images:.0f} ms/image)")
    assert recall >= 0.95
    assert not found & decoys
    assert not wrong
