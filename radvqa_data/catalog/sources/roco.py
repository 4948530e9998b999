"""ROCO v1 (Pelka et al. 2018), layout `data/<split>/radiology/`: captions, cuis, keywords,
semtypes, licences, dlinks (each optional except captions), images optional (`images/` beside).

Group id: the PMC article id (from licences.txt or dlinks.txt), so figures of one article stay
together. Modality and plane: from the caption words in their role and the concept codes
(`catalog.caption_meta`); `extra.modality_status` / `extra.plane_status` say how each was reached.
"""

from __future__ import annotations

import re
from pathlib import Path

from radvqa_data.catalog import caption_meta, normalize
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.catalog.sources.common import read_csv
from radvqa_data.core.errors import InputError
from radvqa_data.core.splits import normalize_split

#: Split folder names ROCO ships (or users rename to); `normalize_split` names the split.
SPLIT_DIRS = ("train", "validation", "val", "test")
_PMC = re.compile(r"(PMC\d+)")


def _split_dirs(root: Path) -> list[tuple[str, Path]]:
    found = []
    for base in (root / "data", root):
        for raw in SPLIT_DIRS:
            d = base / raw / "radiology"
            if (d / "captions.txt").is_file():
                found.append((normalize_split(raw), d))
        if found:
            return found
    if (root / "captions.txt").is_file():  # pointed at one radiology folder
        return [(normalize_split(root.parent.name), root)]
    raise InputError(
        f"{root}: no data/<split>/radiology/captions.txt here; expected the ROCO v1 layout"
    )


def _tab_lines(path: Path, issues: list[Issue]) -> dict[str, list[str]]:
    """ID -> the other tab-separated fields (empty fields dropped) of a ROCO .txt file."""
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].startswith("ROCO_"):
                issues.append(
                    Issue(f"{path.name}:{lineno}", "bad_record", "expected 'ROCO_ID<TAB>value'")
                )
                continue
            out[parts[0].strip()] = [p.strip() for p in parts[1:] if p.strip()]
    return out


def _images_dir(folder: Path) -> dict[str, Path]:
    d = folder / "images"
    return {p.name: p for p in d.iterdir() if p.is_file()} if d.is_dir() else {}


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read the ROCO v1 text files (and images when present) of every split found."""
    data = SourceData(meta={"splits": {}})
    for split, folder in _split_dirs(root):
        caps = _tab_lines(folder / "captions.txt", data.issues)
        cuis = _tab_lines(folder / "cuis.txt", data.issues)
        keywords = _tab_lines(folder / "keywords.txt", data.issues)
        semtypes = _tab_lines(folder / "semtypes.txt", data.issues)
        links = _tab_lines(folder / "dlinks.txt", data.issues)
        licences: dict[str, tuple[str, str]] = {}
        lic_path = folder / "licences.txt"
        if lic_path.is_file():
            for _, row in read_csv(
                lic_path, ["ROCO_ID", "PMC_ID", "CC"], "ROCO licences.txt (ROCO_ID,PMC_ID,CC)"
            ):
                licences[row["ROCO_ID"].strip()] = (row["PMC_ID"].strip(), row["CC"].strip())
        files = _images_dir(folder)
        data.meta["splits"][split] = {
            "folder": str(folder),
            "captions": len(caps),
            "images_dir": bool(files),
        }
        for rid, fields in caps.items():
            caption = " ".join(fields)
            pmc_file, licence = licences.get(rid, ("", None))
            link = links.get(rid, [])
            pmc = _PMC.search(pmc_file or " ".join(link))
            path = (
                files.get(f"{rid}.jpg")
                or files.get(f"{rid}.png")
                or (files.get(pmc_file) if pmc_file else None)
            )
            img_cuis = cuis.get(rid, [])
            cui_modality = next((c for c in img_cuis if c in normalize.MODALITY_CUIS), None)
            plane = caption_meta.caption_plane(caption)
            modality = caption_meta.modality_vote(caption, img_cuis)
            texts = {"caption": caption} if caption else {}
            if keywords.get(rid):
                texts["keywords"] = " ".join(keywords[rid])
            st = semtypes.get(rid, [])
            data.images.append(
                SourceImage(
                    image_id=rid,
                    image_path=path,
                    split=split,
                    case_id=pmc.group(1) if pmc else None,
                    modality=modality.value,
                    modality_raw=cui_modality,
                    plane=plane.value,
                    plane_raw=plane.raw,
                    laterality=normalize.laterality(caption),
                    licence=licence,
                    extra={
                        k: v
                        for k, v in {
                            "pmc_file": pmc_file or None,
                            "file": link[-1] if len(link) > 1 else None,
                            "semtypes": st[0::2] or None,
                            "modality_status": modality.status,
                            "modality_words": modality.raw,
                            "plane_status": plane.status,
                        }.items()
                        if v
                    },  # fmt: skip
                    texts=texts,
                    concepts=[(c, None, "cuis.txt") for c in img_cuis],
                    error=None
                    if path
                    else (
                        "no image file (ROCO ships download links; put images/ beside captions.txt)"
                    ),
                )
            )
    return data
