"""The image checks at scale: descriptors cached in the catalog (a rerun or a new source describes
only new images), `--executor ray` gives the findings of `local`, one bad image costs that image.

Comparisons are between two runs of the same code on the same real images (the shipped sample),
never hard-coded counts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from radvqa_data.audit.descriptors import describe_batch
from radvqa_data.audit.run import AuditOptions, run_audit
from tests.conftest import query_catalog

IMAGE_KINDS = frozenset({"image_same_picture", "benchmark_image"})


def _findings(res) -> list[tuple]:
    return sorted(
        (f.kind, f.a.source, f.a.image_id, f.b.source, f.b.image_id, f.method, round(f.score, 4))
        for f in res.findings
    )


def _fresh_copy(catalog: Path, to: Path) -> Path:
    """A copy of `catalog` without a descriptor cache (another test's audit may have filled the
    session catalog's)."""
    import duckdb

    cat = Path(shutil.copy(catalog, to))
    with duckdb.connect(str(cat)) as con:
        con.execute("DROP TABLE IF EXISTS image_descriptors")
    return cat


def _audit(cat: Path, **kw) -> object:
    return run_audit(
        AuditOptions(catalog=cat, against=["vqa-rad"], only=IMAGE_KINDS, progress=False, **kw)
    )


def test_descriptors_are_cached_and_a_new_source_pays_only_for_its_images(
    tmp_path: Path, sample_catalog: Path, sample_dir: Path
) -> None:
    from radvqa_data.catalog.ingest import add_source

    cat = _fresh_copy(sample_catalog, tmp_path / "c.duckdb")
    first = _audit(cat)
    n_images = first.n_images + first.n_protected
    assert first.seconds["images: described now"] == n_images
    cached = query_catalog(cat, "SELECT count(*) FROM image_descriptors")[0][0]
    assert cached == len(set(query_catalog(cat, "SELECT sha256 FROM images WHERE status='ok'")))
    again = _audit(cat)
    assert again.seconds["images: described now"] == 0
    assert _findings(again) == _findings(first)
    # a new source: a crop of a sample image (found) and one more picture; only those two are new
    src = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    new = tmp_path / "new"
    new.mkdir()
    with Image.open(src[0]) as im:
        w, h = im.size
        im.convert("L").crop((w // 8, h // 8, w - w // 10, h - h // 12)).save(new / "crop.jpg")
    with Image.open(src[-1]) as im:
        im.convert("L").rotate(90, expand=True).save(new / "turned.png")
    add_source(cat, "folder", new, progress=False)
    third = _audit(cat)
    assert third.seconds["images: described now"] == 2
    crop = [f for f in third.findings if "crop.jpg" in (f.a.image_id, f.b.image_id)]
    assert any(src[0].stem in (f.a.image_id, f.b.image_id) for f in crop), crop


def test_an_undecodable_image_costs_that_image_only(tmp_path: Path, sample_dir: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 10)
    good = sorted((sample_dir / "medpix2" / "images").glob("*.png"))[0]
    out = describe_batch([("bad", str(bad)), ("good", str(good)), ("gone", str(tmp_path / "x"))])
    assert [d.key for d in out] == ["bad", "good", "gone"]
    assert out[0].thumb is None and out[0].error
    assert out[2].thumb is None and out[2].error
    assert out[1].thumb is not None and out[1].query.shape == (6, 144)


def test_image_checks_on_ray_equal_local(ray_cluster, tmp_path: Path, sample_catalog: Path) -> None:
    """Descriptor pass and verification shards on Ray workers: the findings of a local run."""
    local = _audit(_fresh_copy(sample_catalog, tmp_path / "local.duckdb"))
    ray_cat = _fresh_copy(sample_catalog, tmp_path / "ray.duckdb")
    on_ray = _audit(ray_cat, executor="ray")
    assert _findings(on_ray) == _findings(local)
    assert any(f.kind == "benchmark_image" for f in local.findings)
    # the Ray run filled the cache like a local one: a rerun describes nothing
    assert _audit(ray_cat, executor="ray").seconds["images: described now"] == 0


@pytest.mark.slow
def test_shared_real_images_on_ray_equal_local(
    ray_cluster, tmp_path: Path, real_catalog: Path
) -> None:
    """MedPix 2.0 (the 397 PNGs here) + VQA-RAD: the same image findings on both executors."""
    local = _audit(Path(shutil.copy(real_catalog, tmp_path / "local.duckdb")))
    on_ray = _audit(Path(shutil.copy(real_catalog, tmp_path / "ray.duckdb")), executor="ray")
    assert _findings(on_ray) == _findings(local)
    assert sum(f.kind == "benchmark_image" for f in local.findings) >= 4


def test_crop_search_by_source_equals_pairwise_searches(sample_dir: Path) -> None:
    """The source-grouped crop search over padded views (`score_pairs_padded`, what the audit
    runs) gives every pair the score, direction and location of its two single searches."""
    import numpy as np

    from radvqa_data.audit.coarse import CropSearch, pad_views, score_pairs_padded
    from radvqa_data.audit.descriptors import describe

    imgs = sorted((sample_dir / "medpix2" / "images").glob("*.png"))[:24]
    if len(imgs) < 8:
        pytest.skip("sample images not shipped")
    views = [describe(str(p), str(p)).gate for p in imgs]
    rng = np.random.default_rng(0)
    left = rng.integers(0, len(views), 120)
    right = (left + rng.integers(1, len(views), 120)) % len(views)
    cs = CropSearch(views, 32)
    img, shape = pad_views(views, 32)
    got, hits = score_pairs_padded(img, shape, left, right)
    for k in range(len(left)):
        fwd = cs.search(int(left[k]), np.array([right[k]]))[0]
        bwd = cs.search(int(right[k]), np.array([left[k]]))[0]
        side, want = (0, fwd) if fwd.score >= bwd.score else (1, bwd)
        assert got[k] == pytest.approx(want.score, abs=1e-9)
        assert hits[k][0] == side
        assert hits[k][1].scale == want.scale and hits[k][1].x == pytest.approx(want.x)


def test_crop_search_in_forked_workers_equals_one_process(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coarse crop search shared out to two forked workers (the local audit's default):
    every pair's score, direction and location exactly as in one process."""
    import numpy as np

    from radvqa_data.audit import coarse
    from radvqa_data.audit.descriptors import describe

    imgs = sorted((sample_dir / "medpix2" / "images").glob("*.png"))[:24]
    if len(imgs) < 8:
        pytest.skip("sample images not shipped")
    img, shape = coarse.pad_views([describe(str(p), str(p)).gate for p in imgs], 32)
    rng = np.random.default_rng(1)
    left = rng.integers(0, len(imgs), 150)
    right = (left + rng.integers(1, len(imgs), 150)) % len(imgs)
    one, one_hits = coarse.score_pairs_padded(img, shape, left, right)
    monkeypatch.setattr(coarse, "SEARCH_SHARD", 5)  # several shards from 24 sources
    two, two_hits = coarse.score_pairs_padded(img, shape, left, right, workers=2)
    assert np.array_equal(one, two)
    assert two_hits == one_hits


def test_band_pass_of_a_region_equals_the_whole_image_band_pass_cut(sample_dir: Path) -> None:
    """A sweep band-passes only its region (and the filter's reach around it): the same values
    as band-passing the whole search image and cutting the region, at the edges too."""
    import numpy as np

    from radvqa_data.audit.pixels import highpass, highpass_region, thumbnail

    p = sample_dir / "medpix2" / "images" / "MPX2028_synpic34050.png"
    if not p.exists():
        pytest.skip("sample image not shipped")
    a = np.asarray(thumbnail(str(p), 256), dtype=np.float64)
    H, W = a.shape
    for region in ((0, H, 0, W), (0, 40, 0, 30), (10, H, 5, W - 3), (60, 70, 100, 180)):
        y0, y1, x0, x1 = region
        assert np.array_equal(highpass_region(a, region), highpass(a)[y0:y1, x0:x1]), region


def test_band_pass_equals_scipys_gaussian_filters_bit_for_bit() -> None:
    """`highpass` runs scipy's two `correlate1d` passes with kernels made once: the values of
    `gaussian_filter(sigma 1) - gaussian_filter(sigma 2)` exactly, on odd and tiny shapes too."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    from radvqa_data.audit.pixels import highpass

    rng = np.random.default_rng(0)
    for shape in ((8, 8), (17, 40), (128, 97), (256, 256), (300, 5)):
        a = rng.random(shape) * 255
        want = gaussian_filter(a, 1.0, mode="nearest") - gaussian_filter(a, 2.0, mode="nearest")
        assert np.array_equal(highpass(a), want), shape


def test_short_list_is_the_same_on_one_or_two_query_threads(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index queries run on every core (OpenMP); each query is answered on its own, so the
    short list is the one a single thread gives."""
    import numpy as np

    from radvqa_data.audit import shortlist
    from radvqa_data.audit.descriptors import describe
    from radvqa_data.audit.images import CandidateConfig

    imgs = sorted((sample_dir / "medpix2" / "images").glob("*.png"))[:40]
    if len(imgs) < 8:
        pytest.skip("sample images not shipped")
    rows = {str(p): describe(str(p), str(p)) for p in imgs}

    class Store:  # the DescriptorStore's read side over rows described here
        def get(self, key: str):
            return rows.get(key)

    keys = list(rows)
    allow = lambda i, j: np.ones(len(i), dtype=bool)  # noqa: E731
    got = {}
    for threads in (1, 2):
        monkeypatch.setattr(shortlist, "SEARCH_THREADS", threads)
        got[threads] = shortlist.ann_shortlist(Store(), keys, allow, CandidateConfig())
    assert got[1].height > 0
    assert got[1].equals(got[2])


def test_a_recheck_only_when_the_hinted_pass_came_close(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed hinted pair with a high 32-px score gets the full search only when its hinted
    pass was polished to >= `recheck_min` with its weaker pixels agreeing (rest >= `rest_min`),
    and under the threshold (over it, a guard said no: its place was found); a pass stopped
    before the polish is not rechecked; a near-whole-frame hint is, whatever its pass scored."""
    from dataclasses import replace

    from radvqa_data.audit import image_checks
    from radvqa_data.audit.pixels import PixelConfig, compare_files

    a = sample_dir / "medpix2" / "images" / "MPX2028_synpic34050.png"
    b = sample_dir / "medpix2" / "images" / "MPX2028_synpic34054.png"
    if not (a.exists() and b.exists()):
        pytest.skip("sample images not shipped")
    calls: list[bool] = []

    def counted(*args, **kw):  # the real comparison, counted
        calls.append(len(args) > 3 and args[3] is not None)
        return compare_files(*args, **kw)

    def rechecked(cfg: PixelConfig, hint: dict) -> bool:
        calls.clear()
        item = (0, 1, str(a), str(b), "sa", "sb", hint, 0.97, "knn")
        image_checks.verify_batch((cfg, [item]))  # with a threshold this low a recheck may match
        assert calls in ([True], [True, False])
        return calls == [True, False]

    monkeypatch.setattr(image_checks, "compare_files", counted)
    hint = {"side": "a", "scale": 0.7, "x": 0.0, "y": 0.0, "w": 0.5, "h": 0.5}
    # neighbouring slices: the default pass stops at half resolution, before the polish
    first = compare_files(str(a), str(b), PixelConfig(), ("a", 0.97, hint), False)
    assert not first.same and "whole" not in first.detail
    assert not rechecked(PixelConfig(recheck_min=-1.0, rest_min=-2.0), hint)
    # every pass polished: the recheck depends on its score and its weaker pixels
    polish = PixelConfig(quick_min=-1.0, quick_far_min=None, polish_min=None, pixel_far_min=None)
    first = compare_files(str(a), str(b), polish, ("a", 0.97, hint), False)
    s, r = first.score, first.detail["rest"]
    assert not first.same and "whole" in first.detail and s < polish.same_threshold
    for recheck_min, want in ((s + 0.01, False), (s - 0.01, True)):
        assert rechecked(replace(polish, recheck_min=recheck_min, rest_min=r - 0.01), hint) == want
    for rest_min, want in ((r + 0.01, False), (r - 0.01, True)):
        assert rechecked(replace(polish, recheck_min=-1.0, rest_min=rest_min), hint) == want
    # the same pass judged by a threshold under its score with a guard it cannot meet
    for threshold, want in ((s - 0.01, False), (s + 0.01, True)):
        cfg = replace(
            polish, same_threshold=threshold, textured_min=2.0, rest_min=r - 0.01, recheck_min=-1.0
        )
        assert rechecked(cfg, hint) == want
    # a near-whole-frame hint is rechecked however low its pass scored; a crop hint is not
    for scale, want in ((1.04, True), (0.7, False)):
        assert rechecked(PixelConfig(recheck_min=2.0), {**hint, "scale": scale}) == want


def test_window_parts_are_each_window_filtered_resized_and_high_passed() -> None:
    """The batched window operators (shared row spans) and the query parts (three aspect
    ratios) give what cutting each part out of the median-filtered thumbnail, resizing it to
    the grid, subtracting its Gaussian blur (scipy, edges replicated) and normalizing gives,
    part by part."""
    import numpy as np
    from scipy.ndimage import gaussian_filter, median_filter

    from radvqa_data.audit.descriptors import (
        DESC_GRID,
        DESC_HIGHPASS,
        DESC_WINDOWS,
        QUERY_PARTS,
        _resample,
        clean_thumb,
        query_parts,
        window_parts,
    )

    def unit(p: np.ndarray) -> np.ndarray:
        v = _resample(p.shape[0], DESC_GRID) @ p @ _resample(p.shape[1], DESC_GRID).T
        v = (v - gaussian_filter(v, DESC_HIGHPASS, mode="nearest")).ravel()
        v = v - v.mean()
        return v / np.linalg.norm(v)

    rng = np.random.default_rng(0)
    for shape in ((96, 80), (41, 96), (96, 96)):
        raw = (rng.random(shape) * 255).astype(np.uint8)
        thumb = clean_thumb(raw)
        a = median_filter(raw.astype(np.float64), 3, mode="nearest")
        assert np.array_equal(thumb, a)  # the median of grey levels is a grey level
        got = window_parts(thumb)
        assert got.shape == (len(DESC_WINDOWS), DESC_GRID**2)
        h, w = shape
        for i, (size, dx, dy) in enumerate(DESC_WINDOWS):
            cx, cy = 0.5 + dx, 0.5 + dy
            y0, y1 = max(0.0, cy - size / 2), min(1.0, cy + size / 2)
            x0, x1 = max(0.0, cx - size / 2), min(1.0, cx + size / 2)
            r0, c0 = round(h * y0), round(w * x0)
            part = a[r0 : max(r0 + 2, round(h * y1)), c0 : max(c0 + 2, round(w * x1))]
            assert np.abs(got[i] - unit(part)).max() < 1e-5, (shape, i)
        for j, (kw, kh) in enumerate(QUERY_PARTS):
            r0, c0 = round(h * (1 - kh) / 2), round(w * (1 - kw) / 2)
            part = a[
                r0 : max(r0 + 2, round(h * (1 + kh) / 2)), c0 : max(c0 + 2, round(w * (1 + kw) / 2))
            ]
            assert np.abs(query_parts(thumb)[j] - unit(part)).max() < 1e-5, (shape, j)


def test_a_skewed_off_centre_crop_with_text_finds_its_original_first(
    sample_dir: Path, tmp_path: Path
) -> None:
    """The descriptor's job: a crop of half the area, off-centre, its aspect skewed 1.4x,
    shrunk to 0.6x and carrying scanner text and a ruler, has its original first among the
    sample's 40 pictures for most such crops, and among its 5 first for all 10 (the sample holds
    neighbouring slices of one series, which may rank higher; the bench's figure is the
    partner among an image's first 32 of 20,000, docs/audit.md)."""
    import numpy as np

    from radvqa_data.audit.descriptors import describe, window_parts
    from radvqa_data.audit.planted import PlantSpec, plant, save

    imgs = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(imgs) < 20:
        pytest.skip("sample images not shipped")
    ranks = []
    rows = [describe(str(p), str(p)) for p in imgs]
    q = np.stack([r.query for r in rows])  # (n, 2, d)
    wins = [window_parts(r.thumb) for r in rows]
    for k, src in enumerate(imgs[:10]):
        spec = PlantSpec(0.5, 1.4 if k % 2 else 1 / 1.4, 0.9, 0.1, 0.6, "PNG", "copy", True, k)
        with Image.open(src) as im:
            _, copy = plant(im, spec)
        cp = save(copy, tmp_path / f"copy{k}", "PNG")
        c = describe(str(cp), str(cp))
        # the copy's central part inside each picture's windows ("copy inside x"), and each
        # picture's central part inside the copy's windows: the two ways the index pairs them
        inside = np.array([(w @ c.query.T).max() for w in wins])
        win = window_parts(c.thumb)
        around = (win @ q.reshape(-1, q.shape[2]).T).reshape(len(win), len(rows), -1).max((0, 2))
        sim = np.maximum(inside, around)
        ranks.append(int((sim > sim[k]).sum()))
    assert max(ranks) < 5 and sorted(ranks)[len(ranks) // 2] == 0, ranks


def test_an_image_unreadable_at_audit_time_is_reported_and_retried_next_run(
    tmp_path: Path, sample_dir: Path
) -> None:
    """A catalogued file spoiled after cataloguing: the audit names it (a warning line, and
    `audit.json`'s totals) and audits the rest; its failure is not cached, so once the file is
    back the next run describes it and says nothing."""
    import json

    from typer.testing import CliRunner

    from radvqa_data.catalog.ingest import add_source
    from radvqa_data.cli import app

    src = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(src) < 4:
        pytest.skip("sample images not shipped")
    folder = tmp_path / "pics"
    folder.mkdir()
    for p in src[:4]:
        shutil.copy(p, folder / p.name)
    cat = tmp_path / "c.duckdb"
    add_source(cat, "folder", folder, progress=False)
    spoiled = folder / src[1].name
    spoiled.write_bytes(b"\x89PNG\r\n\x1a\n" + b"cut short" * 10)
    rep = tmp_path / "rep"
    args = ["audit", "--catalog", str(cat), "--only", "image_same_picture", "--no-progress"]
    res = CliRunner().invoke(app, [*args, "--report", str(rep)])
    assert res.exit_code == 0, res.output
    assert "1 image(s) could not be read" in res.output and str(spoiled) in res.output
    doc = json.loads((rep / "audit.json").read_text())
    assert [u["path"] for u in doc["totals"]["unreadable_images"]] == [str(spoiled)]
    shutil.copy(src[1], spoiled)
    again = run_audit(AuditOptions(catalog=cat, only=IMAGE_KINDS, progress=False))
    assert again.unreadable == []
    assert again.seconds["images: described now"] == 1  # the other three came from the cache


def _blas_threads(_: int) -> list[int]:
    """The thread count of each BLAS library loaded in this process."""
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_forked_workers_run_their_native_libraries_on_one_thread() -> None:
    """The verification's and the crop search's forked workers share the cores one per core: a
    second OpenBLAS thread in each only spins (docs/audit.md, "Eighth round")."""
    from radvqa_data.executor.local import LocalExecutor

    if not _blas_threads(0):
        pytest.skip("numpy has no BLAS that threadpoolctl sees")
    got = list(LocalExecutor("fork", 2).map(_blas_threads, range(4), ordered=True))
    assert got == [[1] * len(_blas_threads(0))] * 4


def test_locality_order_keeps_pairs_that_share_images_together() -> None:
    """Pairs of 30 separate groups of images, numbered so that the groups interleave: in the
    locality order each group's pairs come in one run (a worker's decode cache then serves the
    group's images after their first use); the order is a permutation of the pairs."""
    import numpy as np

    from radvqa_data.audit.image_checks import locality_order

    rng = np.random.default_rng(0)
    groups = 30
    li, ri, grp = [], [], []
    for g in range(groups):
        ids = g + groups * np.arange(6)  # image g, g+30, g+60, ...: interleaved with the others
        for a in range(6):
            for b in range(a + 1, 6):
                if rng.random() < 0.7 or b == a + 1:  # connected: a chain plus random links
                    li.append(ids[a]), ri.append(ids[b]), grp.append(g)
    li, ri, grp = np.array(li), np.array(ri), np.array(grp)
    plain = np.lexsort((ri, li))
    order = locality_order(li, ri)
    assert sorted(order.tolist()) == list(range(len(li)))
    runs = int((np.diff(grp[order]) != 0).sum()) + 1
    assert runs == groups
    assert int((np.diff(grp[plain]) != 0).sum()) + 1 > 3 * groups  # what it replaces interleaves
    # two frames: left image i and right image i are different images
    two = locality_order(li, ri, one_frame=False)
    assert sorted(two.tolist()) == list(range(len(li)))


def test_thumbnails_are_decoded_once_and_each_caller_gets_its_own_array(
    tmp_path: Path, sample_dir: Path
) -> None:
    import numpy as np

    from radvqa_data.audit import pixels

    src = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if not src:
        pytest.skip("sample images not shipped")
    p = str(shutil.copy(src[0], tmp_path / "a.png"))
    first = pixels.thumbnail(p, 256)
    assert first.dtype == np.float32 and max(first.shape) == 256
    assert np.array_equal(first, pixels.decode_thumbnail(p, 256))  # 8-bit values, lossless
    first[:] = 0  # a caller's change stays its own
    hits = pixels._decoded.cache_info().hits
    again = pixels.thumbnail(p, 256)
    assert pixels._decoded.cache_info().hits == hits + 1
    assert np.array_equal(again, pixels.decode_thumbnail(p, 256)) and again.any()
    assert pixels.thumbnail(str(tmp_path / "missing.png"), 256) is None


def test_hash_candidates_get_the_coarse_searchs_hint_without_its_gate(sample_dir: Path) -> None:
    """Pairs the perceptual hash proposes go through the batched coarse search too: each gets
    its score and location there (the hint that spares it the full search), whatever the score
    (the gate and the best-partners cut are the short list's, not theirs); a pair the short
    list also kept has the same hint either way."""
    import numpy as np

    from radvqa_data.audit.coarse import pad_views, score_pairs_padded
    from radvqa_data.audit.descriptor_store import DescriptorStore
    from radvqa_data.audit.image_checks import candidates
    from radvqa_data.audit.images import CandidateConfig
    from radvqa_data.audit.pixels import PixelConfig
    from radvqa_data.audit.planted import image_frame

    imgs = [str(p) for p in sorted((sample_dir / "medpix2" / "images").glob("*.png"))[:40]]
    if len(imgs) < 8:
        pytest.skip("sample images not shipped")
    frame = image_frame(imgs, "train")
    # every pair sharing a hash band is proposed, however far the rest of the hash
    ccfg = CandidateConfig(max_hamming=64)
    store = DescriptorStore()
    got = candidates(frame, None, ccfg, PixelConfig(), store=store)
    assert got["hint"].null_count() == 0 and got["coarse"].null_count() == 0
    only_hash = got.filter(pl.col("via") == "phash")
    assert only_hash.height > 0 and only_hash["coarse"].min() < ccfg.gate_min  # no gate
    # each pair's hint is its coarse search's: score, side and place
    views = [store.get(k).gate for k in store.keys(frame)]
    img, shape = pad_views(views, ccfg.gate_size)
    li, ri = got["li"].to_numpy(), got["ri"].to_numpy()
    scores, hits = score_pairs_padded(img, shape, li, ri)
    assert np.allclose(got["coarse"].to_numpy(), scores)
    for k, h in enumerate(got["hint"].to_list()):
        side, hit = hits[k]
        assert h["side"] == ("a" if side == 0 else "b") and h["scale"] == hit.scale
        assert h["x"] == pytest.approx(hit.x) and h["w"] == pytest.approx(hit.w)
