"""Audit on real data from ../shared/data (skipped when absent).

VQA-RAD vs MedPix 2.0: the true shared pictures were established offline by an exhaustive
comparison of all 315 x 397 image pairs (coarse multi-scale NCC for every pair, then the
high-resolution verification of each VQA-RAD image's best 3 MedPix matches and every pair with a
coarse score >= 0.9, 959 pairs): exactly these four pairs score >= 0.95, the next best 0.68
(docs/audit.md). The look-alikes below are neighbouring slices of the same series or another
patient's similar scan, which the perceptual hash and a low-resolution comparison confuse.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from radvqa_data.audit.run import AuditOptions, run_audit
from radvqa_data.catalog.textcheck import placeholder_reason
from tests.conftest import dataset

#: (MedPix 2.0 image, VQA-RAD image): the same picture
TRUE_PAIRS = {
    ("MPX1007_synpic46720", "synpic46720.jpg"),  # same number, same size
    ("MPX2028_synpic34054", "synpic34054.jpg"),  # PNG 512x327 vs JPEG 1024x655
    ("MPX2028_synpic34053", "synpic34054.jpg"),  # neighbouring synpic number, other size and format
    ("MPX2518_synpic39512", "synpic39460.jpg"),  # other crop (512x658 vs 534x666), other number
}
#: look-alikes that must not be reported
LOOK_ALIKES = {
    ("MPX2028_synpic34052", "synpic34054.jpg"),  # neighbouring CT slices of one series
    ("MPX2028_synpic34055", "synpic34054.jpg"),
    ("MPX2028_synpic34049", "synpic34054.jpg"),
    ("MPX1544_synpic54563", "synpic48714.jpg"),  # two patients' axial head CTs
    ("MPX2607_synpic52587", "synpic48714.jpg"),
    ("MPX1862_synpic19662", "synpic46943.jpg"),
}


@pytest.mark.slow  # 712 images through every image stage: minutes on a busy 2-core machine
def test_vqarad_images_found_in_medpix(real_catalog: Path) -> None:
    res = run_audit(
        AuditOptions(
            catalog=real_catalog,
            against=["vqa-rad"],
            only=frozenset({"benchmark_image"}),
            progress=False,
        )
    )
    found = {(f.a.image_id, f.b.image_id): f for f in res.findings if f.kind == "benchmark_image"}
    assert set(found) == TRUE_PAIRS
    assert not LOOK_ALIKES & set(found)
    for f in found.values():
        assert f.a.source == "medpix2" and f.b.source == "vqa-rad"
        assert f.method in ("sha256", "ncc-aligned", "ncc-crop-search") and f.score >= 0.925
    # the size/format-changed copies are found by pixels, not by names or bytes
    assert found[("MPX2028_synpic34053", "synpic34054.jpg")].method == "ncc-aligned"
    assert found[("MPX2518_synpic39512", "synpic39460.jpg")].method == "ncc-crop-search"


def _roco_captions(root: Path) -> dict[str, dict[str, str]]:
    """Independent reading of ROCO captions.txt (split -> id -> caption) for the expected counts."""
    out: dict[str, dict[str, str]] = {}
    for split in ("train", "validation", "test"):
        p = root / split / "radiology" / "captions.txt"
        d = {}
        for line in p.read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                i, t = line.split("\t", 1)
                # a placeholder ("Figure 1") is no caption: the catalog keeps it out of the texts
                if t.strip() and not placeholder_reason(t.strip()):
                    d[i.strip()] = t.strip()
        out[split] = d
    return out


@pytest.mark.slow  # all ROCO captions: about 10 s (default tier <= 8 min, issue 19)
def test_roco_captions_shared_across_splits(tmp_path: Path, shared_data: Path) -> None:
    from radvqa_data.audit.normalize import normalize_text
    from radvqa_data.catalog.ingest import add_source

    root = dataset(shared_data, "roco")
    cat = tmp_path / "roco.duckdb"
    add_source(cat, "roco", root, progress=False)
    # identical captions only here (the near-identical search adds ~40 s on 34k captions)
    res = run_audit(
        AuditOptions(
            catalog=cat, only=frozenset({"caption_duplicate"}), near_captions=False, progress=False
        )
    )

    caps = _roco_captions(root)
    norm = {s: defaultdict(set) for s in caps}
    for s, d in caps.items():
        for i, t in d.items():
            norm[s][normalize_text(t)].add(i)
    got: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in res.findings:
        if f.kind == "caption_duplicate" and f.method == "exact-normalized":
            got[tuple(sorted((f.a.split, f.b.split)))].add(normalize_text(f.a.text))
    for a, b in (("test", "validation"), ("test", "train"), ("train", "validation")):
        shared = set(norm[a]) & set(norm[b])
        assert shared, (a, b)
        assert got[(a, b)] == shared, (a, b)
    # identical captions are reported with their image ids on both sides
    tv = [f for f in res.findings if {f.a.split, f.b.split} == {"test", "validation"}]
    assert all(f.a.image_id != f.b.image_id and f.a.image_id.startswith("ROCO_") for f in tv)
