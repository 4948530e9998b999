"""A fast path for decoding common PNGs: inflate with libdeflate, unfilter with numpy, hand
Pillow the pixels.

Why: on the MedPix 2.0 PNGs Pillow spends ~3.5 ms per image, of which inflating the IDAT
stream is ~1.2 ms; the rest is its per-row unfiltering and unpacking. 368 of the 397 MedPix
PNGs are 8-bit RGB with every row stored unfiltered (filter type 0), so after inflating
(libdeflate through the `deflate` package: it releases the GIL and, given the output size,
which the header tells us, inflates ~1.4x faster than ISA-L and ~2x faster than the system
zlib here) the pixels are already there: one `Image.frombytes`. Rows filtered with
Sub or Up are undone with numpy; Average and Paeth need a sequential loop per byte, so those
images (and everything else this does not cover: palettes, 16-bit, interlacing, a missing
IEND, a stream of the wrong length) go to Pillow, which also gives the error message for a
damaged file. The result is pixel-identical to Pillow's decode (tested on generated files and
on the real MedPix PNGs), so perceptual hashes do not depend on which path decoded an image.

Like Pillow, the chunk CRCs are not checked: a damaged stream still fails to inflate or has the
wrong length, and then Pillow decides.
"""

from __future__ import annotations

import struct
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: colour type -> (Pillow mode, bytes per pixel) for 8-bit samples.
_MODES = {0: ("L", 1), 2: ("RGB", 3), 4: ("LA", 2), 6: ("RGBA", 4)}

try:  # a declared dependency; without it every PNG goes to Pillow
    from deflate import DeflateError as _InflateError
    from deflate import zlib_decompress as _inflate
except ImportError:  # pragma: no cover - platforms without a `deflate` wheel
    _inflate = None

    class _InflateError(Exception):  # type: ignore[no-redef]
        pass


def available() -> bool:
    """True when the fast path can run (the `deflate` package, libdeflate, is installed)."""
    return _inflate is not None


def _chunks(data: bytes) -> tuple[tuple[int, ...], bytes] | None:
    """(IHDR fields, concatenated IDAT data), or None when the chunk layout is not a plain,
    complete PNG."""
    n, i = len(data), 8
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    while i + 8 <= n:
        (length,) = struct.unpack_from(">I", data, i)
        kind = data[i + 4 : i + 8]
        end = i + 12 + length  # 4 length + 4 type + data + 4 CRC
        if end > n:
            return None  # truncated: let Pillow say so
        if kind == b"IHDR":
            if length != 13:
                return None
            header = struct.unpack_from(">IIBBBBB", data, i + 8)
        elif kind == b"IDAT":
            idat.append(data[i + 8 : i + 8 + length])
        elif kind == b"IEND":
            return (header, b"".join(idat)) if header is not None and idat else None
        elif kind == b"PLTE":
            return None  # palette images: Pillow
        i = end
    return None  # no IEND


def decode_png(data: bytes) -> Any | None:
    """Decode an 8-bit, non-interlaced L/LA/RGB/RGBA PNG whose rows use filters None/Sub/Up.

    Returns a loaded PIL image, pixel-identical to `Image.open(...).load()`, or None when this
    path does not apply (the caller then decodes with Pillow). Never raises for bad data.
    """
    if _inflate is None or not data.startswith(PNG_SIGNATURE):
        return None
    parsed = _chunks(data)
    if parsed is None:
        return None
    (width, height, depth, colour, compression, filtering, interlace), stream = parsed
    if (
        depth != 8
        or colour not in _MODES
        or compression
        or filtering
        or interlace
        or not width
        or not height
    ):
        return None
    from PIL import Image

    if width * height > Image.MAX_IMAGE_PIXELS:
        return None  # Pillow's decompression-bomb check decides (a warning or an error)
    mode, bpp = _MODES[colour]
    stride = width * bpp + 1  # each row starts with its filter-type byte
    expected = height * stride
    try:
        # Room for one byte more than the image needs: a stream that inflates further fails
        # (and never fills memory); one that inflates to less comes back short.
        raw = _inflate(stream, expected + 1)
    except (_InflateError, ValueError, MemoryError):
        return None
    if len(raw) != expected:
        return None
    import numpy as np

    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride)
    filters = rows[:, 0]
    if filters.any():
        if int(filters.max()) > 2:
            return None  # Average / Paeth (or invalid): sequential per byte, Pillow does it in C
        rows = _unfilter(rows, bpp)
        buffer: Any = rows.tobytes()
    else:
        buffer = raw
    # Pillow's raw decoder copies the rows out, skipping each row's leading filter byte (the
    # stride covers it). Not `frombuffer`: mapping L/RGBA in place needs height * stride bytes
    # after the offset, one more than there are, and for RGB it copies anyway (slower, measured).
    image = Image.frombytes(mode, (width, height), memoryview(buffer)[1:], "raw", mode, stride, 1)
    image.format = "PNG"  # type: ignore[misc]  # what Image.open would have said
    return image


def _unfilter(rows: Any, bpp: int) -> Any:
    """Undo Sub (1) and Up (2) row filters in a copy of `rows` (uint8, filter byte first).

    Rows are handled top to bottom, so the row an Up row adds is already reconstructed.
    """
    import numpy as np

    out = rows.copy()
    pixels = out[:, 1:]
    width = pixels.shape[1] // bpp
    for y in np.flatnonzero(out[:, 0]).tolist():
        if out[y, 0] == 1:  # Sub: each byte adds the reconstructed byte one pixel to the left
            row = pixels[y].reshape(width, bpp)
            np.cumsum(
                row, axis=0, dtype=np.uint8, out=row
            )  # uint8 arithmetic wraps mod 256, as PNG's does
        elif y > 0:  # Up: adds the reconstructed byte above (the first row has zeros above)
            np.add(pixels[y], pixels[y - 1], out=pixels[y])
    return out
