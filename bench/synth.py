"""Rules synth throughput and peak memory on the whole real MedPix 2.0 catalog.

    .venv/bin/python bench/synth.py [--data ../shared/data] [--catalog FILE]

Builds a catalog of MedPix 2.0 (all 2,050 records; missing PNGs allowed) with entities for the
texts the rules read (captions, case findings) unless --catalog is given, then runs `synth` in
fresh processes at two sizes (--small images and all), each twice, in the same run:
- ours: the streaming driver (shards of 256 images: memory holds one shard);
- baseline: the same code with one shard holding every image (collect everything, then write).
Prints rows/s (kept + rejected rows over wall time of the synth call, imports excluded), CPU
seconds and peak RSS. Targets: > 5,000 rows/s; ours' peak memory about the same at both sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, resource, sys, time


def peak_mb():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork+exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.driver import run_synth
from radvqa_data.synth.rules.generator import RulesGenerator
cat, out, limit, shard = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0, c0 = time.perf_counter(), time.process_time()
s = run_synth(cat, out,
              SynthConfig(allow_missing_images=True, limit=limit or None, shard_size=shard),
              RulesGenerator(0), progress=False)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rows = s.kept + sum(s.rejected.values())
print(json.dumps({"images": s.images, "rows": rows, "kept": s.kept, "wall": wall, "cpu": cpu,
                  "peak_rss_mb": peak_mb()}))
"""


def build_catalog(data: Path, where: Path) -> Path:
    from radvqa_data.catalog.ingest import add_source
    from radvqa_data.entities.run import run_entities
    from radvqa_data.synth.rules.generator import RulesGenerator

    cat = where / "medpix.duckdb"
    add_source(cat, "medpix2", data / "medpix2", progress=False)
    # only the texts the rules read
    run_entities(cat, fields=list(RulesGenerator.text_fields), progress=False)
    return cat


def run(cat: Path, out: Path, limit: int, shard: int) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(cat), str(out), str(limit), str(shard)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", type=Path, default=Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data"))
    )
    ap.add_argument("--catalog", type=Path, default=None)
    ap.add_argument("--small", type=int, default=500, help="images in the small run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cat = args.catalog or build_catalog(args.data, tmp)
        print(f"catalog {cat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'run':<34}{'images':>7}{'rows':>8}{'rows/s':>9}{'CPU s':>7}{'peak RSS MB':>12}")
        for label, shard in (
            ("ours (streaming, 256/shard)", 256),
            ("baseline (one shard, all in memory)", 10**9),
        ):
            for limit in (args.small, 0):
                r = run(cat, tmp / f"out-{shard}-{limit}", limit, shard)
                print(
                    f"{label:<34}{r['images']:>7,}{r['rows']:>8,}{r['rows'] / r['wall']:>9,.0f}"
                    f"{r['cpu']:>7.1f}{r['peak_rss_mb']:>12.0f}   "
                    f"(CPU-bound rate {r['rows'] / r['cpu']:,.0f} rows/s)"
                )
        print(
            f"load average now {os.getloadavg()[0]:.1f}: wall rates share the CPUs with other jobs"
        )


if __name__ == "__main__":
    main()
