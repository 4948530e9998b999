"""VQA-RAD (Lau et al. 2018), the OSF release: `VQA_RAD Dataset Public.json` +
`VQA_RAD Image Folder/`.

A benchmark: its QA rows go to `benchmark_qa` (split from `phrase_type`: freeform/para -> train,
test_* -> test). Images are the union of the image folder and the images the JSON names.
An image's split is the split of its questions when they agree, else NULL (202 of the 315
images have both train and test questions; `benchmark_qa.split` is the authority and
`images.extra.qa_splits` lists both). Modality: only where an open MODALITY question's answer
states it (63 of the 315 images); that answer is `modality_raw`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from radvqa_data.catalog import normalize
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.catalog.sources.common import clean, load_json_list
from radvqa_data.core.answers import OPEN
from radvqa_data.core.errors import InputError

JSON_NAME = "VQA_RAD Dataset Public.json"
IMAGE_DIR = "VQA_RAD Image Folder"
LICENCE = "CC0 1.0"  # the OSF release's licence (dataset-wide)
EXPECTED = "a JSON list of VQA-RAD rows (qid, image_name, question, answer, phrase_type, ...)"

# Obvious typos in the published question_type values.
QTYPE_FIXES = {"ATRIB": "ATTRIB", "PRSE": "PRES", "ABNORMALITY": "ABN", "POSITION": "POS"}
_CASE_ID = re.compile(r"[?&]id=([0-9a-fA-F-]+)")


def question_type(raw: Any) -> str | None:
    """First type of a comma list, uppercased, typos fixed (``PRES, POS`` -> ``PRES``)."""
    text = clean(raw)
    if not text:
        return None
    first = text.split(",")[0].strip().upper()
    return QTYPE_FIXES.get(first, first)


def answer_type(raw: Any) -> str | None:
    """``CLOSED `` -> ``closed``."""
    text = clean(raw)
    return text.lower() if text else None


def split_of(phrase_type: str | None) -> str | None:
    """freeform / para -> train; test_freeform / test_para -> test."""
    if not phrase_type:
        return None
    return "test" if phrase_type.lower().startswith("test") else "train"


def _find_json(root: Path) -> Path:
    path = root / JSON_NAME
    if path.is_file():
        return path
    found = sorted(p for p in root.glob("*.json"))
    if len(found) == 1:
        return found[0]
    raise InputError(f"{root}: no '{JSON_NAME}' here; expected the VQA-RAD OSF release folder")


def image_files(root: Path) -> list[Path]:
    """The files of the image folder (listed before the JSON is parsed, so decoding can start
    early)."""
    folder = root / IMAGE_DIR
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read the VQA-RAD release folder into images and benchmark QA rows."""
    json_path = _find_json(root)
    rows = load_json_list(json_path, EXPECTED)
    image_dir = root / IMAGE_DIR
    data = SourceData(meta={"files": [json_path.name]})
    per_image: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            data.issues.append(Issue(f"{json_path.name}[{i}]", "bad_record", "not a JSON object"))
            continue
        qid, image = clean(row.get("qid")), clean(row.get("image_name"))
        # not `clean` for the answer: "None" and "N/A" are real VQA-RAD answers
        question, answer = clean(row.get("question")), str(row.get("answer", "")).strip() or None
        split = split_of(clean(row.get("phrase_type")))
        if not (qid and image and question and answer is not None and split):
            data.issues.append(
                Issue(
                    f"{json_path.name}[{i}]",
                    "bad_record",
                    "needs qid, image_name, question, answer, phrase_type",
                )
            )
            continue
        if qid in seen:
            data.issues.append(
                Issue(qid, "duplicate_record", f"{json_path.name}[{i}] repeats qid {qid}")
            )
            continue
        seen.add(qid)
        extra = {
            k: row[k]
            for k in (
                "image_case_url",
                "evaluation",
                "question_rephrase",
                "question_relation",
                "question_frame",
            )
            if clean(row.get(k))
        }
        data.qa.append(
            {
                "qid": qid,
                "image_id": image,
                "split": split,
                "question": question,
                "answer": answer,
                "answer_type": answer_type(row.get("answer_type")),
                "question_type": question_type(row.get("question_type")),
                "question_type_raw": clean(row.get("question_type")),
                "phrase_type": clean(row.get("phrase_type")),
                "linked_id": clean(row.get("qid_linked_id")),
                # the catalog's region vocabulary (ABD -> abdomen), as `images.organ` says
                # it: one name for an organ in catalog, eval and diag; the raw value in extra
                "organ": normalize.region(clean(row.get("image_organ"))),
                "modality": None,
                "extra": {**extra, "organ_raw": clean(row.get("image_organ"))},
            }
        )
        info = per_image.setdefault(
            image, {"splits": set(), "organ": None, "url": None, "modality": []}
        )
        if data.qa[-1]["question_type"] == "MODALITY" and data.qa[-1]["answer_type"] == OPEN:
            info["modality"].append(answer)
        info["splits"].add(split)
        info["organ"] = info["organ"] or clean(row.get("image_organ"))
        info["url"] = info["url"] or clean(row.get("image_case_url"))
    files = {p.name: p for p in image_dir.iterdir() if p.is_file()} if image_dir.is_dir() else {}
    for name in sorted(set(per_image) | set(files)):
        info = per_image.get(name, {"splits": set(), "organ": None, "url": None, "modality": []})
        # The image's modality, where an open MODALITY question states it ("CT", "MRI - FLAIR").
        stated = [(normalize.modality(a), a) for a in info["modality"]]
        stated = [(m, a) for m, a in stated if m not in (None, "other")]
        match = _CASE_ID.search(info["url"] or "")
        splits = sorted(info["splits"])
        data.images.append(
            SourceImage(
                image_id=name,
                image_path=files.get(name),
                split=splits[0] if len(splits) == 1 else None,
                case_id=match.group(1) if match else None,
                modality=stated[0][0] if stated else None,
                modality_raw=stated[0][1] if stated else None,
                organ=normalize.region(info["organ"]),
                licence=LICENCE,
                organ_raw=info["organ"],
                extra={
                    "qa_splits": splits,
                    "synpic": name.rsplit(".", 1)[0],
                    "case_url": info["url"],
                },
                error=None if name in files else f"no file '{IMAGE_DIR}/{name}'",
            )
        )
    return data
