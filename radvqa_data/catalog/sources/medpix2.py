"""MedPix 2.0 (Siragusa et al. 2024) as published: Case_topic.json, Descriptions.json, images/.

Modality: the record's `Type` (CT / MR) gives the normalized modality; `Description.Modality`
(``CT - noncontrast``, ``MR - T2 weighted``, ``MRA - MR Angiography/Venography``) is kept as
`modality_raw`. Region: the per-image ACR code, `Location` and `Location Category` together, with
the caption's anatomy choosing among what they allow (`catalog.regions`); `region_raw` keeps
`Location`, and `extra` records `region_options` (what the metadata allows) and `region_status`
(metadata | caption | undecided | conflict). `extra.image_kind` says whether the file is one scan
or a montage, 3D rendering, CT scout, photograph, drawing or pathology picture, and
`extra.caption_contradicts` lists the fields (modality, plane) the caption contradicts
(`catalog.picture`); the modality and plane columns keep what the record states. Split:
`splitted_dataset/descriptions_{train,dev,test}.jsonl` (dev -> validation) when present. A
record without its PNG is catalogued with status `missing`.
"""

from __future__ import annotations

from pathlib import Path

from radvqa_data.catalog import normalize, picture, regions
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.catalog.sources.common import clean, iter_jsonl, load_json_list, require_file
from radvqa_data.core.splits import normalize_split

IMAGE_EXTS = (".png", ".jpg", ".jpeg")

# Case_topic.json fields -> texts.field. Why both Case and Topic: the case texts describe this
# patient, the topic discussion is the textbook background of the diagnosis.
CASE_FIELDS = {
    ("Case", "Title"): "title",
    ("Case", "History"): "history",
    ("Case", "Exam"): "exam",
    ("Case", "Findings"): "findings",
    ("Case", "Differential Diagnosis"): "differential",
    ("Case", "Case Diagnosis"): "diagnosis",
    ("Topic", "Disease Discussion"): "discussion",
}


def _splits(root: Path) -> dict[str, str]:
    """image id -> split from the official split files (absent folder: no splits)."""
    out: dict[str, str] = {}
    folder = root / "splitted_dataset"
    for raw in ("train", "dev", "test"):  # descriptions_<raw>.jsonl
        name = normalize_split(raw)
        path = folder / f"descriptions_{raw}.jsonl"
        if not path.is_file():
            continue
        for _, obj in iter_jsonl(path, "one MedPix 2.0 description object per line"):
            image = clean(obj.get("image"))
            if image:
                out[image] = name
    return out


def _case_texts(
    cases: list[object], issues: list[Issue]
) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """U_id -> (texts, topic metadata)."""
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not clean(case.get("U_id")):
            issues.append(Issue(f"Case_topic.json[{i}]", "bad_record", "case without a U_id"))
            continue
        texts: dict[str, str] = {}
        for (part, key), field in CASE_FIELDS.items():
            block = case.get(part) or {}
            value = clean(block.get(key)) if isinstance(block, dict) else None
            if value:
                texts[field] = value
        topic = case.get("Topic") if isinstance(case.get("Topic"), dict) else {}
        meta = {
            k: v
            for k, v in {
                "acr_code": clean(topic.get("ACR Code")),
                "category": clean(topic.get("Category")),
            }.items()
            if v
        }
        out[str(case["U_id"]).strip()] = (texts, meta)
    return out


def _image_files(folder: Path) -> dict[str, Path]:
    """image id -> file in images/ (one listing instead of a stat per record)."""
    if not folder.is_dir():
        return {}
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_EXTS:
            out.setdefault(p.stem, p)
    return out


def image_files(root: Path) -> list[Path]:
    """The PNGs under images/ (listed before the JSON is parsed, so decoding can start early)."""
    return sorted(_image_files(root / "images").values())


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read a MedPix 2.0 folder (as published) into image records."""
    desc_path = require_file(
        root / "Descriptions.json", "MedPix 2.0 Descriptions.json (a JSON list of image records)"
    )
    case_path = require_file(
        root / "Case_topic.json", "MedPix 2.0 Case_topic.json (a JSON list of cases)"
    )
    descriptions = load_json_list(desc_path, "a JSON list of MedPix image records")
    issues: list[Issue] = []
    cases = _case_texts(load_json_list(case_path, "a JSON list of MedPix cases"), issues)
    splits = _splits(root)
    files = _image_files(root / "images")
    data = SourceData(
        issues=issues,
        meta={
            "files": [desc_path.name, case_path.name],
            "splits_from": "splitted_dataset" if splits else None,
        },
    )
    seen: set[str] = set()
    for i, rec in enumerate(descriptions):
        image_id = clean(rec.get("image")) if isinstance(rec, dict) else None
        if not image_id:
            issues.append(
                Issue(f"Descriptions.json[{i}]", "bad_record", "record without an image id")
            )
            continue
        if image_id in seen:
            issues.append(
                Issue(image_id, "duplicate_record", f"Descriptions.json[{i}] repeats this image id")
            )
            continue
        seen.add(image_id)
        desc = rec.get("Description") if isinstance(rec.get("Description"), dict) else {}
        uid = clean(rec.get("U_id"))
        case_texts, topic = cases.get(uid or "", ({}, {}))
        texts = dict(case_texts)
        caption = clean(desc.get("Caption"))
        if caption:
            texts["caption"] = caption
        modality_raw, plane_raw = clean(desc.get("Modality")), clean(desc.get("Plane"))
        modality = normalize.modality(clean(rec.get("Type"))) or normalize.modality(modality_raw)
        location, category = clean(rec.get("Location")), clean(rec.get("Location Category"))
        plane = normalize.plane(plane_raw, modality)
        acr = clean(desc.get("ACR Codes"))
        region = regions.resolve(regions.medpix_regions(acr, location, category), caption)
        extra = {
            "type": clean(rec.get("Type")),
            "location_category": category,
            "acr_codes": acr,
            "figure_part": clean(desc.get("Figure Part")),
            "synpic": image_id.split("_", 1)[1] if "_" in image_id else None,
            "image_kind": picture.image_kind(plane_raw, modality_raw, modality, caption),
            "caption_contradicts": picture.caption_contradicts(modality, plane, caption) or None,
            "region_options": list(region.options) if region.options is not None else None,
            "region_status": region.status,
            **{f"topic_{k}": v for k, v in topic.items()},
        }
        path = files.get(image_id)
        data.images.append(
            SourceImage(
                image_id=image_id,
                image_path=path,
                split=splits.get(image_id),
                case_id=uid,
                modality=modality,
                modality_raw=modality_raw,
                plane=plane,
                plane_raw=plane_raw,
                organ=region.region,
                organ_raw=location,
                laterality=normalize.laterality(caption),
                age=clean(desc.get("Age")),
                sex=clean(desc.get("Sex")),
                extra={k: v for k, v in extra.items() if v is not None},
                texts=texts,
                error=None if path else f"no file images/{image_id}.png",
            )
        )
    return data
