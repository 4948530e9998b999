"""A folder of DICOM files (pydicom): modality, body part, series/study ids, patient as group.

Each readable image is rendered once to an 8-bit PNG (rescale slope/intercept, the file's own
window centre/width or else the 0.5-99.5 percentile range, MONOCHROME1 inverted, the middle
frame of a multi-frame file) under `<catalog>.assets/<source>/`, and that PNG is the image the
later steps read; the DICOM path is kept in `extra.dicom_path`. A file pydicom cannot read, or
one without pixel data, is catalogued as `corrupt` with the reason.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from radvqa_data.catalog import normalize
from radvqa_data.catalog.source_records import Issue, SourceData, SourceImage
from radvqa_data.core.atomic import atomic_path
from radvqa_data.core.errors import InputError

DICOM_EXTS = {".dcm", ".dicom", ".ima", ""}


def _first(value: Any) -> float | None:
    """First number of a possibly multi-valued DICOM element."""
    if value is None:
        return None
    try:
        return float(
            value[0] if hasattr(value, "__len__") and not isinstance(value, str) else value
        )
    except (TypeError, ValueError, IndexError):
        return None


def render_png(ds: Any, out: Path) -> str:
    """Write the windowed 8-bit rendering of `ds` to `out` (atomically); returns the window used."""
    import numpy as np
    from PIL import Image

    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rgb = getattr(ds, "SamplesPerPixel", 1) == 3
    if frames > 1:
        arr = arr[frames // 2]
    if rgb:
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        window = "rgb"
    else:
        a = arr.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1) or 1) + float(
            getattr(ds, "RescaleIntercept", 0) or 0
        )
        centre, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
        if centre is not None and width and width > 1:
            lo, hi, window = centre - width / 2, centre + width / 2, f"C{centre:g}/W{width:g}"
        else:
            lo, hi = (float(v) for v in np.percentile(a, [0.5, 99.5]))
            window = "p0.5-p99.5"
        scaled = np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1) * 255
        if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
            scaled = 255 - scaled
        img = Image.fromarray(scaled.astype(np.uint8), "L")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    png = buf.getvalue()
    # Rewrite only when the rendering changed: an unchanged PNG keeps its mtime, so a rerun
    # reuses its cached probe instead of decoding it again.
    if not (out.is_file() and out.read_bytes() == png):
        with atomic_path(out) as tmp:
            tmp.write_bytes(png)
    return window


def _candidates(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; expected a folder of DICOM files")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in DICOM_EXTS and not p.name.startswith(".")
    )


def read(root: Path, *, source: str, assets: Path) -> SourceData:
    """Read every DICOM file under `root` and render each image to PNG under `assets`."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    data = SourceData(meta={"assets": str(assets)})
    base = root if root.is_dir() else root.parent
    for path in _candidates(root):
        rel = path.relative_to(base).as_posix()
        try:
            ds = pydicom.dcmread(path)
        except (
            InvalidDicomError,
            OSError,
            ValueError,
            EOFError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            reason = (
                f"unreadable DICOM: {exc}"
                if str(exc)
                else f"unreadable DICOM ({type(exc).__name__})"
            )
            data.issues.append(Issue(rel, "unreadable_dicom", reason))
            data.images.append(
                SourceImage(
                    image_id=rel,
                    image_path=None,
                    status="corrupt",
                    error=reason,
                    extra={"dicom_path": str(path)},
                )
            )
            continue
        laterality = ds.get("ImageLaterality") or ds.get("Laterality")
        # A LOCALIZER (CT scout/topogram, MR localizer) is a planning image: no modality or plane
        # question fits it (picture.IMAGE_KINDS); other kinds are left unstated.
        image_type = {str(v).upper() for v in (ds.get("ImageType") or [])}
        rec = SourceImage(
            image_id=rel,
            image_path=None,
            case_id=str(ds.get("PatientID") or "") or None,
            modality=normalize.modality(ds.get("Modality")),
            modality_raw=ds.get("Modality"),
            organ=normalize.region(ds.get("BodyPartExamined")),
            organ_raw=ds.get("BodyPartExamined"),
            laterality={"L": "left", "R": "right", "B": "bilateral"}.get(
                str(laterality or "").upper()
            ),
            age=str(ds.get("PatientAge") or "") or None,
            sex=str(ds.get("PatientSex") or "") or None,
            extra={
                "dicom_path": str(path),
                "study_uid": str(ds.get("StudyInstanceUID") or ""),
                "series_uid": str(ds.get("SeriesInstanceUID") or ""),
                "sop_uid": str(ds.get("SOPInstanceUID") or ""),
                "series_description": str(ds.get("SeriesDescription") or ""),
                **({"image_kind": "scout"} if "LOCALIZER" in image_type else {}),
            },
        )
        out = assets / f"{rel}.png"
        try:
            rec.extra["window"] = render_png(ds, out)
            rec.image_path = out
        except Exception as exc:  # pixel handlers raise many types; the run goes on
            rec.status, rec.error = "corrupt", f"no renderable pixel data: {exc}"
            data.issues.append(Issue(rel, "unreadable_dicom", rec.error))
        if ds.get("StudyDescription"):
            rec.texts["study_description"] = str(ds.StudyDescription)
        data.images.append(rec)
    return data
