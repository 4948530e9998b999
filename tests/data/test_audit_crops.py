"""Crop recall: planted copies of real images (crop >= 50% of the area, rescaled 0.5x-2x, JPEG vs
PNG, scanner text and rulers burnt in on either side) must be found; the same transform applied to
a neighbouring slice of the series must not match.

The default-tier test plants three hard pairs in the shipped sample; the slow one plants 200 in
the shared MedPix 2.0 images among every other MedPix and VQA-RAD image (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radvqa_data.audit.pixels import compare_files
from radvqa_data.audit.planted import (
    PlantSpec,
    measure_crops,
    plant_set,
    series_neighbours,
    series_of,
)
from tests.conftest import dataset

#: the hard cases at once: about half the area, both rescale extremes, overlays on either side
HARD = [
    PlantSpec(
        area=0.52,
        aspect=0.75,
        fx=0.9,
        fy=0.2,
        scale=0.5,
        fmt="JPEG",
        overlay="original",
        ruler=True,
        seed=1,
    ),
    PlantSpec(
        area=0.55,
        aspect=1.3,
        fx=0.1,
        fy=0.8,
        scale=2.0,
        fmt="PNG",
        overlay="copy",
        ruler=True,
        seed=2,
    ),
    PlantSpec(
        area=0.6,
        aspect=1.0,
        fx=0.5,
        fy=0.5,
        scale=0.7,
        fmt="JPEG",
        overlay="both",
        ruler=False,
        seed=3,
    ),
]


def test_planted_half_area_crops_with_overlays_and_rescale(
    tmp_path: Path, sample_dir: Path
) -> None:
    images = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(images) < 20:
        pytest.skip("sample images not shipped")
    series = series_of(images)
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
    score = measure_crops(ps, bg_a, bg_p)
    for i in range(len(HARD)):
        assert (ps.copies[2 * i], ps.originals[i]) in score.found, HARD[i]
    assert score.recall == 1.0 and score.decoys == 0 and score.wrong == 0


@pytest.mark.slow
def test_planted_crop_recall_on_shared_medpix(tmp_path: Path, shared_data: Path) -> None:
    """200 planted pairs + 200 neighbouring-slice distractors among all shared MedPix and VQA-RAD
    images: recall >= 0.95, no distractor matched, every other match the same real picture."""
    medpix = sorted((dataset(shared_data, "medpix2") / "images").glob("*.png"))
    vqarad = sorted((dataset(shared_data, "vqa-rad") / "VQA_RAD Image Folder").glob("*.jpg"))
    import numpy as np

    candidates = series_neighbours(series_of(medpix))
    rng = np.random.default_rng(0)
    pairs = [candidates[i] for i in rng.permutation(len(candidates))[:200]]
    ps = plant_set(pairs, tmp_path / "planted", seed=0)
    used = {p for pair in pairs for p in pair}
    score = measure_crops(
        ps, [str(p) for p in medpix if str(p) not in used], [str(p) for p in vqarad]
    )
    print(
        f"planted crops: recall {score.recall:.3f}, decoys matched {score.decoys}, other matches "
        f"{score.others} (wrong {score.wrong}), {score.seconds:.0f} s for {score.images} images"
    )
    assert score.recall >= 0.95
    assert score.decoys == 0
    assert score.wrong == 0
