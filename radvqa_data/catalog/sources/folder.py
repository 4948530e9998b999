"""Any folder of images, optionally with `captions.csv` or `captions.jsonl`
(`image,caption[,split]`).

This is how a user brings their own data. Image ids are paths relative to the folder (POSIX
slashes). A caption row naming a file that is not there is catalogued as `missing`. Modality and
plane come from the caption's words in their role (`catalog.caption_meta`).
"""

from __future__ import annotations

from pathlib import Path

from radvqa_data.catalog import caption_meta, normalize
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.catalog.sources.common import iter_jsonl, read_csv
from radvqa_data.core.errors import InputError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
EXPECTED_CSV = "a CSV with columns image,caption[,split] (image paths relative to the folder)"
EXPECTED_JSONL = 'one JSON object per line: {"image": ..., "caption": ..., "split": ...}'


def _captions(root: Path, issues: list[Issue]) -> dict[str, tuple[str, str | None]]:
    """relative image path -> (caption, split) from captions.csv or captions.jsonl."""
    out: dict[str, tuple[str, str | None]] = {}
    csv_path, jsonl_path = root / "captions.csv", root / "captions.jsonl"
    if csv_path.is_file():
        rows = ((n, r) for n, r in read_csv(csv_path, ["image", "caption"], EXPECTED_CSV))
        name = csv_path.name
    elif jsonl_path.is_file():
        rows = iter_jsonl(jsonl_path, EXPECTED_JSONL)
        name = jsonl_path.name
    else:
        return out
    for lineno, row in rows:
        image, caption = str(row.get("image") or "").strip(), str(row.get("caption") or "").strip()
        if not image:
            issues.append(Issue(f"{name}:{lineno}", "bad_record", "row without an image path"))
            continue
        out[Path(image).as_posix()] = (caption, normalize.split(row.get("split")))
    return out


def image_files(root: Path) -> list[Path]:
    """Every image file under the folder (decoding starts while the captions file is read)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Catalog every image file under `root` plus every image the captions file names."""
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; expected a folder of images")
    data = SourceData()
    captions = _captions(root, data.issues)
    files = {p.relative_to(root).as_posix(): p for p in image_files(root)}
    data.meta = {"captions": bool(captions), "files": len(files)}
    for rel in sorted(set(files) | set(captions)):
        caption, split = captions.get(rel, ("", None))
        path = files.get(rel) or ((root / rel) if (root / rel).is_file() else None)
        modality = caption_meta.modality_vote(caption, [])
        plane = caption_meta.caption_plane(caption)
        data.images.append(
            SourceImage(
                image_id=rel,
                image_path=path,
                split=split,
                case_id=str(Path(rel).parent) if "/" in rel else None,
                modality=modality.value,
                plane=plane.value,
                plane_raw=plane.raw,
                laterality=normalize.laterality(caption),
                extra={"modality_status": modality.status, "plane_status": plane.status}
                if caption
                else {},
                texts={"caption": caption} if caption else {},
                error=None if path else f"no file {rel} (named in the captions file)",
            )
        )
    return data
