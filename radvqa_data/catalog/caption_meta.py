"""Modality and plane of an image whose metadata is its caption (ROCO, ROCOv2, a user's folder).

A word counts for the role it plays, not for being present:

- **plane**: a plane word (axial, coronal, sagittal, transverse, oblique, lateral, frontal,
  AP/PA) names the image's plane only when it qualifies an imaging noun ("axial CT", "lateral
  view", "coronal T2-weighted image", "sagittal and axial reconstructions", "(axial)"); words
  between it and the noun may only be modifiers (contrast-enhanced, chest, plain, another plane
  word, "and"). Anything else ("superior sagittal sinus", "lateral ventricle", "frontal lobe",
  "transverse colon", "lateral half of the clavicle") is an anatomical or positional name, not
  a plane. Several planes, or several lettered panels, give no single answer (None).
- **modality**: the caption's modality words (compounds first: PET/CT is nuclear, CT
  angiography is CT, MR angiography MRI, spin echo MRI) and the UMLS concept codes vote. One
  modality named by the caption wins, and a code naming another is recorded as a conflict the
  caption resolved; several named, the codes choose among them, else None; none named, the codes
  alone decide when they agree.

`status` values (kept in `images.extra` as `plane_status` / `modality_status`) say how each
answer was reached, so a reader can count what was left out and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radvqa_data.catalog.normalize import MODALITY_CUIS

_PLANE_WORDS = {
    "axial": "axial",
    "transverse": "axial",
    "transaxial": "axial",
    "coronal": "coronal",
    "sagittal": "sagittal",
    "sagital": "sagittal",  # misspellings MedPix and ROCO use
    "saggital": "sagittal",
    "midsagittal": "sagittal",
    "mid-sagittal": "sagittal",
    "parasagittal": "sagittal",
    "oblique": "oblique",
    "lateral": "lateral",
    "frontal": "frontal",
    "ap": "frontal",
    "pa": "frontal",
    "anteroposterior": "frontal",
    "posteroanterior": "frontal",
    "antero-posterior": "frontal",
    "postero-anterior": "frontal",
}
# Nouns (or noun prefixes) that name an image: a plane word qualifying one is a plane.
_IMAGE_NOUN = re.compile(
    r"(views?|viewed|images?|imaging|sections?|slices?|planes?|cuts?|scans?|scanning|reformat\w*"
    r"|reconstruct\w*|projections?|radiogra\w*|roentgeno\w*|x-?rays?|films?|ct[\w-]*|cbct|hrct"
    r"|mdcta?|mr[a-z]{0,3}"
    r"|magnetic|computed|tomogra\w*|t[12](?!\d)[\w-]*|flair|stir|dwi|sequences?|usg"
    r"|sonogra\w*|ultrasound\w*|ultrasonogra\w*|us|doppler|mip|mpr|multiplanar"
    r"|cephalo(gram|graph|metric)\w*|fluorosc\w*|angiogra\w*|venogra\w*|arteriogra\w*|dsa|pet"
    r"|spect|scintigra\w*|acquisitions?|fused|fusion|cine|echocardiogra\w*|swi|gre|fiesta|ssfp"
    r"|haste|vibe|pd[\w-]*|proton|diffusion(-weighted)?)$"
)
# Words allowed between a plane word and its imaging noun.
_MODIFIERS = frozenset(
    """and or & , / - the a an plain contrast contrast-enhanced enhanced non-enhanced unenhanced
    noncontrast non-contrast post-contrast postcontrast pre-contrast precontrast gadolinium
    gadolinium-enhanced gd-enhanced fat-suppressed fat-saturated fat-sat high-resolution
    thin-section reformatted reconstructed multidetector multislice multi-slice spiral helical 3d
    2d three-dimensional volume-rendered maximum intensity cone-beam cone beam low-dose dynamic
    delayed weighted fast spin echo gradient turbo inversion recovery density emission
    postoperative post-operative preoperative pre-operative follow-up initial baseline repeat
    chest thoracic abdominal skull cranial head brain cervical lumbar spine spinal lumbosacral
    thoracolumbar pelvic pelvis abdomen knee hip ankle foot wrist hand elbow shoulder neck
    orbital facial standing supine erect digital conventional left right source original
    selected representative single consecutive serial contiguous thin grey gray scale grey-scale
    gray-scale b-mode color colour upright""".split()
)
_GLUED = re.compile(r"([a-z])([A-Z][a-z])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[(),;:/&]")
# Lettered panels: "(a)", "(A, B)", "(b-d)", "A:" / "B)" at a clause start.
_PANEL = re.compile(
    r"\(\s*([a-h])\s*(?:(?:,|and|-|–|&)\s*([a-h])\s*)*\)|(?:^|[.;]\s+)([A-H])[):]\s", re.I
)


@dataclass(frozen=True)
class Derived:
    """A derived value, the caption words (or codes) it rests on, and how it was reached."""

    value: str | None
    raw: str | None
    status: str  # plane: one | several | panels | anatomy | none; modality: see modality_vote


def _panels(caption: str) -> int:
    """How many distinct lettered panels the caption names (a range "b-d" counts its ends)."""
    letters: set[str] = set()
    for m in _PANEL.finditer(caption):
        letters.update(g.lower() for g in m.groups() if g)
    return len(letters)


def plane_words(caption: str) -> list[tuple[str, str, bool]]:
    """Every plane word of `caption` as (word, plane, names_the_image)."""
    # ROCO glues a title to its caption ("coronal viewThe mass"): split at such a join
    toks = _TOKEN.findall(_GLUED.sub(r"\1 \2", caption).lower())
    out = []
    for i, tok in enumerate(toks):
        plane = _PLANE_WORDS.get(tok)
        if plane is None:
            continue
        role = i > 0 and toks[i - 1] == "(" and i + 1 < len(toks) and toks[i + 1] == ")"
        if i > 0 and toks[i - 1].startswith("comput") and toks[i + 1 : i + 2] == ["tomography"]:
            out.append((tok, plane, False))  # "computed axial tomography" names CT, not a plane
            continue
        for nxt in toks[i + 1 : i + 7]:
            if role or nxt in _PLANE_WORDS or nxt in _MODIFIERS:
                continue
            role = bool(_IMAGE_NOUN.match(nxt))
            break
        out.append((tok, plane, role))
    return out


def caption_plane(caption: str | None) -> Derived:
    """The one plane a caption gives its image, or None with the reason in `status`."""
    if not caption:
        return Derived(None, None, "none")
    words = plane_words(caption)
    named = [(w, p) for w, p, role in words if role]
    if not named:
        return Derived(None, None, "anatomy" if words else "none")
    planes = {p for _, p in named}
    raw = ", ".join(dict.fromkeys(w for w, _ in named))
    if len(planes) > 1:  # "axial and coronal", "AP and lateral", "coronal oblique"
        return Derived(None, raw, "several")
    if _panels(caption) > 1:
        return Derived(None, raw, "panels")
    return Derived(planes.pop(), raw, "one")


# Modality words, compounds first: a compound's span is blanked before the next patterns run,
# so the CT in "PET/CT" or the angiography in "CT angiography" is not counted again.
_MODALITY_WORDS: list[tuple[str | None, re.Pattern[str]]] = [
    (None, re.compile(r"optical coherence tomograph\w*|fluorescein angiogra\w*|\bocta?\b")),
    (
        "nuclear",
        re.compile(
            r"\b(pet|spect)(\s*[/–—-]\s*|\s+)(ct|mri?)\b"
            r"|\bpositron[- ]emission[- ]tomograph\w*([\s/–—-]+computed tomograph\w*)?"
            r"|\bsingle[- ]photon\w*( emission)?( computed)? tomograph\w*"
            r"|\b(pet|spect|fdg|scintigra\w*|radionuclide|bone scan|nuclear medicine"
            r"|tc-?99m?\w*|99m?tc\w*|mibg|sestamibi|dmsa|mag3|octreo\w* scan|gallium scan)\b"
        ),
    ),
    (
        "MRI",
        re.compile(
            r"\b(mr|magnetic resonance)[- ]?(angiogra\w*|venogra\w*|cholangio\w*)|\bmr[avi]?\b"
            r"|\bmrcp\b|\bmagnetic resonance\b|\bt[12][- ]?(weighted|w|wi)\b|\bflair\b"
            r"|\bstir\b|\bdwi\b|\bdiffusion[- ]weighted\b|\b(spin|gradient)[- ]echo\b"
        ),
    ),
    (
        "CT",
        re.compile(
            r"\b(ct|comput\w* tomogra\w*)[- ]?(\w+ )?(angiogra\w*|venogra\w*|urogra\w*"
            r"|colonogra\w*)"
            r"|\b(ct|cta|cect|hrct|mdct|cbct|comput\w*[- ](\w+ )?tomogra(m|ph)\w*)\b"
        ),
    ),
    (
        "ultrasound",
        re.compile(
            r"\b(ultrasound|ultrasonogra\w*|sonogra\w*|doppler|echocardiogra\w*|duplex"
            r"|tte|tee|eus)\b"
        ),
    ),
    # a device named for angiography ("angiographic catheter") is no angiogram
    (None, re.compile(r"\bangiographic (catheter|sheath|guide\w*|wire|suite|table)s?\b")),
    ("angiography", re.compile(r"\b(angiogra\w*|arteriogra\w*|venogra\w*|dsa)\b")),
    (
        "X-ray",
        re.compile(
            r"\b(x[- ]?rays?|radiogra(ph|phs|phy|phic)\b|cxr|kub|plain film|chest film"
            r"|mammogra\w*|fluorosc\w*|barium|esophagram|urogra\w*|orthopantomogra\w*|opg"
            r"|cephalogra\w*|hysterosalpingogra\w*)\b"
        ),
    ),
]
#: "Tomography" alone names no modality (conventional, computed, emission, optical): neither the
#: bare word nor its concept code (C0040395) decides; "computed/computerized tomography" does.
_VAGUE_CUIS = frozenset({"C0040395"})
_NOT_RADIOLOGY = re.compile(
    r"(?i:optical coherence tomograph\w*|fluorescein angiogra\w*|\bfundus photograph)|\bOCTA?\b"
)
_US_UPPER = re.compile(r"\bUS\b")  # "US" is ultrasound only in capitals ("shows us")


def caption_modalities(caption: str | None) -> dict[str, str]:
    """Modality -> the first caption words naming it (None-modality compounds dropped)."""
    if not caption:
        return {}
    text = caption.lower()
    found: dict[str, str] = {}
    for name, pat in _MODALITY_WORDS:
        for m in pat.finditer(text):
            if name is not None:
                found.setdefault(name, caption[m.start() : m.end()])
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    us = _US_UPPER.search(caption)
    if us and text[us.start() : us.end()] == "us":
        found.setdefault("ultrasound", "US")
    return found


def modality_vote(caption: str | None, cuis: list[str]) -> Derived:
    """The image's modality from its caption words and concept codes (see the module doc).

    `status`: `caption` (the caption alone), `codes` (the codes alone), `agree` (both),
    `caption_over_codes` (a code named another modality; the caption's one word wins),
    `codes_chose` (the caption named several; the codes picked one of them), `several` (the
    caption named several and the codes did not choose), `codes_conflict` (no caption word and
    the codes disagree), `not_radiology` (optical coherence tomography, fluorescein angiography:
    no radiology modality, whatever the codes say), `none`.
    """
    if caption and _NOT_RADIOLOGY.search(caption):
        return Derived(None, None, "not_radiology")  # codes tag "optical coherence tomography" CT
    words = caption_modalities(caption)
    codes = {MODALITY_CUIS[c]: c for c in cuis if c in MODALITY_CUIS and c not in _VAGUE_CUIS}
    if len(words) == 1:
        ((name, span),) = words.items()
        if not codes:
            return Derived(name, span, "caption")
        return Derived(name, span, "agree" if set(codes) == {name} else "caption_over_codes")
    if len(words) > 1:
        chosen = set(words) & set(codes)
        if len(chosen) == 1:
            name = chosen.pop()
            return Derived(name, f"{words[name]}; {codes[name]}", "codes_chose")
        return Derived(None, "; ".join(words.values()), "several")
    if len(codes) == 1:
        ((name, cui),) = codes.items()
        return Derived(name, cui, "codes")
    return Derived(None, None, "codes_conflict" if codes else "none")
