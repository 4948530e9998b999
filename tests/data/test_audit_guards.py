"""The same-picture decision's guards (docs/audit.md, "Fifth round"): overlay masks, so burnt-in
text neither makes nor breaks a match, and the weak-pixel and texture checks, so a template
that matches only by one edge is not called the same picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radvqa_data.audit.align import rest_ncc, textured_share
from radvqa_data.audit.pixels import (
    PixelConfig,
    compare_files,
    highpass,
    overlay_mask,
    thumbnail,
)
from radvqa_data.audit.planted import overlay


def _sample(sample_dir: Path, n: int) -> list[Path]:
    images = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(images) < n:
        pytest.skip("sample images not shipped")
    return images


def test_overlay_mask_covers_burnt_in_text_and_little_else(
    tmp_path: Path, sample_dir: Path
) -> None:
    src = _sample(sample_dir, 5)[3]
    with Image.open(src) as im:
        base = im.convert("L")
        base.thumbnail((256, 256))
    over = overlay(base, seed=7, ruler=True)
    base.save(tmp_path / "a.png")
    over.save(tmp_path / "b.png")
    a, b = thumbnail(str(tmp_path / "a.png"), 256), thumbnail(str(tmp_path / "b.png"), 256)
    text = np.abs(b - a) > 60  # where the overlay changed the picture strongly
    m = overlay_mask(b)
    assert text.sum() > 100
    assert m[text].mean() > 0.9  # the text and ruler strokes are masked
    assert m[~text].mean() < 0.25  # most of the picture is not


def test_shared_text_on_two_slices_is_not_a_match_and_one_sided_text_is(
    tmp_path: Path, sample_dir: Path
) -> None:
    """Two small neighbouring slices with the same text at the same places (the scale bench's
    decoys) must not match; a copy with text on one side must."""
    images = _sample(sample_dir, 20)
    by_case: dict[str, list[Path]] = {}
    for p in images:
        by_case.setdefault(p.name.split("_")[0], []).append(p)
    case = next(v for v in by_case.values() if len(v) >= 2)

    def small(p: Path, side: int) -> Image.Image:
        with Image.open(p) as im:
            g = im.convert("L")
            return g.resize((side, round(side * g.height / g.width)), Image.LANCZOS)

    for name, p in (("s1", case[0]), ("s2", case[1])):
        overlay(small(p, 90), seed=3, ruler=True).save(tmp_path / f"{name}.png")
    decoy = compare_files(str(tmp_path / "s1.png"), str(tmp_path / "s2.png"))
    assert not decoy.same, decoy
    # one-sided text decides neither way from ~200 px (smaller copies: docs/audit.md, Limits)
    overlay(small(case[0], 200), seed=3, ruler=True).save(tmp_path / "t.png")
    small(case[0], 200).save(tmp_path / "clean.png")
    copy = compare_files(str(tmp_path / "t.png"), str(tmp_path / "clean.png"))
    assert copy.same, copy


def test_an_edge_only_match_fails_the_weak_pixel_and_texture_checks() -> None:
    """Two pictures that share one strong edge between flat areas, with independent fine
    texture elsewhere, correlate highly over the whole overlap (the edge dominates the
    band-pass), but not over their weaker pixels; a copy correlates everywhere."""
    rng = np.random.default_rng(0)
    edge = np.zeros((80, 80))
    edge[:, 40:] = 120.0
    a = highpass(edge + rng.normal(0, 1.0, edge.shape))
    b = highpass(edge + rng.normal(0, 1.0, edge.shape))
    whole = float(((a - a.mean()) * (b - b.mean())).sum() / (a.std() * b.std() * a.size))
    assert whole > 0.9
    assert rest_ncc(a, b) < 0.3
    assert textured_share(a, b) < 0.3
    tex = rng.normal(0, 20.0, edge.shape)
    c = highpass(edge + tex)
    d = highpass(edge + tex + rng.normal(0, 1.0, edge.shape))  # the same picture, re-encoded
    assert rest_ncc(c, d) > 0.9
    assert textured_share(c, d) > 0.9


def test_guards_can_be_turned_off() -> None:
    cfg = PixelConfig(masks=False, rest_min=-1.0, textured_min=0.0, native_cap=False)
    assert not cfg.masks and cfg.rest_min < 0


def test_a_match_that_holds_when_slid_is_an_edge_not_a_picture(
    tmp_path: Path, sample_dir: Path
) -> None:
    """The scale bench's wrong matches of a vessel strip beside black: a soft straight edge
    between exactly flat areas matches any such edge, and its band-pass tails agree even over
    the weaker pixels, so the fifth round's guards let it through; the slide check
    (`align.Pair.slide`) turns it down. A real crop of a real picture loses most of its NCC
    when slid 3 px."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    strip = np.full((260, 170), 12.0)
    strip[:, :40] = 140.0
    other = np.zeros((300, 300))
    other[:, :150] = 150.0 + gaussian_filter(rng.normal(0, 30, (300, 150)), 3)
    for name, a in (("strip", strip), ("other", other)):
        a = np.clip(gaussian_filter(a, 1.2), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(tmp_path / f"{name}.png")
    pa, pb = str(tmp_path / "strip.png"), str(tmp_path / "other.png")
    unguarded = compare_files(pa, pb, PixelConfig(slide_max=None, far_min=None))
    assert unguarded.same, unguarded  # the fifth round's guards let it through
    v = compare_files(pa, pb, PixelConfig(far_min=None))
    assert not v.same and v.detail["slide"] > PixelConfig().slide_max, v
    assert not compare_files(pa, pb).same  # (flat beside the edge: `far` says no as well)

    src = _sample(sample_dir, 5)[1]
    with Image.open(src) as im:
        g = im.convert("L")
        w, h = g.size
        c = g.crop((w // 5, h // 6, w - w // 10, h - h // 5))
        c.resize((200, round(200 * c.height / c.width))).save(tmp_path / "crop.png")
    copy = compare_files(str(tmp_path / "crop.png"), str(src))
    assert copy.same and copy.detail["slide"] < 0.8, copy


def _skull(seed: int, texture: float) -> np.ndarray:
    """An axial head at 300 px: a soft bright arc (the skull) around faint brain texture."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:300, :300]
    d = np.hypot(y - 160, x - 150)
    img = np.zeros((300, 300))
    img[d < 141] = 40.0
    img[(d >= 141) & (d < 150)] = 230.0
    img = gaussian_filter(img, 3.5)
    brain = d < 135
    img[brain] += texture * gaussian_filter(rng.normal(0, 1, img.shape), 1.0)[brain]
    return img


def test_a_match_carried_by_a_skull_arc_fails_the_far_pixel_check() -> None:
    """The scale bench's remaining wrong matches: the top of one skull placed on another. The
    arc's soft band-pass tails carry the whole NCC and the weaker pixels (`rest` passes), and
    a curved band does not hold when slid (`slide` passes); only the pixels out of the arc's
    reach (`Pair.far`) tell the brains apart. A copy agrees there too."""
    from radvqa_data.audit.align import Pair

    cfg = PixelConfig()
    one, other = _skull(1, 2.0), _skull(2, 2.0)
    arc = Pair(one[:150, 40:260], other, 1.0)
    ncc, _, place = arc.polish(1.0, 40.0, 0.0)
    assert ncc > cfg.same_threshold and arc.rest >= cfg.rest_min
    assert arc.slide(*place) <= cfg.slide_max
    assert arc.far(*place) < cfg.far_min  # the guard that decides
    noise = np.random.default_rng(9).normal(0, 1.0, (150, 220))
    copy = Pair(other[:150, 40:260] + noise, other, 1.0)
    _, _, place = copy.polish(1.0, 40.0, 0.0)
    assert copy.far(*place) > 0.6


def _band_pair() -> tuple[np.ndarray, np.ndarray]:
    """Two pictures alike by one bright curved band, with independent faint texture."""
    from scipy.ndimage import gaussian_filter

    y, x = np.mgrid[:240, :320]
    curve = np.abs(y - 0.001 * (x - 160) ** 2 - 60) < 10
    band = gaussian_filter(np.where(curve, 200.0, 20.0), 4.0)

    def texture(seed: int) -> np.ndarray:
        return 6.0 * gaussian_filter(np.random.default_rng(seed).normal(0, 1, band.shape), 2.0)

    return band + texture(1), band + texture(2)


def test_a_look_alike_by_its_edges_stops_at_half_resolution() -> None:
    """A bright curved band with independent faint texture on each side passes `quick_min` at
    half resolution (the band carries the NCC) and used to go on to the full-resolution sweep
    and the polish; the pixels out of the band's reach disagree, so it stops there now
    (`quick_far_min`). A copy with noise goes on."""
    from radvqa_data.audit.pixels import refine

    one, other = _band_pair()
    box = {"scale": 1.0, "x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8}  # where the template lies
    cfg = PixelConfig()
    _, det = refine(one, other, box, cfg)
    assert det["half"] >= cfg.quick_min and det["half_far"] < cfg.quick_far_min
    assert "pixel" not in det  # stopped before the full-resolution sweep
    _, det = refine(one, other, box, PixelConfig(quick_far_min=None, pixel_far_min=None))
    assert "pixel" in det and "whole" in det  # the old path went on to the polish
    copy = other + np.random.default_rng(3).normal(0, 1.0, other.shape)
    score, det = refine(copy, other, box, cfg)
    assert "half_far" not in det and score > cfg.same_threshold and det["far"] > cfg.far_min


def test_a_look_alike_by_its_edges_that_passes_at_half_resolution_stops_before_the_polish() -> None:
    """The same far-pixel test on the full-resolution sweep's arrays (`pixel_far_min`): a
    look-alike by its edges that the half-resolution test lets through (here: switched off)
    stops before the polish; a copy with noise goes on to it."""
    from radvqa_data.audit.pixels import refine

    one, other = _band_pair()
    box = {"scale": 1.0, "x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8}
    cfg = PixelConfig(quick_far_min=None)
    _, det = refine(one, other, box, cfg)
    assert det["pixel"] >= cfg.polish_min and det["pixel_far"] < cfg.pixel_far_min
    assert "whole" not in det  # no polish
    copy = other + np.random.default_rng(3).normal(0, 1.0, other.shape)
    score, det = refine(copy, other, box, cfg)
    assert "pixel_far" not in det and score > cfg.same_threshold and "whole" in det


def test_spline_grid_is_map_coordinates_on_a_grid() -> None:
    """`align.spline_grid` (two 1-D passes) gives `map_coordinates`' order-3 values on the
    grids `Pair.views` samples: both branches' kind of coordinates, scales under and over 1."""
    from scipy.ndimage import map_coordinates, spline_filter

    from radvqa_data.audit.align import spline_grid

    rng = np.random.default_rng(5)
    coef = spline_filter(rng.normal(0, 30, (120, 150)), order=3)
    for s, ty, tx in ((0.62, 7.3, 3.9), (1.0, 2.0, 2.0), (1.7, 2.25, 11.5)):
        ys = ty + s * np.arange(int((115 - ty) / s))
        xs = tx + s * np.arange(int((145 - tx) / s))
        got = spline_grid(coef, ys, xs)
        want = map_coordinates(
            coef, np.meshgrid(ys, xs, indexing="ij"), order=3, mode="nearest", prefilter=False
        )
        assert got.shape == want.shape == (len(ys), len(xs))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_a_pass_stopped_by_its_far_pixels_is_not_rechecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hinted pass stopped at half resolution by `quick_far_min` scores the half-resolution
    NCC (here >= `recheck_min`, under the threshold), which used to buy the full search; its
    strong structures coincide there, so it does not any more (a near-whole-frame hint still
    does: there the side itself may be wrong; `test_audit_scale`)."""
    from radvqa_data.audit import image_checks

    for name, a in zip(("one", "other"), _band_pair(), strict=True):
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(tmp_path / f"{name}.png")
    pa, pb = str(tmp_path / "one.png"), str(tmp_path / "other.png")
    calls: list[bool] = []

    def counted(*args, **kw):  # the real comparison, counted
        calls.append(len(args) > 3 and args[3] is not None)
        return compare_files(*args, **kw)

    monkeypatch.setattr(image_checks, "compare_files", counted)
    cfg = PixelConfig()
    hint = {"side": "a", "scale": 0.8, "x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8}
    first = compare_files(pa, pb, cfg, ("a", 0.99, hint), False)
    assert "half_far" in first.detail
    # what bought the full search before: a close 32-px score and a close hinted pass
    assert 0.99 >= cfg.hint_recheck and cfg.recheck_min <= first.score < cfg.same_threshold
    assert image_checks.verify_batch((cfg, [(0, 1, pa, pb, "a", "b", hint, 0.99, "knn")])) == []
    assert calls == [True]
