"""Catalog throughput on the real MedPix 2.0 + VQA-RAD images against a naive single-process loop.

    .venv/bin/python bench/catalog.py [--data ../shared/data] [--workers 2] [--pairs 3]

Same files, same run (page cache warmed first, so both read from memory):
- baseline: for each file, read the bytes, sha256, decode with PIL, `imagehash.phash`;
- ours: `add_source(medpix2)` + `add_source(vqa-rad)` into a fresh catalog: the whole job
  (parse the publishers' JSON, probe every image on `--workers` threads, write every row).
Runs `--pairs` naive/ours pairs, alternating which goes first, and prints each pair's rates
(images/s) and ratio, then the medians; also the peak memory of the process tree (this process plus
any children, sampled every 100 ms) and the CPU time each side used (a figure that does not depend
on what else runs on the machine; wall-clock ratios do). Target on 2 idle cores: ratio >= 2.5,
peak < 1 GB.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from radvqa_data.catalog.ingest import add_source


class TreeMonitor:
    """Peak resident memory and CPU time of this process plus all its descendants (sampled).

    CPU time is summed per process from its last sample, so grandchildren (invisible to
    RUSAGE_CHILDREN) would be counted too; the probe pool itself is threads of this process.
    """

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._proc, self._interval, self.peak = psutil.Process(), interval, 0
        self._cpu: dict[int, float] = {}
        self._cpu0: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
                t = p.cpu_times()
                self._cpu[p.pid] = t.user + t.system
            except Exception:  # a process may exit between listing and reading
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(self._interval)

    @property
    def cpu_seconds(self) -> float:
        return sum(v - self._cpu0.get(pid, 0.0) for pid, v in self._cpu.items())

    def __enter__(self) -> TreeMonitor:
        self.peak = self._sample()
        self._cpu0 = dict(self._cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def image_files(data: Path) -> list[Path]:
    """The MedPix 2.0 PNGs and VQA-RAD JPEGs that `add_source` will find."""
    files = sorted((data / "medpix2" / "images").glob("*.png"))
    files += sorted((data / "vqa-rad" / "VQA_RAD Image Folder").glob("*.jpg"))
    return files


def naive(files: list[Path]) -> float:
    """The baseline loop; returns seconds."""
    import imagehash
    from PIL import Image

    t0 = time.perf_counter()
    for f in files:
        data = f.read_bytes()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            imagehash.phash(im)
    return time.perf_counter() - t0


def ours(data: Path, workers: int) -> tuple[float, int, int, float, float]:
    """Catalog both sources into a fresh catalog; returns (seconds, ok images, peak bytes, probe
    seconds, cpu seconds)."""
    from radvqa_data.executor.workerpool import close_pool

    close_pool()  # each run pays its own pool start (threads: about a millisecond)
    with tempfile.TemporaryDirectory() as tmp, TreeMonitor() as mem:
        cat = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        a = add_source(cat, "medpix2", data / "medpix2", workers=workers, progress=False)
        b = add_source(cat, "vqa-rad", data / "vqa-rad", workers=workers, progress=False)
        seconds = time.perf_counter() - t0
    return seconds, a.ok + b.ok, mem.peak, a.probe_seconds + b.probe_seconds, mem.cpu_seconds


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data"),
        help="folder holding medpix2/ and vqa-rad/",
    )
    ap.add_argument("--workers", type=int, default=2, help="decoding threads for ours")
    ap.add_argument(
        "--pairs", type=int, default=3, help="naive/ours pairs to run, alternating which goes first"
    )
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object too")
    args = ap.parse_args()
    files = image_files(args.data)
    if not files:
        sys.exit(
            f"Error: no MedPix/VQA-RAD images under {args.data}; "
            "expected medpix2/images and 'vqa-rad/VQA_RAD Image Folder'"
        )
    for f in files:  # warm the page cache so neither side pays for the disk
        f.read_bytes()
    n = len(files)
    print(
        f"images: {n} (MedPix 2.0 PNGs + VQA-RAD JPEGs), workers: {args.workers}, "
        f"CPUs: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}"
    )
    # Pairs, each timed back to back, the order alternating (naive first, then ours first): the
    # machine's speed drifts over seconds here, and a pair's ratio is what that drift spares.
    pairs = []
    for i in range(args.pairs):
        runs: dict[str, tuple] = {}
        for side in ("naive", "ours") if i % 2 == 0 else ("ours", "naive"):
            if side == "naive":
                with TreeMonitor() as mem:
                    seconds = naive(files)
                runs["naive"] = (seconds, mem.peak, mem.cpu_seconds)
            else:
                runs["ours"] = ours(args.data, args.workers)
        (t_naive, naive_peak, cpu_naive), (t_ours, n_ok, peak, t_probe, cpu_ours) = (
            runs["naive"],
            runs["ours"],
        )
        if n_ok != n:
            print(f"warning: ours catalogued {n_ok} ok images of {n} files")
        pair = {
            "naive_img_s": n / t_naive, "ours_img_s": n / t_ours,
            "ratio": t_naive / t_ours, "probe_ratio": t_naive / t_probe,
            "peak_mib": peak / 2**20, "naive_peak_mib": naive_peak / 2**20,
            "cpu_naive_s": cpu_naive, "cpu_ours_s": cpu_ours,
            "load": os.getloadavg()[0],
        }  # fmt: skip
        pairs.append(pair)
        print(
            f"pair {i + 1}: naive {t_naive:5.2f} s {pair['naive_img_s']:6.1f} img/s | "
            f"ours {t_ours:5.2f} s {pair['ours_img_s']:6.1f} img/s "
            f"(probing {n / t_probe:5.1f} img/s) | ratio {pair['ratio']:.2f}x | "
            f"CPU naive {cpu_naive:.2f} s, ours {cpu_ours:.2f} s "
            f"| peak ours {pair['peak_mib']:.0f} MiB | load {pair['load']:.1f}"
        )
    med = {k: statistics.median(p[k] for p in pairs) for k in pairs[0]}
    peak = max(p["peak_mib"] for p in pairs)
    print(
        "naive loop (read+sha256+decode+imagehash.phash, 1 process): "
        f"median {med['naive_img_s']:7.1f} img/s"
    )
    print(
        f"ours (add_source medpix2 + vqa-rad end to end, {args.workers} threads): "
        f"median {med['ours_img_s']:7.1f} img/s"
    )
    print(
        f"CPU time (process tree): naive {med['cpu_naive_s']:.2f} s, "
        f"ours {med['cpu_ours_s']:.2f} s (medians)"
    )
    ratios = " / ".join(f"{p['ratio']:.2f}" for p in pairs)
    print(
        f"ratio per pair: {ratios}; median {med['ratio']:.2f}x (target >= 2.5x); "
        f"peak memory {peak:.0f} MiB ({'<' if peak < 1024 else '>='} 1 GiB)"
    )
    if args.json:
        print(json.dumps({"images": n, **med, "peak_mib": peak, "pairs": pairs}))


if __name__ == "__main__":
    main()
