"""Building a FiftyOne review dataset for a whole synth run: ours vs one `add_sample` per image.

Times, in one process and one FiftyOne database (started before the clock):

- ``records``: shards + catalog -> one record per image (`radvqa_data.review.review_records`);
- ``build``: `build_dataset` into a new dataset (batched `add_samples`);
- ``baseline``: the naive loop, one `dataset.add_sample` per image (`build_naive`);
- ``rerun``: `build_dataset` again on the same records (nothing changed: nothing written);
- ``rerun_changed``: after 1% of the images changed (one row dropped from each);
- ``pull``: `review pull` of a dataset with 1% of the rows tagged.

For the full MedPix 2.0 (22,230 rows on 2,027 images): build the catalog from the full image
folder (medpix2/images + medpix2-train-256, as ../shared/data/medpix2-train-256/README.md shows),
run entities and synth, then

    python bench/review.py --shards FULL/shards --catalog FULL/catalog.duckdb

FiftyOne's database lives under --db (a temporary folder by default), tracking is off.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", type=Path, required=True)
    ap.add_argument("--catalog", type=Path, required=True)
    ap.add_argument("--db", type=Path, default=None, help="FiftyOne database folder")
    args = ap.parse_args()
    os.environ["FIFTYONE_DATABASE_DIR"] = str(args.db or Path(tempfile.mkdtemp()) / "db")

    from radvqa_data.review.dataset import build_dataset, build_naive
    from radvqa_data.review.fo import fiftyone
    from radvqa_data.review.review_records import read_rows, review_records
    from radvqa_data.review.verdicts import pull

    t = time.perf_counter()
    fo = fiftyone()
    fo.list_datasets()
    startup = time.perf_counter() - t
    for name in ("bench-ours", "bench-naive"):
        if fo.dataset_exists(name):
            fo.delete_dataset(name)

    t = time.perf_counter()
    rows = read_rows(args.shards)
    recs = review_records(rows, args.catalog)
    t_records = time.perf_counter() - t
    n_labels = sum(len(r["qa"]) for r in recs.images)

    t = time.perf_counter()
    build_dataset(recs, "bench-ours", progress=False)
    t_build = time.perf_counter() - t

    t = time.perf_counter()
    build_naive(recs, "bench-naive")
    t_naive = time.perf_counter() - t

    t = time.perf_counter()
    again = build_dataset(recs, "bench-ours", progress=False)
    t_rerun = time.perf_counter() - t
    assert again["added"] == again["updated"] == 0, again

    changed = rows.filter(
        ~rows["id"].is_in([r["qa"][0]["row_id"] for r in recs.images[::100] if len(r["qa"]) > 1])
    )
    recs2 = review_records(changed, args.catalog)
    t = time.perf_counter()
    c = build_dataset(recs2, "bench-ours", progress=False)
    t_changed = time.perf_counter() - t

    ds = fo.load_dataset("bench-ours")
    view = ds.take(max(1, len(ds) // 100), seed=0)
    view.tag_labels("reject", label_fields="qa")
    t = time.perf_counter()
    pulled = pull("bench-ours", Path(tempfile.mkdtemp()) / "decisions.parquet")
    t_pull = time.perf_counter() - t

    print(f"database start-up (not timed below): {startup:.1f} s")
    print(
        f"rows {rows.height:,}, images {len(recs.images):,}, labels {n_labels:,}; "
        f"left out {recs.rows_without_image} rows on {recs.no_image_file} images without a file"
    )
    print(f"records (shards + catalog):       {t_records:6.2f} s")
    print(f"build, batched add_samples:       {t_build:6.2f} s")
    print(f"baseline, add_sample per image:   {t_naive:6.2f} s")
    print(f"ratio baseline / ours:            {t_naive / t_build:6.2f} x")
    print(f"ours incl. records:               {t_records + t_build:6.2f} s")
    print(f"rerun, nothing changed:           {t_rerun:6.2f} s")
    print(f"rerun, {c['updated']} images changed:       {t_changed:6.2f} s  ({c})")
    print(f"pull ({pulled['decisions']} decisions):           {t_pull:6.2f} s")


if __name__ == "__main__":
    main()
