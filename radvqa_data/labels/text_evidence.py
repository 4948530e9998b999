"""Text evidence against an image's own metadata: the caption (or, for a case of one image, the
case findings) describing another modality, plane or body region than the record states.

Only where the metadata is given per image (MedPix 2.0, DICOM, VQA-RAD, SLAKE): for ROCO, ROCOv2
and a user's caption folder the metadata *is* read from the caption (`catalog.caption_meta`), so
the caption cannot speak against it. A text counts as evidence only when it is unambiguous:

- modality: the text names or implies exactly one modality, not the record's. Names as in
  `caption_meta.caption_modalities` ("MRI", "T1-weighted", "plain film", "angiogram"), plus
  technique words only one modality has ("hyperintense", "FLAIR", "proton density" for MR;
  "hyperdense", "Hounsfield" for CT; not "echogenic", which CT captions use too). An
  adjective such as "radiographic findings" is no name.
- plane: the caption gives one plane in its role (`caption_meta.caption_plane`: "Axial T2", not
  "sagittal sinus"; several planes or panels give none), and the record states another slice
  plane or another projection. A CT record's frontal/lateral is a scout; not compared.
- region: the caption's strong regional words ("renal", "brain", "lumbar") name exactly one
  region, not the record's nor a neighbour that shares its pictures (spine with head, neck,
  chest, abdomen and pelvis; head and neck; abdomen and pelvis; chest and breast; pelvis and
  extremity at the hip).

Montages, 3D renderings, photographs and the like (`extra.image_kind`) are skipped for modality
and plane. A caption counts only for the image it belongs to alone: a caption repeated on
another image of the case describes the series, and one that points at "Image 2" several
pictures; and only its first sentence counts (later ones describe other sequences: "... on the
sagittal image"). These three rules were set after reading every item the first version gave on
MedPix 2.0 against its picture (docs/label-issues-text.md). What it cannot see: a wrong label
whose caption is silent or generic ("CT Image"), or repeats the wrong label; a case text
describing several images (not used).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from radvqa_data.catalog.caption_meta import caption_modalities, caption_plane

#: Source kinds whose metadata is read from the caption: no text evidence for them.
TEXT_DERIVED_KINDS = frozenset({"roco", "rocov2", "folder"})
SLICE_PLANES = frozenset({"axial", "coronal", "sagittal"})
VIEW_PLANES = frozenset({"frontal", "lateral"})

_TECHNIQUE = {
    "MRI": re.compile(
        r"\b(hyper|hypo|iso)intens\w*|\bsignal (intensity|void|abnormality)\b|\bt[12]wi?\b"
        r"|\bproton density\b|\bpdw?\b|\bfat[- ]?sat\w*|\bgadolinium\b|\badc\b|\bswi\b",
        re.I,
    ),
    "CT": re.compile(r"\b(hyper|hypo|iso)dens\w*|\bhounsfield\b|\b\d+\s*hu\b|\battenuat\w*", re.I),
}
# "radiographic findings" / "angiographic catheter": adjectives that name no picture.
_ADJECTIVES = re.compile(r"^(radiographic\w*|angiographic\w*|tomographic\w*)$", re.I)

_REGION_WORDS: dict[str, re.Pattern[str]] = {
    name: re.compile(r"\b(" + words + r")\b", re.I)
    for name, words in {
        "head": r"brain|cerebral|cerebell\w+|intracranial|skull|orbits?|orbital|pituitary"
        r"|sella|suprasellar|thalam\w+|(frontal|temporal|parietal|occipital) lobes?",
        "neck": r"neck|thyroid|laryn\w+|parotid|pharyn\w+|oropharyn\w+|nasopharyn\w+",
        "chest": r"lungs?|pulmonary|chest|thorax|mediastin\w+|pleura\w*|cardiac|heart",
        "abdomen": r"abdomen|abdominal|liver|hepatic|kidneys?|renal|pancrea\w+|spleen|splenic"
        r"|gallbladder|stomach|gastric|adrenal",
        "pelvis": r"pelvis|pelvic|bladder|prostate|prostatic|uterus|uterine|ovary|ovarian"
        r"|scrot\w+|testis|testicular",
        "spine": r"spine|spinal|vertebrae|vertebral bod(y|ies)|lumbar|intervertebral",
        "extremity": r"knee|ankle|wrist|elbow|shoulder|femur|femoral|tibia\w*|humer\w+|fibula\w*"
        r"|forearm|thigh|calf",
        "breast": r"breasts?|mammogra\w+",
    }.items()
}
_NEIGHBOURS = {
    frozenset(p)
    for p in [
        ("spine", "neck"),
        ("spine", "chest"),
        ("spine", "abdomen"),
        ("spine", "pelvis"),
        ("head", "neck"),
        ("head", "spine"),
        ("abdomen", "pelvis"),
        ("chest", "breast"),
        ("pelvis", "extremity"),
    ]
}


@dataclass(frozen=True)
class TextEvidence:
    """A text contradicting one metadata field of one image."""

    source: str
    image_id: str
    field: str  # modality | plane | organ
    given: str | None  # the catalog's normalized value
    suggested: str | None  # what the text says
    evidence: str  # the quoted span and where it came from


def text_modalities(text: str) -> dict[str, str]:
    """Modality -> the first words of `text` naming or implying it (see the module doc)."""
    found = {m: w for m, w in caption_modalities(text).items() if not _ADJECTIVES.match(w)}
    for name, pat in _TECHNIQUE.items():
        m = pat.search(text)
        if m:
            found.setdefault(name, m.group(0))
    return found


def text_regions(text: str) -> dict[str, str]:
    """Region -> the first strong regional word of `text`."""
    low = re.sub(r"\b(thoracic|cervical|lumbar) spine\b", "spine", text, flags=re.I)
    out = {}
    for name, pat in _REGION_WORDS.items():
        m = pat.search(low)
        if m:
            out[name] = m.group(0)
    return out


def _quote(where: str, span: str, text: str) -> str:
    """'caption: "axial" in "Axial T2-weighted image demonstrates ..."'."""
    short = text if len(text) <= 100 else text[:97] + "..."
    return f'{where}: "{span}" in "{short}"'


def _modality(given: str | None, text: str, where: str) -> tuple[str, str] | None:
    named = text_modalities(text)
    if given is None or given in named or len(named) != 1:
        return None
    ((name, span),) = named.items()
    return name, _quote(where, span, text)


def _plane(modality: str | None, given: str | None, text: str) -> tuple[str, str] | None:
    got = caption_plane(text)
    if given is None or got.value is None or got.value == given:
        return None
    same_kind = {got.value, given} <= SLICE_PLANES or {got.value, given} <= VIEW_PLANES
    if not same_kind or (modality == "CT" and given in VIEW_PLANES):
        return None
    return got.value, _quote("caption", got.raw or "", text)


def _region(given: str | None, text: str) -> tuple[str, str] | None:
    named = text_regions(text)
    if given is None or given in named or len(named) != 1:
        return None
    ((name, span),) = named.items()
    if frozenset((name, given)) in _NEIGHBOURS:
        return None
    return name, _quote("caption", span, text)


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(])|\n")
_POINTS_AT_IMAGES = re.compile(r"\b(image|figure|fig\.?|panel)\s+\d|#\d", re.I)


def first_sentence(text: str) -> str:
    """The caption's first sentence: the one that says what the picture is."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def _rows(con, images: list[tuple[str, str]] | None) -> Iterator[tuple]:
    """(source, image_id, modality, plane, region, image_kind, caption, findings, case size,
    images of the case with the same caption)."""
    from radvqa_data.reader.catalog import metadata_with_texts

    rows = metadata_with_texts(con, tuple(TEXT_DERIVED_KINDS))
    wanted = set(images) if images is not None else None
    for row in rows:
        if wanted is None or (row[0], row[1]) in wanted:
            yield row


def text_label_evidence(con, images: list[tuple[str, str]] | None = None) -> list[TextEvidence]:
    """Every metadata field of a catalogued image that its own text contradicts.

    `con`: a DuckDB connection to the catalog; `images`: restrict to these (source, image_id).
    Sorted by (source, image_id, field).
    """
    out: list[TextEvidence] = []
    for row in _rows(con, images):
        src, iid, modality, plane, region, kind, caption, findings, case_size, same = row
        scan = kind in (None, "scan")
        hits: list[tuple[str, str | None, tuple[str, str] | None]] = []
        if caption and same == 1 and not _POINTS_AT_IMAGES.search(caption):
            caption = first_sentence(caption)
            hits += [
                ("modality", modality, _modality(modality, caption, "caption") if scan else None),
                ("plane", plane, _plane(modality, plane, caption) if scan else None),
                ("organ", region, _region(region, caption)),
            ]
        elif findings and case_size == 1 and scan:  # the case text is about this image alone
            hits.append(("modality", modality, _modality(modality, findings, "case findings")))
        for field, given, hit in hits:
            if hit is not None:
                out.append(TextEvidence(src, iid, field, given, hit[0], hit[1]))
    return sorted(out, key=lambda e: (e.source, e.image_id, e.field))
