"""Map each source's raw metadata onto the catalog's small controlled vocabularies.

Every normalizer returns ``None`` when it cannot tell (the raw value is always kept beside the
normalized one), so a later step can distinguish "not stated" from "other".
"""

from __future__ import annotations

import re

from radvqa_data.core.splits import normalize_split

#: Modality CUIs used by ROCO / ROCOv2 concept files (first CUI is usually the modality).
MODALITY_CUIS: dict[str, str] = {
    "C0040405": "CT",  # X-Ray Computed Tomography
    "C0040395": "CT",  # Tomography (ROCO often tags CT captions with it)
    "C1306645": "X-ray",  # Plain x-ray
    "C0043299": "X-ray",  # Diagnostic radiologic examination
    "C0024485": "MRI",  # Magnetic Resonance Imaging
    "C0041618": "ultrasound",  # Ultrasonography
    "C0002978": "angiography",  # Angiogram
    "C0032743": "nuclear",  # Positron-Emission Tomography
    "C0040399": "nuclear",  # SPECT
}

# Ordered: the first pattern that matches wins, so specific forms (CT angiography -> CT is a
# choice: the picture is a CT) come before generic words.
_MODALITY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "nuclear",
        re.compile(r"\b(pet(/ct)?|spect|scintigra\w*|nuclear|radionuclide|bone scan|fdg)\b"),
    ),
    ("MRI", re.compile(r"\b(mri?|mra|mrcp|magnetic resonance|t1w?|t2w?|flair|dwi|adc)\b")),
    ("CT", re.compile(r"\b(ct|cta|cect|hrct|mdct|computed tomograph\w*|tomogra\w*)\b")),
    (
        "ultrasound",
        re.compile(
            r"\b(us|ultrasound|ultrasonograph\w*|sonograph\w*|doppler|echocardiograph\w*|echo)\b"
        ),
    ),
    ("angiography", re.compile(r"\b(angiogra\w*|arteriogra\w*|venogra\w*|dsa)\b")),
    (
        "X-ray",
        re.compile(
            r"\b(x[- ]?rays?|xr|radiograph\w*|cxr|kub|plain film|chest film|mammogra\w*"
            r"|fluorosc\w*|barium|esophagram|urogra\w*)\b"
        ),
    ),
]


def modality(raw: str | None) -> str | None:
    """Normalize a modality string (``CT - noncontrast`` -> ``CT``, ``MR - T2 weighted`` ->
    ``MRI``).

    Returns one of `radvqa_data.core.schema.MODALITIES`, or None for an empty value.
    """
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip().lower()
    if text in {"mr", "mri"} or text.startswith(("mr ", "mr-", "mr -", "mra", "mrs")):
        return "MRI"
    if text in {"ct", "cta"} or text.startswith(("ct ", "ct-", "ct -", "cta ")):
        return "CT"
    if text in {"x-ray", "xray", "x ray", "cr", "dx", "rf"}:
        return "X-ray"
    if text in {"us"}:
        return "ultrasound"
    if text in {"nm", "pt"}:
        return "nuclear"
    if text in {"xa"}:
        return "angiography"
    for name, pattern in _MODALITY_PATTERNS:
        if pattern.search(text):
            return name
    return "other"


def modality_from_caption(caption: str | None) -> str | None:
    """Guess the modality from free caption text (ROCO); None when no modality word occurs."""
    if not caption:
        return None
    text = caption.lower()
    for name, pattern in _MODALITY_PATTERNS:
        if pattern.search(text):
            return name
    return None


def modality_from_cuis(cuis: list[str]) -> str | None:
    """The modality named by the first modality CUI in `cuis` (ROCO / ROCOv2), else None."""
    for cui in cuis:
        if cui in MODALITY_CUIS:
            return MODALITY_CUIS[cui]
    return None


_PLANES = {
    "axial": "axial",
    "transverse": "axial",
    "coronal": "coronal",
    "sagittal": "sagittal",
    "frontal": "frontal",
    "ap": "frontal",
    "pa": "frontal",
    "lateral": "lateral",
    "oblique": "oblique",
}
#: Projection views named for a cross-sectional MR image: MR makes no projections, so a
#: "Lateral" MR is a sagittal slice and a "Frontal" one a coronal slice (MedPix files 17 so).
_MR_SLICE_OF_VIEW = {"frontal": "coronal", "lateral": "sagittal"}
PROJECTION_PLANES = frozenset({"frontal", "lateral"})


def plane(raw: str | None, modality: str | None = None) -> str | None:
    """Normalize an imaging plane (``Transverse`` -> ``axial``, ``PA`` -> ``frontal``); for an
    MRI (`modality`), a projection view names the slice plane (``Lateral`` -> ``sagittal``)."""
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip().lower()
    if text.startswith(("nos", "not specified")):
        return None
    name = _PLANES.get(text)
    if name is None:
        name = next((n for w, n in _PLANES.items() if len(w) > 2 and w in text), "other")
    if modality == "MRI":
        name = _MR_SLICE_OF_VIEW.get(name, name)
    return name


# Region words, checked in order: VQA-RAD organ, SLAKE location, DICOM BodyPartExamined.
# Organ systems (genitourinary, musculoskeletal, vascular, cardiovascular) are not regions:
# they give None here. MedPix combines its several region signals in `catalog.regions`.
_REGIONS: list[tuple[str, tuple[str, ...]]] = [
    ("spine", ("spine", "spinal", "vertebr")),
    ("breast", ("breast", "mammo")),
    ("head", ("brain", "head", "skull", "eye", "orbit", "ophthalm", "face", "dental", "tooth")),
    ("neck", ("neck", "thyroid", "larynx")),
    ("chest", ("chest", "thorax", "pulmonary", "lung", "heart", "mediastin")),
    ("abdomen", ("abd", "liver", "bowel", "pancrea", "kidney", "renal", "spleen")),
    ("pelvis", ("pelvi", "bladder", "prostate", "uter")),
    (
        "extremity",
        ("extremit", "knee", "hip", "shoulder", "hand", "foot", "ankle", "wrist", "elbow", "limb"),
    ),
]
_ORGAN_SYSTEMS = (
    "genitourinary",
    "musculoskeletal",
    "vascular",
    "cardio",
    "gastro",
    "neuro",
    "urinary",
    "reproductive",
    "endocrine",
    "generalized",
)


def region(*raws: str | None) -> str | None:
    """Normalize an anatomy region from one or more raw location strings (first match wins).

    None when nothing is stated or only an organ system is ("Vascular", "Genitourinary");
    "other" for a stated place outside the vocabulary.
    """
    stated = False
    for raw in raws:
        if raw is None or not str(raw).strip():
            continue
        text = str(raw).strip().lower()
        for name, words in _REGIONS:
            if any(w in text for w in words):
                return name
        stated = stated or not any(w in text for w in _ORGAN_SYSTEMS)
    return "other" if stated else None


_LEFT = re.compile(r"\bleft\b|\blt\b", re.I)
_RIGHT = re.compile(r"\bright\b|\brt\b", re.I)
_BILATERAL = re.compile(r"\bbilateral(ly)?\b", re.I)


def laterality(text: str | None) -> str | None:
    """``left`` / ``right`` / ``bilateral`` when the text states it, else None."""
    if not text:
        return None
    if _BILATERAL.search(text):
        return "bilateral"
    left, right = bool(_LEFT.search(text)), bool(_RIGHT.search(text))
    if left and right:
        return "bilateral"
    if left:
        return "left"
    if right:
        return "right"
    return None


#: Split names: `radvqa_data.core.splits.normalize_split` (one place for every step).
split = normalize_split
