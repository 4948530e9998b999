"""Scale-benchmark images for the image checks: >= 20,000 distinct pictures built from the real
ones, with 1% planted copies and as many neighbouring-slice decoys (bench helper, no tests).

Distinct pictures come in two kinds, so that no two of them are the same picture by accident:
- *singles*: a crop (35-80% of the side) of one real image, turned by 0/90/180/270 degrees; each
  real image gives at most one single per turn (the audit searches neither rotations nor flips);
- *composites*: a 2x2 or 1x2 grid of patches from different real images, each patch mirrored
  (no single is mirrored, so a patch never reappears inside a single).
Every picture is resized to a longest side of 160-320 px and saved as JPEG (quality 90) or PNG.

Planted pair k (one per 100 images, block k = [original, copy, decoy, 97 distinct]): a single
of a MedPix image that has a neighbouring slice in its case; the copy is `planted.plant` of it
(crop >= 50% of the area, rescaled 0.5-2x, JPEG vs PNG, scanner text and rulers on either side);
the decoy the same transform of the same crop of the neighbouring slice. A prefix of k blocks is
the benchmark at N = 100 k: every prefix holds its own 1%.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from radvqa_data.audit.planted import (
    MIN_TEXT,
    draw_spec,
    other_format,
    plant,
    save,
    series_neighbours,
)

BLOCK = 100  # images per planted pair: 1 original + 1 copy + 1 decoy + 97 distinct


def _real_images(shared: Path) -> tuple[list[Path], list[Path]]:
    """(MedPix 2.0 PNGs, every real image): the shared MedPix folders and VQA-RAD."""
    medpix = sorted((shared / "medpix2" / "images").glob("*.png")) + sorted(
        (shared / "medpix2-train-256" / "images").glob("*.png")
    )
    vqarad = sorted((shared / "vqa-rad" / "VQA_RAD Image Folder").glob("*.jpg"))
    return medpix, medpix + vqarad


def _load(p: Path, cache: dict) -> Image.Image:
    if p not in cache:
        with Image.open(p) as im:
            g = im.convert("L")
            g.thumbnail((384, 384))
            cache[p] = g
    return cache[p]


def _crop_box(
    im: Image.Image, rng: np.random.Generator, lo: float, hi: float
) -> tuple[int, int, int, int]:
    w, h = im.size
    sw, sh = rng.uniform(lo, hi), rng.uniform(lo, hi)
    cw, ch = max(16, round(w * sw)), max(16, round(h * sh))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return (x, y, x + cw, y + ch)


def _finish(im: Image.Image, rng: np.random.Generator, write: bool = True) -> Image.Image:
    side = int(rng.integers(160, 321))
    w, h = im.size
    s = side / max(w, h)
    if not write:  # provenance replay: the same draws, no pixels
        return im
    return im.resize((max(16, round(w * s)), max(16, round(h * s))), Image.LANCZOS)


def _write(im: Image.Image, path: Path, rng: np.random.Generator, write: bool = True) -> Path:
    if rng.uniform() < 0.6:
        path = path.with_suffix(".jpg")
        if write:
            im.save(path, "JPEG", quality=90)
    else:
        path = path.with_suffix(".png")
        if write:
            im.save(path, "PNG")
    return path


#: one patch of a bench image: (real image path, crop box as fractions (x0, y0, x1, y1) of the
#: real image, quarter turns, mirrored); a composite has 2 or 4, a single or a planted image 1
Patch = tuple[str, tuple[float, float, float, float], int, bool]


def _frac(im: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    w, h = im.size
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def generate(
    shared: Path,
    out: Path,
    n: int,
    seed: int = 0,
    write: bool = True,
    planted_only: bool = False,
    min_text: int = MIN_TEXT,
    pictures: int | None = None,
) -> dict:
    """Write `n` images (a multiple of BLOCK) into `out/images`; returns and saves the truth
    (`out/truth.json`: planted pairs as file names, and `provenance`: each image's patches,
    see `Patch`). Reuses a finished folder. `write=False` replays the same random draws without
    making pixels: the provenance of a folder generated before it was recorded (the draws do
    not depend on pixels, only on the real images' sizes). `planted_only`: write the planted
    trios only (the same draws), e.g. with another `min_text` (`planted.overlay`) to measure
    the verifier under another overlay rule. `pictures`: build the distinct pictures from
    that many real images only (a fixed random subset; the planted trios are unchanged), so
    that a small bench reuses each real image as often as a large one does (the growth
    control of `bench/audit.py --pictures`)."""
    out = Path(out)
    truth_file = out / "truth.json"
    if truth_file.exists() and write:
        truth = json.loads(truth_file.read_text())
        if truth["n"] >= n and (not write or "provenance" in truth):
            return truth
        if truth["n"] >= n and write:  # an older folder: its provenance by replay
            rep = generate(shared, out, truth["n"], seed, write=False)
            have = {p.name for p in (out / "images").iterdir()}
            if set(rep["provenance"]) != have or rep["planted"] != truth["planted"]:
                raise SystemExit(f"{out}: the replay does not give this folder's images")
            truth["provenance"] = rep["provenance"]
            tmp = truth_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(truth, indent=1))
            tmp.replace(truth_file)
            return truth
    img_dir = out / "images"
    if write:
        img_dir.mkdir(parents=True, exist_ok=True)
    pixels = write and not planted_only  # the distinct pictures' pixels
    rng = np.random.default_rng(seed)
    medpix, real = _real_images(shared)
    if pictures is not None:
        if not BLOCK <= pictures <= len(real):
            raise SystemExit(f"--pictures {pictures}: expected {BLOCK} to {len(real)}")
        pick = np.random.default_rng(seed + 7).choice(len(real), pictures, replace=False)
        real = [real[i] for i in sorted(pick)]
        # singles take one turn of one real image each: 4 per image at most
        if 0.5 * n > 4 * len(real):
            raise SystemExit(f"--pictures {pictures}: too few for {n} images (singles)")
    blocks = n // BLOCK
    # neighbouring slices (the hardest look-alike of each image in its case), enough for `blocks`
    from radvqa_data.audit.planted import series_of

    series = list(series_of(medpix).items())
    order = rng.permutation(len(series))
    pairs: list[tuple[str, str]] = []
    for i in order:
        if len(pairs) >= blocks:
            break
        got = series_neighbours(dict([series[i]]))
        if got:
            pairs.append(got[int(rng.integers(len(got)))])
    used_turns: dict[Path, set[int]] = {}
    cache: dict = {}
    planted = []
    provenance: dict[str, list[Patch]] = {}
    patches: list[Patch] = []

    def single() -> Image.Image:
        while True:
            p = real[int(rng.integers(len(real)))]
            free = [t for t in range(4) if t not in used_turns.setdefault(p, set())]
            if free:
                t = free[int(rng.integers(len(free)))]
                used_turns[p].add(t)
                im = _load(p, cache)
                box = _crop_box(im, rng, 0.35, 0.8)
                patches[:] = [(str(p), _frac(im, box), t, False)]
                if not pixels:
                    w, h = box[2] - box[0], box[3] - box[1]
                    return Image.new("L", (w, h) if t % 2 == 0 else (h, w))
                return im.crop(box).rotate(90 * t, expand=True)

    def composite() -> Image.Image:
        grid = (2, 2) if rng.uniform() < 0.6 else ((1, 2) if rng.uniform() < 0.5 else (2, 1))
        cell = 160
        canvas = Image.new("L", (cell * grid[1], cell * grid[0]))
        srcs = rng.choice(len(real), size=grid[0] * grid[1], replace=False)
        patches.clear()
        for k, si in enumerate(srcs):
            im = _load(real[int(si)], cache)
            box = _crop_box(im, rng, 0.3, 0.6)
            patches.append((str(real[int(si)]), _frac(im, box), 0, True))
            if not pixels:
                continue
            patch = ImageOps.mirror(im.crop(box))
            canvas.paste(
                patch.resize((cell, cell), Image.BILINEAR),
                (cell * (k % grid[1]), cell * (k // grid[1])),
            )
        return canvas

    k = 0
    for b in range(blocks):
        orig_src, neigh_src = pairs[b % len(pairs)]
        o_im, n_im = _load(Path(orig_src), cache), _load(Path(neigh_src), cache)
        # the same crop of the slice and of its neighbour (sizes can differ: fractions, not pixels)
        c_rng = np.random.default_rng(seed * 1_000_003 + b)
        fx, fy, sw, sh = (
            c_rng.uniform(0, 0.3),
            c_rng.uniform(0, 0.3),
            c_rng.uniform(0.7, 1),
            c_rng.uniform(0.7, 1),
        )

        def frac_box(im: Image.Image, fx=fx, fy=fy, sw=sw, sh=sh) -> tuple[int, int, int, int]:
            w, h = im.size
            return (
                round(w * fx),
                round(h * fy),
                round(w * min(1, fx + sw)),
                round(h * min(1, fy + sh)),
            )

        spec = draw_spec(rng)
        box = frac_box(o_im)
        if write:
            o, c = plant(o_im.crop(box), spec, min_text)
            _, d = plant(n_im.resize(o_im.size).crop(box), spec, min_text)
            po = save(o, img_dir / f"{k:06d}", other_format(spec.fmt))
            pc = save(c, img_dir / f"{k + 1:06d}", spec.fmt)
            pd = save(d, img_dir / f"{k + 2:06d}", spec.fmt)
        else:
            po, pc, pd = (
                Path(f"{k + i:06d}").with_suffix(".jpg" if f == "JPEG" else ".png")
                for i, f in enumerate((other_format(spec.fmt), spec.fmt, spec.fmt))
            )
        # the copy is a crop of the original (its box within `box` is not needed here)
        provenance[po.name] = provenance[pc.name] = [(orig_src, _frac(o_im, box), 0, False)]
        provenance[pd.name] = [(neigh_src, _frac(o_im, box), 0, False)]
        planted.append(
            {
                "original": po.name,
                "copy": pc.name,
                "decoy": pd.name,
                "src": orig_src,
                "neighbour": neigh_src,
            }
        )
        k += 3
        for _ in range(BLOCK - 3):
            im = single() if rng.uniform() < 0.45 else composite()
            path = _write(_finish(im, rng, pixels), img_dir / f"{k:06d}", rng, pixels)
            provenance[path.name] = list(patches)
            k += 1
        if len(cache) > 3000:
            cache.clear()
    truth = {"n": blocks * BLOCK, "block": BLOCK, "planted": planted, "provenance": provenance}
    if write:
        truth_file.write_text(json.dumps(truth, indent=1))
    return truth


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=20_000)
    a = ap.parse_args()
    t = generate(a.shared, a.out, a.n)
    print(t["n"], "images,", len(t["planted"]), "planted pairs")


def _picture(path: str) -> str:
    """A real picture's identity across the shared folders: its MedPix 'synpic' number (the
    same picture is in medpix2, medpix2-train-256 and VQA-RAD under that number)."""
    stem = Path(path).stem
    return stem[stem.find("synpic") :] if "synpic" in stem else stem


def shared_fraction(a: list, b: list, same: dict[str, str] | None = None) -> tuple[float, float]:
    """How much of bench image a, and of b, shows the same real picture region as the other, in
    the same orientation: per image, the sum over its patches of (the patch's share of the
    image) x (the part of the patch's box that the other's patch with the same picture, turn
    and mirroring covers). `same`: picture -> representative, for real pictures that are the
    same under two numbers (the real audit's findings). Composite patches are squeezed into
    square cells, so a shared patch is shared content, not always the same geometry."""

    def pic(p: str) -> str:
        k = _picture(p)
        return (same or {}).get(k, k)

    fa = fb = 0.0
    for pa in a:
        for pb in b:
            if pic(pa[0]) != pic(pb[0]) or pa[2:] != pb[2:]:
                continue
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = pa[1], pb[1]
            iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
            if iw <= 0 or ih <= 0:
                continue
            inter = iw * ih
            fa += inter / ((ax1 - ax0) * (ay1 - ay0)) / len(a)
            fb += inter / ((bx1 - bx0) * (by1 - by0)) / len(b)
    return min(1.0, fa), min(1.0, fb)
