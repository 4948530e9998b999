"""Re-cut catalogs/sample from the full datasets (run from the repo root).

    python catalogs/sample/make_sample.py ../shared/data

Whole MedPix 2.0 dev/test cases (listed in CASES) with their PNGs, and the VQA-RAD images whose
synpic number is within 2 of a chosen MedPix image, with their QA rows. Files keep the
publishers' layout and are only filtered.
"""

import json
import os
import shutil
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
OUT = "catalogs/sample"
CASES = [
    "MPX1007", "MPX2028", "MPX2388", "MPX2515", "MPX1694", "MPX2096", "MPX1592",
    "MPX1779", "MPX1875", "MPX1884", "MPX1233", "MPX1346", "MPX2041",
]  # fmt: skip


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=4, ensure_ascii=False)


def main():
    mp, out = f"{SRC}/medpix2", f"{OUT}/medpix2"
    for sub in ("medpix2", "vqa-rad"):
        shutil.rmtree(f"{OUT}/{sub}", ignore_errors=True)
    os.makedirs(f"{out}/images")
    os.makedirs(f"{out}/splitted_dataset")
    keep = set()
    for split in ("dev", "test"):
        for kind in ("descriptions", "data"):
            with open(f"{mp}/splitted_dataset/{kind}_{split}.jsonl", encoding="utf-8") as fh:
                lines = [line for line in fh if json.loads(line)["U_id"] in CASES]
            with open(f"{out}/splitted_dataset/{kind}_{split}.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(lines)
            if kind == "descriptions":
                keep |= {json.loads(line)["image"] for line in lines}
    with open(f"{mp}/Descriptions.json", encoding="utf-8") as fh:
        desc = [d for d in json.load(fh) if d["image"] in keep]
    dump(desc, f"{out}/Descriptions.json")
    with open(f"{mp}/Case_topic.json", encoding="utf-8") as fh:
        dump([c for c in json.load(fh) if c["U_id"] in CASES], f"{out}/Case_topic.json")
    for image in keep:
        shutil.copy(f"{mp}/images/{image}.png", f"{out}/images/")

    vq, vout = f"{SRC}/vqa-rad", f"{OUT}/vqa-rad"
    folder = "VQA_RAD Image Folder"
    nums = {int(i.split("synpic")[1]) for i in keep}
    files = sorted(
        f for f in os.listdir(f"{vq}/{folder}") if any(abs(int(f[6:-4]) - n) <= 2 for n in nums)
    )
    os.makedirs(f"{vout}/{folder}")
    for name in files:
        shutil.copy(f"{vq}/{folder}/{name}", f"{vout}/{folder}/")
    with open(f"{vq}/VQA_RAD Dataset Public.json", encoding="utf-8") as fh:
        rows = [r for r in json.load(fh) if r["image_name"] in files]
    dump(rows, f"{vout}/VQA_RAD Dataset Public.json")
    print(f"{len(desc)} MedPix records, {len(files)} VQA-RAD images, {len(rows)} QA rows")


if __name__ == "__main__":
    main()
