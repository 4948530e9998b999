"""The PNG fast path decodes exactly what Pillow decodes, and hands everything else to Pillow."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radvqa_data.catalog import imageprobe
from radvqa_data.catalog.fast import pngfast
from radvqa_data.catalog.imageprobe import probe_bytes
from tests.conftest import dataset

pytestmark = pytest.mark.skipif(
    not pngfast.available(), reason="deflate (libdeflate) not installed"
)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _encode(pixels: np.ndarray, filters: list[int], *, colour: int, idat_parts: int = 1) -> bytes:
    """A PNG written by hand with the given per-row filter types (0 None, 1 Sub, 2 Up, 3
    Average)."""
    height, width = pixels.shape[:2]
    bpp = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = pixels.reshape(height, width * bpp).astype(np.int32)
    out = bytearray()
    for y, f in enumerate(filters):
        row, up = rows[y], rows[y - 1] if y else np.zeros_like(rows[y])
        left = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]])
        if f == 0:
            enc = row
        elif f == 1:
            enc = row - left
        elif f == 2:
            enc = row - up
        else:  # 3: Average
            enc = row - (left + up) // 2
        out.append(f)
        out += (enc % 256).astype(np.uint8).tobytes()
    stream = zlib.compress(bytes(out), 6)
    step = -(-len(stream) // idat_parts)
    idats = b"".join(_chunk(b"IDAT", stream[i : i + step]) for i in range(0, len(stream), step))
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        pngfast.PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", b"Comment\x00hand-made")
        + idats
        + _chunk(b"IEND", b"")
    )


def _pillow(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(("colour", "channels"), [(0, 1), (2, 3), (4, 2), (6, 4)])
@pytest.mark.parametrize("filters", ["none", "sub", "up", "mixed"])
def test_fast_path_is_pixel_identical_to_pillow(colour: int, channels: int, filters: str) -> None:
    rng = np.random.default_rng(colour * 10 + len(filters))
    height, width = 23, 37
    shape = (height, width) if channels == 1 else (height, width, channels)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    per_row = {
        "none": [0] * height,
        "sub": [1] * height,
        "up": [2] * height,
        "mixed": [y % 3 for y in range(height)],
    }[filters]
    data = _encode(pixels, per_row, colour=colour, idat_parts=3)
    fast = pngfast.decode_png(data)
    assert fast is not None
    ref = _pillow(data)
    assert (fast.mode, fast.size, fast.format) == (ref.mode, ref.size, "PNG")
    assert np.array_equal(np.asarray(fast), np.asarray(ref))
    assert np.array_equal(np.asarray(fast), pixels)


def test_what_the_fast_path_does_not_cover_goes_to_pillow() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    good = _encode(pixels, [0] * 16, colour=2)
    assert pngfast.decode_png(good) is not None
    average = _encode(pixels, [3] * 16, colour=2)
    assert pngfast.decode_png(average) is None  # Average filter: Pillow's job
    assert np.array_equal(np.asarray(_pillow(average)), pixels)
    buf = io.BytesIO()
    Image.fromarray(pixels).convert("P").save(buf, format="PNG")  # palette
    assert pngfast.decode_png(buf.getvalue()) is None
    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0].astype(np.uint16) * 257).save(buf, format="PNG")  # 16-bit
    assert pngfast.decode_png(buf.getvalue()) is None
    assert pngfast.decode_png(good[: len(good) // 2]) is None  # truncated
    assert pngfast.decode_png(good.replace(b"IEND", b"IENX")) is None  # no IEND
    assert pngfast.decode_png(b"\xff\xd8\xff\xe0 a JPEG") is None
    assert pngfast.decode_png(b"") is None


def test_a_stream_longer_or_shorter_than_the_image_is_refused() -> None:
    pixels = np.zeros((8, 8), np.uint8)
    good = _encode(pixels, [0] * 8, colour=0)
    longer = _encode(np.zeros((9, 8), np.uint8), [0] * 9, colour=0)
    # Keep the 8x8 header but the 9-row stream: inflating gives one row too many.
    lying = good[:33] + longer[33:]
    assert pngfast.decode_png(lying) is None


def test_probe_gives_the_same_result_with_and_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Bad PNGs keep Pillow's verdict and message; good ones the same hash, size and format."""
    rng = np.random.default_rng(1)
    good = _encode(rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8), [0] * 40, colour=2)
    cases = {
        "good": good,
        "truncated": good[: len(good) - 40],
        "text": b"\x89PNG\r\n\x1a\n not really",
        "empty": b"",
    }
    with_fast = {k: probe_bytes(k, v) for k, v in cases.items()}
    monkeypatch.setattr(imageprobe, "decode_png", lambda data: None)
    without = {k: probe_bytes(k, v) for k, v in cases.items()}
    assert with_fast == without
    assert with_fast["good"].status == "ok" and with_fast["good"].format == "PNG"
    assert with_fast["truncated"].status == "corrupt"


def test_real_medpix_pngs_decode_identically(shared_data: Path) -> None:
    """On real MedPix 2.0 PNGs (every 8th of the 397) the fast path gives Pillow's pixels."""
    files = sorted((dataset(shared_data, "medpix2") / "images").glob("*.png"))[::8]
    assert len(files) >= 40
    fast_count = 0
    for f in files:
        data = f.read_bytes()
        fast = pngfast.decode_png(data)
        if fast is None:
            continue
        fast_count += 1
        assert np.array_equal(np.asarray(fast), np.asarray(_pillow(data))), f.name
    assert fast_count >= len(files) * 3 // 4  # most MedPix PNGs are unfiltered 8-bit RGB
