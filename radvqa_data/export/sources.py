"""What a dataset card says about each source kind: name, home page, licence, citation.

Dataset-wide licences are given here; per-image licences (ROCO's ``licences.txt``) come from
the catalog's ``images.licence`` column and take precedence. `hub_license` maps a licence text
to the Hugging Face Hub's licence identifier where there is an exact one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceInfo:
    """A source dataset as a card names and cites it."""

    title: str
    url: str | None
    licence: str | None  # dataset-wide licence; None: none published (or per image)
    licence_note: str
    citation: str
    # the licence cell of an image without a dataset-wide or per-image licence
    licence_fallback: str = "unknown"


SOURCES: dict[str, SourceInfo] = {
    "medpix2": SourceInfo(
        "MedPix 2.0",
        "https://github.com/CHILab1/MedPix-2.0",
        None,
        "no licence file in the source repository; content from the U.S. National Library of "
        "Medicine's MedPix (https://medpix.nlm.nih.gov)",
        'Siragusa I., Contino S., La Ciura M., Alicata R., Pirrone R. "MedPix 2.0: a comprehensive '
        "multimodal biomedical data set for advanced AI applications with retrieval augmented "
        'generation and knowledge graphs", arXiv:2407.02994 (2024).',
        licence_fallback="none published (NLM MedPix content; see note)",
    ),
    "roco": SourceInfo(
        "ROCO (Radiology Objects in COntext)",
        "https://github.com/razorx89/roco-dataset",
        None,
        "per image (licences.txt: the licence of the PubMed Central article)",
        'Pelka O., Koitka S., Rückert J., Nensa F., Friedrich C. M. "Radiology Objects in '
        'COntext (ROCO): a multimodal image dataset", LABELS 2018, LNCS 11043 (2018).',
    ),
    "rocov2": SourceInfo(
        "ROCOv2",
        "https://zenodo.org/records/10821435",
        "CC BY-NC-SA 4.0",
        "dataset-wide",
        'Rückert J. et al. "ROCOv2: Radiology Objects in COntext version 2, an updated '
        'multimodal image dataset", Scientific Data 11, 688 (2024).',
    ),
    "vqa-rad": SourceInfo(
        "VQA-RAD",
        "https://osf.io/89kps/",
        "CC0 1.0",
        "dataset-wide",
        'Lau J. J., Gayen S., Ben Abacha A., Demner-Fushman D. "A dataset of clinically '
        'generated visual questions and answers about radiology images", Scientific Data 5, '
        "180251 (2018).",
    ),
    "slake": SourceInfo(
        "SLAKE",
        "https://www.med-vqa.com/slake/",
        "CC BY 4.0",
        "dataset-wide",
        'Liu B., Zhan L.-M., Xu L., Ma L., Yang Y., Wu X.-M. "SLAKE: a semantically-labeled '
        'knowledge-enhanced dataset for medical visual question answering", ISBI 2021.',
    ),
}

#: Catalog kinds for a user's own images: nothing is known about their licence.
OWN_DATA = SourceInfo(
    "your own images", None, None, "unknown: fill in the licence of your images before sharing", ""
)


def source_info(kind: str | None) -> SourceInfo:
    """The card's facts for a catalog source kind (`OWN_DATA` for dicom, folder, unknown)."""
    return SOURCES.get(kind or "", OWN_DATA)


def hub_license(text: str | None) -> str | None:
    """``CC BY-NC-SA 4.0`` -> ``cc-by-nc-sa-4.0``; None when the Hub has no exact identifier."""
    if not text:
        return None
    m = re.fullmatch(r"\s*cc[\s-]*(0|by(?:[\s-]*(?:nc|sa|nd))*)[\s-]*(\d\.\d)\s*", text, re.I)
    if not m:
        return None
    kind = re.sub(r"[\s-]+", "-", m.group(1).lower())
    return f"cc{kind if kind == '0' else '-' + kind}-{m.group(2)}"
