"""Normalization of modality, plane, region, laterality, and the non-English caption check."""

from __future__ import annotations

import pytest

from radvqa_data.catalog import normalize
from radvqa_data.catalog.sources.vqarad import answer_type, question_type, split_of
from radvqa_data.catalog.textcheck import non_english_reason
from radvqa_data.core.schema import MODALITIES


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("CT - noncontrast", "CT"), ("CT w/contrast (IV)", "CT"), ("CTA - CT Angiography", "CT"),
        ("MR - T2 weighted", "MRI"), ("MR - T1W w/Gd (fat suppressed)", "MRI"),
        (" MR - Montage of Images", "MRI"), ("MRA - MR Angiography/Venography", "MRI"),
        ("MR", "MRI"), ("MRI", "MRI"), ("Drawing", "other"),
        ("X-Ray", "X-ray"), ("chest x ray", "X-ray"), ("US", "ultrasound"),
        ("NM", "nuclear"), ("PT", "nuclear"), ("XA", "angiography"), ("", None), (None, None),
    ],
)  # fmt: skip
def test_modality(raw: str | None, want: str | None) -> None:
    assert normalize.modality(raw) == want
    assert want is None or want in MODALITIES


def test_modality_from_cuis_and_captions() -> None:
    assert normalize.modality_from_cuis(["C0011334", "C0040405"]) == "CT"
    assert normalize.modality_from_cuis(["C1306645"]) == "X-ray"
    assert normalize.modality_from_cuis(["C0032743"]) == "nuclear"
    assert normalize.modality_from_cuis(["C0011334"]) is None
    assert normalize.modality_from_caption("Axial T2-weighted MRI of the brain") == "MRI"
    assert (
        normalize.modality_from_caption("Contrast-enhanced computed tomography of the abdomen")
        == "CT"
    )
    assert normalize.modality_from_caption("Duplex ultrasound of the femoral vein") == "ultrasound"
    assert normalize.modality_from_caption("FDG PET/CT shows uptake") == "nuclear"
    assert normalize.modality_from_caption("Patient timeline") is None


def test_plane_region_laterality() -> None:
    assert [
        normalize.plane(p)
        for p in (
            "Axial", "Transverse", "PA", "Sagittal", "NOS - Not specified", "3D Reconstruction"
        )
    ] == [
        "axial", "axial", "frontal", "sagittal", None, "other",
    ]  # fmt: skip
    # an MR has no projections: its "lateral"/"frontal" views are sagittal/coronal slices
    assert [normalize.plane(p, "MRI") for p in ("Lateral", "AP", "Frontal", "Axial")] == [
        "sagittal", "coronal", "coronal", "axial",
    ]  # fmt: skip
    assert normalize.plane("Lateral", "CT") == "lateral"
    assert normalize.region("Brain and Neuro", "Head") == "head"
    assert normalize.region("Chest, Pulmonary") == "chest"
    assert normalize.region("ABD") == "abdomen"
    assert normalize.region("Spine") == "spine"
    assert normalize.region("Pelvic Cavity") == "pelvis"
    assert normalize.region("Cerebellum") == "other"
    # organ systems are not regions: "cannot tell", never "pelvis" / "extremity" / "vascular"
    assert [
        normalize.region(r)
        for r in ("Genitourinary", "Musculoskeletal", "Vascular", "Cardiovascular")
    ] == [
        None, None, None, None,
    ]  # fmt: skip
    assert normalize.region(None) is None
    assert normalize.laterality("Right middle lobe nodule") == "right"
    assert normalize.laterality("left and right kidneys") == "bilateral"
    assert normalize.laterality("No lateral shift") is None
    assert normalize.split("dev") == "validation" and normalize.split("validate") == "validation"


def test_vqarad_field_normalization() -> None:
    assert answer_type("CLOSED ") == "closed"
    assert question_type("PRES, POS") == "PRES"
    assert [question_type(t) for t in ("ATRIB", "PRSE", "Other")] == ["ATTRIB", "PRES", "OTHER"]
    assert (
        split_of("test_para") == "test"
        and split_of("freeform") == "train"
        and split_of("para") == "train"
    )


def test_non_english_check() -> None:
    assert (
        non_english_reason("Axial CT image showing a mass in the left kidney with calcifications.")
        is None
    )
    assert non_english_reason("Axial MRI (coronal view).") is None
    assert non_english_reason(
        "Radiografía de tórax que muestra una masa en el lóbulo superior derecho "
        "con calcificaciones"
    )
    assert non_english_reason(
        "Coupe axiale de la tomodensitométrie montrant une masse dans le rein gauche"
    )
    assert non_english_reason("胸部X线片显示右上肺叶肿块")
