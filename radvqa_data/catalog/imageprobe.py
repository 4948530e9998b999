"""Probe image files: read the bytes once, hash them, decode once, perceptual hash, size, format.

Runs on the probe threads (see `radvqa_data.executor.workerpool`: the heavy steps release the
GIL); PIL and numpy are imported lazily, so importing this module stays cheap for the CLI.

Why not `imagehash.phash(image)` directly: it resizes the full-size image to 32x32 with
LANCZOS, which costs as much as decoding. We resize with `reducing_gap` (a fast box reduce, then
LANCZOS on a small image) and compute imagehash's phash of that 32x32 image (`phash_bits`, the
same bits without importing scipy). The hash differs from the textbook full-size one by 0-2 bits
of 64 on MedPix/VQA-RAD images; every hash in a catalog is computed this way, so they compare.

JPEGs with a short side of 512 px or more are decoded with `draft` (libjpeg's DCT scaling, grey
output) at the smallest scale that keeps a short side of at least 256 px: 2.5x faster on
VQA-RAD, and the hash moves by 0.65 bits of 64 on average (at most 4) against the textbook
full-size hash. The whole compressed stream is still decoded, so a truncated JPEG is still
`corrupt`. Width and height are the file's own.

Most 8-bit PNGs are decoded by `radvqa_data.catalog.fast.pngfast` (libdeflate inflate + numpy), the
rest by Pillow; both give the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import NamedTuple

from radvqa_data.catalog.fast import decode_png

#: Bump when the probe's output changes; cached probes of another version are redone.
PROBE_VERSION = 2
#: Large JPEGs are decoded at a reduced scale whose short side stays >= this many pixels.
DRAFT_SHORT_SIDE = 256


class Probe(NamedTuple):
    """The result of probing one file (a row of `catalog_probe_cache`)."""

    image_path: str
    size: int | None
    mtime_ns: int | None
    status: str  # ok | missing | corrupt
    error: str | None
    sha256: str | None
    phash: int | None  # unsigned 64-bit
    width: int | None
    height: int | None
    format: str | None


def thumbnail32(image: object) -> object:
    """The 32x32 grey image the perceptual hash is computed from."""
    from PIL import Image

    return image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)  # type: ignore[attr-defined]


_DCT_ROWS: list[object] = []  # the 8 low-frequency rows of the 32-point DCT-II matrix, built once


def phash_bits(small: object) -> int:
    """`imagehash.phash` of a 32x32 grey image, as an unsigned 64-bit int, computed with numpy.

    Same algorithm as imagehash 4.3 (DCT-II along both axes as scipy.fftpack.dct, the 8x8
    low-frequency block, bits above its median, row-major, first bit most significant), as a
    matrix product: no scipy import (0.18 s). Equality with
    `imagehash.phash` is checked in tests/data/test_catalog_bad.py.
    """
    import numpy as np

    if not _DCT_ROWS:  # two threads may both build it: same matrix, either one is used
        n, k = np.arange(32), np.arange(8)[:, None]
        _DCT_ROWS.append(2.0 * np.cos(np.pi * k * (2 * n + 1) / 64.0))
    c = _DCT_ROWS[0]
    x = np.asarray(small, dtype=np.float64)
    low = c @ x @ c.T  # == scipy.fftpack.dct(dct(x, axis=0), axis=1)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def phash64(image: object) -> int:
    """64-bit perceptual hash of a decoded PIL image, as an unsigned int (fits UBIGINT)."""
    return phash_bits(thumbnail32(image))


def probe_bytes(
    path: str, data: bytes, size: int | None = None, mtime_ns: int | None = None
) -> Probe:
    """Probe an image given its bytes; never raises for a bad image (status corrupt + reason)."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    # A truncated file must be `corrupt`, never a partial picture padded with grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        return Probe(path, size, mtime_ns, "corrupt", "empty file", digest, None, None, None, None)
    try:
        fast = decode_png(
            data
        )  # common 8-bit PNGs, pixel-identical to Pillow's decode; None: Pillow
        if fast is not None:
            return Probe(
                path,
                size,
                mtime_ns,
                "ok",
                None,
                digest,
                phash64(fast),
                fast.width,
                fast.height,
                "PNG",
            )
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format
            width, height = im.size  # the file's size, before any draft scaling
            short = min(width, height)
            if fmt == "JPEG" and short >= 2 * DRAFT_SHORT_SIDE:
                # Let libjpeg decode at 1/2..1/8 scale, in grey: the hash only needs 32x32.
                im.draft(
                    "L", (width * DRAFT_SHORT_SIDE // short, height * DRAFT_SHORT_SIDE // short)
                )
            im.load()  # decodes the whole stream: a truncated file raises here
            ph = phash64(im)
    except UnidentifiedImageError:
        return Probe(
            path,
            size,
            mtime_ns,
            "corrupt",
            "not an image (unrecognised format)",
            digest,
            None,
            None,
            None,
            None,
        )
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc) or type(exc).__name__
        return Probe(
            path,
            size,
            mtime_ns,
            "corrupt",
            f"cannot decode: {reason}",
            digest,
            None,
            None,
            None,
            None,
        )
    return Probe(path, size, mtime_ns, "ok", None, digest, ph, width, height, fmt)


def probe_file(path: str) -> Probe:
    """Read and probe one file; a file that is not there is `missing`."""
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return Probe(path, None, None, "missing", "file not found", None, None, None, None, None)
    except OSError as exc:
        return Probe(
            path,
            None,
            None,
            "corrupt",
            f"cannot read: {exc.strerror or exc}",
            None,
            None,
            None,
            None,
            None,
        )
    return probe_bytes(path, data, st.st_size, st.st_mtime_ns)


def probe_file_or_record(path: str) -> Probe:
    """`probe_file`, and a file whose probe raises anyway (a decoder bug) is `corrupt` with the
    error as its reason: one bad file never stops a run, on threads or on a Ray worker."""
    try:
        return probe_file(path)
    except Exception as exc:  # anything a third-party decoder may raise
        from radvqa_data.executor.base import item_error

        error = f"probe failed: {item_error(exc)}"
        return Probe(path, None, None, "corrupt", error, None, None, None, None, None)


def probe_chunk(paths: list[str]) -> list[Probe]:
    """Probe a chunk of files (the unit of work handed to a probe thread or a Ray task)."""
    return [probe_file_or_record(p) for p in paths]
