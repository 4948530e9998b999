"""Decode every picture once into a grey S x S uint8 array (the label model's whole input).

Each picture is converted to grey and padded to a square before the resize (`ImageOps.pad`,
black borders): a squashed sagittal spine would lose the shape that tells its plane. Training
then draws its augmented batches from this array; no file is read twice in a run.

A picture that cannot be read is a per-item problem: it is counted, its reason is returned, and
the run goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Pictures per worker task: bigger = less pickling, coarser progress.
CHUNK = 64


def _decode(path: str, size: int) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.draft("L", (size * 2, size * 2))  # JPEG: decode at a reduced scale (much faster)
        grey = im.convert("L")
        # A 16-bit PNG converts to "L" by clipping; the catalog stores 8-bit renders.
        return np.asarray(ImageOps.pad(grey, (size, size), Image.Resampling.BILINEAR, color=0))


def _decode_chunk(args: tuple[list[str], int]) -> list[np.ndarray | str]:
    paths, size = args
    out: list[np.ndarray | str] = []
    for p in paths:
        try:
            out.append(_decode(p, size))
        except Exception as exc:  # any unreadable file: one per-item problem, the run goes on
            out.append(f"{type(exc).__name__}: {exc}"[:200])
    return out


def decode_all(
    paths: Sequence[str],
    size: int,
    *,
    workers: int = 2,
    advance: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """([N, size, size] uint8, {index: why} for the pictures that could not be read: zeros).

    `workers` > 1 decodes in forked processes (decoding is the cost: ~300 MedPix PNGs/s per
    core here).
    """
    arr = np.zeros((len(paths), size, size), dtype=np.uint8)
    failed: dict[int, str] = {}
    chunks = [(list(paths[i : i + CHUNK]), size) for i in range(0, len(paths), CHUNK)]

    def take(start: int, results: list[np.ndarray | str]) -> None:
        for j, r in enumerate(results):
            if isinstance(r, str):
                failed[start + j] = r
            else:
                arr[start + j] = r
        if advance is not None:
            advance(len(results))

    if workers > 1 and len(chunks) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            for k, results in enumerate(pool.imap(_decode_chunk, chunks)):
                take(k * CHUNK, results)
    else:
        for k, chunk in enumerate(chunks):
            take(k * CHUNK, _decode_chunk(chunk))
    return arr, failed
