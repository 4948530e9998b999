"""ROCOv2 (Rückert et al. 2024): `<split>_captions.csv` (ID,Caption), `<split>_concepts.csv`
(ID,CUIs `;`-separated), `cui_mapping.csv` (CUI,Canonical name); images optional.

Modality and plane: the caption words in their role and the concept codes (C0040405 CT, C1306645
plain radiograph, C0024485 MRI, ...) vote (`catalog.caption_meta`); `extra` says how.
"""

from __future__ import annotations

from pathlib import Path

from radvqa_data.catalog import caption_meta, normalize
from radvqa_data.catalog.source_records import SourceData, SourceImage
from radvqa_data.catalog.sources.common import read_csv
from radvqa_data.core.errors import InputError
from radvqa_data.core.splits import normalize_split

#: `<raw>_captions.csv` prefixes ROCOv2 ships (or users rename to); `normalize_split` names them.
SPLIT_FILES = ("train", "valid", "validation", "val", "test")
IMAGE_EXTS = (".jpg", ".png", ".jpeg")


def _image_index(root: Path, raw: str) -> dict[str, Path]:
    """Image stem -> file, from the usual places a user unpacks ROCOv2 images."""
    out: dict[str, Path] = {}
    for d in (root / raw, root / f"{raw}_images", root / "images" / raw, root / "images"):
        if d.is_dir():
            for p in d.iterdir():
                if p.suffix.lower() in IMAGE_EXTS:
                    out.setdefault(p.stem, p)
    return out


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read the ROCOv2 CSVs of every split present."""
    found = [
        (raw, normalize_split(raw))
        for raw in SPLIT_FILES
        if (root / f"{raw}_captions.csv").is_file()
    ]
    if not found:
        raise InputError(
            f"{root}: no <split>_captions.csv here; expected the ROCOv2 CSVs "
            "(e.g. test_captions.csv)"
        )
    data = SourceData(meta={"files": []})
    mapping = root / "cui_mapping.csv"
    if mapping.is_file():
        for _, row in read_csv(
            mapping, ["CUI", "Canonical name"], "ROCOv2 cui_mapping.csv (CUI,Canonical name)"
        ):
            data.cui_names[row["CUI"].strip()] = row["Canonical name"].strip()
        data.meta["files"].append(mapping.name)
    for raw, split in found:
        cap_path, con_path = root / f"{raw}_captions.csv", root / f"{raw}_concepts.csv"
        concepts: dict[str, list[str]] = {}
        if con_path.is_file():
            for _, row in read_csv(con_path, ["ID", "CUIs"], "ROCOv2 concepts CSV (ID,CUIs)"):
                concepts[row["ID"].strip()] = [
                    c.strip() for c in (row["CUIs"] or "").split(";") if c.strip()
                ]
            data.meta["files"].append(con_path.name)
        images = _image_index(root, raw)
        data.meta["files"].append(cap_path.name)
        for _, row in read_csv(cap_path, ["ID", "Caption"], "ROCOv2 captions CSV (ID,Caption)"):
            rid, caption = row["ID"].strip(), (row["Caption"] or "").strip()
            cuis = concepts.get(rid, [])
            path = images.get(rid)
            modality = caption_meta.modality_vote(caption, cuis)
            plane = caption_meta.caption_plane(caption)
            data.images.append(
                SourceImage(
                    image_id=rid,
                    image_path=path,
                    split=split,
                    modality=modality.value,
                    modality_raw=next((c for c in cuis if c in normalize.MODALITY_CUIS), None),
                    plane=plane.value,
                    plane_raw=plane.raw,
                    laterality=normalize.laterality(caption),
                    extra={
                        "modality_status": modality.status,
                        "modality_words": modality.raw,
                        "plane_status": plane.status,
                    },
                    licence="CC BY-NC-SA 4.0",  # dataset-wide (no per-image licence in ROCOv2)
                    texts={"caption": caption} if caption else {},
                    concepts=[(c, None, con_path.name) for c in cuis],
                    error=None if path else f"no image file for {rid} (images are optional)",
                )
            )
    return data
