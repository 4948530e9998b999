"""What one image file shows, checked against its own record: the kind of picture, and whether
the caption contradicts the stated modality or plane.

A question about modality or plane is only true of a single scan: a montage of slices, a 3D
rendering, a CT scout (a projection the scanner makes for planning), a photograph, a drawing or
a pathology picture has no one modality and plane to ask about. And a record whose caption
describes another modality or plane than its metadata describes some other picture, or has one
of the two wrong: neither can be trusted for a question.
"""

from __future__ import annotations

import re

from radvqa_data.catalog.normalize import PROJECTION_PLANES, plane

#: What one image file shows (`images.extra.image_kind`); the image gold set uses the same names.
IMAGE_KINDS = ("scan", "montage", "3d", "scout", "photograph", "drawing", "pathology")
_KIND_OF_PLANE = {
    "multiple or montage": "montage",
    "3d reconstruction": "3d",
    "photograph": "photograph",
    "gross pathology": "pathology",
    "drawing": "drawing",
}
_KIND_OF_MODALITY = (("montage", "montage"), ("drawing", "drawing"), ("virtual colonoscopy", "3d"))
_SCOUT_WORDS = re.compile(r"\b(scout|scanogram|topogram|localizer|localiser)\b", re.I)


def image_kind(
    plane_raw: str | None,
    modality_raw: str | None,
    modality: str | None,
    caption: str | None = None,
) -> str:
    """The kind of picture (`IMAGE_KINDS`) a record's raw plane, modality and caption describe.

    MedPix names them in `Plane` ("Multiple or Montage", "3D Reconstruction", "Photograph",
    "Gross Pathology", "Drawing") or `Modality` ("CT - Montage", "Drawing", "Virtual
    Colonoscopy"). A CT "frontal"/"lateral"/"AP"/"PA" view is a scout, as is a CT whose caption
    calls it a scout, scanogram, topogram or localizer (an MR localizer is a real slice).
    """
    kind = _KIND_OF_PLANE.get(str(plane_raw or "").strip().lower())
    if kind:
        return kind
    raw_mod = str(modality_raw or "").lower()
    for word, name in _KIND_OF_MODALITY:
        if word in raw_mod:
            return name
    if modality == "CT" and (
        plane(plane_raw) in PROJECTION_PLANES or _SCOUT_WORDS.search(caption or "")
    ):
        return "scout"
    return "scan"


# Names a caption uses for the modality of its image, and technique words only one of CT and MR
# has: an MR sequence or weighting in a CT caption cannot describe that CT ("Axial CT T2 Fat
# Saturation" is an MR image filed as CT). Bare "T1"/"T2" also name vertebrae: they count only
# for an MR record (as its own words), never against a CT one.
_NAMES = {
    "CT": re.compile(r"\b(ct|cta|cect|hrct|mdct|computed tomograph\w*)\b", re.I),
    "MRI": re.compile(r"\b(mri?|mra|mrv|mrcp|magnetic resonance)\b", re.I),
}
_TECHNIQUE = {
    "CT": re.compile(r"\b(hounsfield|\d+\s*hu|(bone|lung|soft[- ]tissue) windows?)\b", re.I),
    "MRI": re.compile(
        r"\b(t[12]w\w*|t[12][- ]weighted|flair|stir|dwi|adc|gadolinium|fat[- ]?sat\w*|"
        r"fat[- ]suppress\w*|fse|swi|fiesta|proton density|diffusion[- ]weighted)\b",
        re.I,
    ),
}
_MR_OWN_ONLY = re.compile(r"\bt[12]\b", re.I)
_OTHER = {"CT": "MRI", "MRI": "CT"}
# Plane words as they describe the picture: not "intra-axial"/"extra-axial" (a lesion's site),
# not the coronal or sagittal suture or the sagittal sinus (anatomy).
_SLICE_PLANES = {
    "axial": re.compile(r"(?<![\w-])axial(ly)?\b", re.I),
    "coronal": re.compile(r"(?<![\w-])coronal(ly)?\b(?!\s+sutures?)", re.I),
    "sagittal": re.compile(r"(?<![\w-])sagg?itt?al(ly)?\b(?!\s+(sutures?|sinus\w*))", re.I),
}


def modality_contradicted(modality: str | None, caption: str | None) -> bool:
    """True when the caption describes a CT record as MR or an MR record as CT: it uses the other
    modality's technique words, or names only the other modality."""
    other = _OTHER.get(modality or "")
    if other is None or not caption:
        return False
    if _TECHNIQUE[other].search(caption):
        return True
    own = _NAMES[modality].search(caption) or _TECHNIQUE[modality].search(caption)
    own = own or (modality == "MRI" and _MR_OWN_ONLY.search(caption))
    return bool(_NAMES[other].search(caption)) and not own


def plane_contradicted(plane_name: str | None, caption: str | None) -> bool:
    """True when the caption names slice planes (axial, coronal, sagittal), none of them the
    record's (a "coronal" record captioned "Axial CT of the chest")."""
    if plane_name not in _SLICE_PLANES or not caption:
        return False
    named = [p for p, pat in _SLICE_PLANES.items() if pat.search(caption)]
    return bool(named) and plane_name not in named


def caption_contradicts(
    modality: str | None, plane_name: str | None, caption: str | None
) -> list[str]:
    """The metadata fields ("modality", "plane") the caption contradicts. A record whose modality
    is contradicted describes another picture, so its plane is not trusted either."""
    if modality_contradicted(modality, caption):
        return ["modality", "plane"]
    return ["plane"] if plane_contradicted(plane_name, caption) else []
