"""SLAKE 1.0 (Liu et al. 2021): `train.json`, `validate.json`, `test.json`; English rows only.

A benchmark: QA rows go to `benchmark_qa` (qid is the SLAKE qid); `content_type` is mapped to
the VQA-RAD question types (raw value kept). Images (`imgs/<img_name>`) are optional; the image
folder (`xmlab1`) is the group id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radvqa_data.catalog import normalize
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.catalog.sources.common import clean, load_json_list
from radvqa_data.core.errors import InputError
from radvqa_data.core.splits import normalize_split

#: The split files SLAKE ships; `normalize_split` of the stem names the split.
FILES = ("train.json", "validate.json", "test.json")
CONTENT_TYPES = {
    "organ": "ORGAN", "position": "POS", "abnormality": "ABN", "modality": "MODALITY",
    "size": "SIZE", "plane": "PLANE", "quantity": "COUNT", "color": "COLOR", "shape": "ATTRIB",
    "kg": "OTHER",
}  # fmt: skip
EXPECTED = "a JSON list of SLAKE rows (qid, img_name, question, answer, q_lang, ...)"


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read the English SLAKE rows of every split file present."""
    present = [
        (name, normalize_split(Path(name).stem)) for name in FILES if (root / name).is_file()
    ]
    if not present:
        raise InputError(
            f"{root}: none of {', '.join(FILES)} here; expected the SLAKE 1.0 json files"
        )
    data = SourceData(meta={"files": [n for n, _ in present], "languages": "en"})
    per_image: dict[str, dict[str, Any]] = {}
    for name, split in present:
        for i, row in enumerate(load_json_list(root / name, EXPECTED)):
            if not isinstance(row, dict) or row.get("q_lang", "en") != "en":
                continue
            qid, image = clean(row.get("qid")), clean(row.get("img_name"))
            question, answer = clean(row.get("question")), str(row.get("answer", "")).strip()
            if not (qid and image and question and answer):
                data.issues.append(
                    Issue(f"{name}[{i}]", "bad_record", "needs qid, img_name, question, answer")
                )
                continue
            content = clean(row.get("content_type"))
            data.qa.append(
                {
                    "qid": qid, "image_id": image, "split": split, "question": question,
                    "answer": answer,
                    "answer_type": (clean(row.get("answer_type")) or "").lower() or None,
                    "question_type": CONTENT_TYPES.get(
                        (content or "").lower(), "OTHER" if content else None
                    ),
                    "question_type_raw": content, "phrase_type": None, "linked_id": None,
                    # the catalog's region vocabulary (Lung -> chest), raw value in extra
                    "organ": normalize.region(clean(row.get("location"))),
                    "modality": normalize.modality(clean(row.get("modality"))),
                    "extra": {
                        "base_type": row.get("base_type"), "triple": row.get("triple"),
                        "img_id": row.get("img_id"), "organ_raw": clean(row.get("location")),
                    },
                }
            )  # fmt: skip
            info = per_image.setdefault(
                image,
                {
                    "splits": set(),
                    "modality": clean(row.get("modality")),
                    "location": clean(row.get("location")),
                },
            )
            info["splits"].add(split)
    img_root = root / "imgs"
    for image, info in sorted(per_image.items()):
        path = img_root / image
        splits = sorted(info["splits"])
        data.images.append(
            SourceImage(
                image_id=image,
                image_path=path if path.is_file() else None,
                split=splits[0] if len(splits) == 1 else None,
                case_id=image.split("/")[0] if "/" in image else None,
                modality=normalize.modality(info["modality"]),
                modality_raw=info["modality"],
                organ=normalize.region(info["location"]),
                organ_raw=info["location"],
                licence="CC BY 4.0",  # dataset-wide
                extra={"qa_splits": splits},
                error=None
                if path.is_file()
                else f"no file imgs/{image} (SLAKE images are optional)",
            )
        )
    return data
