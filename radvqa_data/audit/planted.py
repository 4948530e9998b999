"""Planted same-picture pairs for measuring the crop search: crops, rescales, re-encodings and
burnt-in overlays (scanner text, rulers) made with Pillow from real images.

A benchmark picture and its copy in a training set differ the way `plant` makes them differ:
one is a crop of the other (>= `min_area` of its area, any aspect), saved at another size
(0.5x-2x) and format (JPEG or PNG), and either side may carry scanner text in its corners and a
ruler along one edge. The same transform applied to a *neighbouring slice* of the same series
gives a distractor that must not match. Used by tests and `bench/audit.py`; nothing here runs
during an audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_TEXT_LINES = (
    "SE: {a}  IM: {b}",
    "{kv} kV  {ma} mA",
    "W: {w}  L: {l}",
    "{d:02d}/{m:02d}/20{y:02d}",
    "ST: {st}.0 mm",
    "R",
    "L",
    "HFS",
    "Ax {a}",
    "ZOOM 1.{b}",
    "TR {tr}  TE {te}",
)


@dataclass(frozen=True)
class PlantSpec:
    """How one copy differs from its original (every field is drawn by `draw_spec`)."""

    area: float  # share of the original's area the crop keeps (min_area..1)
    aspect: float  # crop width share / height share skew (1: same aspect as the original)
    fx: float  # where the crop sits in the free room, 0 (left/top) .. 1 (right/bottom)
    fy: float
    scale: float  # the crop is resized by this factor (0.5..2) before saving
    fmt: str  # "JPEG" or "PNG" for the copy (the original is written in the other one)
    overlay: str  # which side carries overlays: "copy", "original", "both" or "none"
    ruler: bool  # a ruler along one edge of each overlaid side (text is always drawn)
    seed: int  # the overlay's own random stream (text content, corners, ruler edge)


def draw_spec(rng: np.random.Generator, min_area: float = 0.5) -> PlantSpec:
    """A random transform with the crop covering >= `min_area` of the original."""
    return PlantSpec(
        area=float(rng.uniform(min_area, 0.95)),
        aspect=float(np.exp(rng.uniform(np.log(0.7), np.log(1.0 / 0.7)))),
        fx=float(rng.uniform()),
        fy=float(rng.uniform()),
        scale=float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))),
        fmt=str(rng.choice(["JPEG", "PNG"])),
        overlay=str(rng.choice(["copy", "original", "both"])),
        ruler=bool(rng.uniform() < 0.6),
        seed=int(rng.integers(1 << 31)),
    )


def crop_box(w: int, h: int, spec: PlantSpec) -> tuple[int, int, int, int]:
    """The crop rectangle (left, top, right, bottom) for an original of size w x h.

    Width and height shares multiply to `spec.area`; their ratio is `spec.aspect`, clipped so
    that neither share exceeds 1 (the area is kept by the other side).
    """
    sw = min(1.0, np.sqrt(spec.area * spec.aspect))
    sh = min(1.0, spec.area / sw)
    sw = spec.area / sh
    cw, ch = max(8, round(w * sw)), max(8, round(h * sh))
    x0, y0 = round((w - cw) * spec.fx), round((h - ch) * spec.fy)
    return x0, y0, x0 + cw, y0 + ch


#: the smallest text the planting burns in (px): 9 was chosen for 512-px MedPix images; on the
#: scale bench's 60-150 px copies it covers a quarter to a half of the picture (docs/audit.md)
MIN_TEXT = 9


def overlay(im: Image.Image, seed: int, ruler: bool, min_text: int = MIN_TEXT) -> Image.Image:
    """Burn scanner-style text into two or three corners and, optionally, a ruler along an edge.
    Text is 2.5-4.5% of the height, at least `min_text` px."""
    rng = np.random.default_rng(seed)
    out = im.convert("L").copy()
    d = ImageDraw.Draw(out)
    w, h = out.size
    size = max(min_text, round(h * rng.uniform(0.025, 0.045)))
    font = ImageFont.load_default(size=size)
    fill = int(rng.choice([255, 235, 200]))
    corners = rng.choice(4, size=int(rng.integers(2, 4)), replace=False)
    for c in corners:
        n = int(rng.integers(1, 5))
        picks = rng.choice(len(_TEXT_LINES), size=n, replace=False)
        lines = [
            _TEXT_LINES[i].format(
                a=rng.integers(1, 20),
                b=rng.integers(1, 300),
                kv=rng.choice([100, 120, 140]),
                ma=rng.integers(50, 400),
                w=rng.integers(80, 2000),
                l=rng.integers(-600, 400),
                d=rng.integers(1, 29),
                m=rng.integers(1, 13),
                y=rng.integers(0, 20),
                st=rng.integers(1, 10),
                tr=rng.integers(400, 5000),
                te=rng.integers(10, 120),
            )
            for i in picks
        ]
        margin = round(0.015 * w) + 2
        for k, line in enumerate(lines):
            tw = d.textlength(line, font=font)
            x = margin if c in (0, 2) else w - margin - tw
            y = (
                margin + k * round(size * 1.25)
                if c in (0, 1)
                else h - margin - (n - k) * round(size * 1.25)
            )
            d.text((x, y), line, fill=fill, font=font)
    if ruler:
        edge = int(rng.integers(4))
        length = rng.uniform(0.3, 0.6)
        pos = rng.uniform(0.05, 0.12)
        tick = max(3, round(0.012 * min(w, h)))
        ticks = 10
        if edge in (0, 1):  # vertical ruler near the left or right edge
            x = round(w * pos) if edge == 0 else round(w * (1 - pos))
            y0, y1 = round(h * (0.5 - length / 2)), round(h * (0.5 + length / 2))
            d.line([(x, y0), (x, y1)], fill=fill, width=max(1, tick // 3))
            for t in range(ticks + 1):
                y = round(y0 + (y1 - y0) * t / ticks)
                d.line([(x, y), (x + (tick * 2 if t % 5 == 0 else tick), y)], fill=fill, width=1)
            d.text((x + tick * 2, y1 + 2), "5 cm", fill=fill, font=font)
        else:  # horizontal ruler near the top or bottom edge
            y = round(h * pos) if edge == 2 else round(h * (1 - pos))
            x0, x1 = round(w * (0.5 - length / 2)), round(w * (0.5 + length / 2))
            d.line([(x0, y), (x1, y)], fill=fill, width=max(1, tick // 3))
            for t in range(ticks + 1):
                x = round(x0 + (x1 - x0) * t / ticks)
                d.line([(x, y), (x, y - (tick * 2 if t % 5 == 0 else tick))], fill=fill, width=1)
            d.text((x1 + 4, y - size), "5 cm", fill=fill, font=font)
    return out


def plant(
    original: Image.Image, spec: PlantSpec, min_text: int = MIN_TEXT
) -> tuple[Image.Image, Image.Image]:
    """(original side, copy side) for one planted pair: the copy is a crop of the original,
    rescaled; overlays go on the side(s) `spec.overlay` names (different text on each side,
    at least `min_text` px high)."""
    src = original.convert("L")
    w, h = src.size
    copy = src.crop(crop_box(w, h, spec))
    cw, ch = copy.size
    copy = copy.resize(
        (max(8, round(cw * spec.scale)), max(8, round(ch * spec.scale))), Image.LANCZOS
    )
    orig = src
    if spec.overlay in ("original", "both"):
        orig = overlay(orig, spec.seed, spec.ruler, min_text)
    if spec.overlay in ("copy", "both"):
        copy = overlay(copy, spec.seed + 1, spec.ruler, min_text)
    return orig, copy


def save(im: Image.Image, path: Path, fmt: str) -> Path:
    """Write `im` as JPEG (quality 85) or PNG; returns the path with the matching suffix."""
    path = Path(path).with_suffix(".jpg" if fmt == "JPEG" else ".png")
    if fmt == "JPEG":
        im.save(path, "JPEG", quality=85)
    else:
        im.save(path, "PNG")
    return path


def other_format(fmt: str) -> str:
    """The original is written in the format the copy is not (JPEG vs PNG re-encoding)."""
    return "PNG" if fmt == "JPEG" else "JPEG"


@dataclass
class PlantedSet:
    """Planted pairs on disk: `originals[i]` is the protected side of pair i; `copies[2 * i]` its
    transformed copy (must match) and `copies[2 * i + 1]` the same transform of a neighbouring
    slice (must not). `source` maps every written file to the real image it was made from."""

    originals: list[str]
    copies: list[str]
    source: dict[str, str]
    specs: list[PlantSpec]


def series_neighbours(series: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(image, its hardest neighbour) for every image in a series of two or more: the other image
    of the series most alike at 32 px that the verifier does not call the same picture (a series
    can hold one slice twice, e.g. re-windowed; that is no distractor)."""
    from radvqa_data.audit.pixels import _resize, _zn, compare_files, thumbnail

    out = []
    for paths in series.values():
        if len(paths) < 2:
            continue
        small = {p: _zn(_resize(t, 32, 32)) for p in paths if (t := thumbnail(p, 96)) is not None}
        for p in small:
            ranked = sorted(
                ((float((small[p] * small[o]).sum()), o) for o in small if o != p), reverse=True
            )
            for _, o in ranked:
                if not compare_files(p, o).same:
                    out.append((p, o))
                    break
    return out


def plant_set(
    pairs: list[tuple[str, str]],
    out: Path,
    seed: int = 0,
    min_area: float = 0.5,
    specs: list[PlantSpec] | None = None,
) -> PlantedSet:
    """Write one planted pair and one distractor per (original, neighbour) into `out`."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ps = PlantedSet([], [], {}, [])
    for i, (orig, neighbour) in enumerate(pairs):
        spec = specs[i] if specs is not None else draw_spec(rng, min_area)
        with Image.open(orig) as im:
            o, c = plant(im, spec)
        with Image.open(neighbour) as im:
            _, d = plant(im, spec)
        po = save(o, out / f"orig{i:04d}", other_format(spec.fmt))
        pc = save(c, out / f"copy{i:04d}", spec.fmt)
        pd = save(d, out / f"decoy{i:04d}", spec.fmt)
        ps.originals.append(str(po))
        ps.copies += [str(pc), str(pd)]
        ps.source.update({str(po): orig, str(pc): orig, str(pd): neighbour})
        ps.specs.append(spec)
    return ps


def series_of(paths: list[Path]) -> dict[str, list[str]]:
    """MedPix images grouped by case (`MPX1884_synpic21852.png` -> MPX1884)."""
    import re

    out: dict[str, list[str]] = {}
    for p in sorted(paths):
        m = re.match(r"(MPX\d+)_", Path(p).name)
        if m:
            out.setdefault(m.group(1), []).append(str(p))
    return out


def image_frame(paths: list[str], split: str):  # (polars is imported lazily)
    """Catalog-shaped image records (source 'planted', id = path) for files outside a catalog."""
    import polars as pl

    from radvqa_data.catalog.imageprobe import phash64

    hashes = []
    for p in paths:
        with Image.open(p) as im:
            hashes.append(phash64(im))
    return pl.DataFrame(
        {
            "source": ["planted"] * len(paths),
            "image_id": paths,
            "split": [split] * len(paths),
            "image_path": paths,
            "sha256": [None] * len(paths),
            "phash": hashes,
        },
        schema={
            "source": pl.String,
            "image_id": pl.String,
            "split": pl.String,
            "image_path": pl.String,
            "sha256": pl.String,
            "phash": pl.UInt64,
        },
    )


@dataclass
class CropScore:
    """What the audit found on a planted set."""

    found: set[tuple[str, str]]  # (audited file, protected file) of every benchmark_image finding
    recall: float  # planted copies found / planted
    decoys: int  # neighbouring-slice copies matched (must be 0)
    others: int  # other matches (copies of an image that is also another pair's original, ...)
    wrong: int  # matches whose two real images are not the same picture
    seconds: float  # candidates + verification
    images: int


def measure_crops(ps: PlantedSet, background_a: list[str], background_p: list[str]) -> CropScore:
    """Audit the copies (+ background) against the originals (+ background) as `benchmark_image`
    does, and score the findings against the planted truth. A match outside the planted pairs is
    right when both files come from one real image, or from two real images the verifier calls
    the same picture untransformed (a series can hold one slice twice)."""
    import time

    from radvqa_data.audit.image_checks import benchmark_images
    from radvqa_data.audit.images import CandidateConfig
    from radvqa_data.audit.pixels import PixelConfig, compare_files

    audited = image_frame(ps.copies + background_a, "train")
    protected = image_frame(ps.originals + background_p, "test")
    t = time.perf_counter()
    fs = benchmark_images(audited, protected, CandidateConfig(), PixelConfig())
    secs = time.perf_counter() - t
    found = {(f.a.image_id, f.b.image_id) for f in fs if f.kind == "benchmark_image"}
    n = len(ps.originals)
    truth = {(ps.copies[2 * i], ps.originals[i]) for i in range(n)}
    decoys = {(ps.copies[2 * i + 1], ps.originals[i]) for i in range(n)}
    same: dict[tuple[str, str], bool] = {}

    def right(a: str, b: str) -> bool:
        sa, sb = ps.source.get(a, a), ps.source.get(b, b)
        if sa != sb and (sa, sb) not in same:
            same[(sa, sb)] = compare_files(sa, sb).same
        return sa == sb or same[(sa, sb)]

    others = found - truth - decoys
    return CropScore(
        found,
        len(found & truth) / max(1, n),
        len(found & decoys),
        len(others),
        sum(not right(*p) for p in others),
        secs,
        audited.height + protected.height,
    )
