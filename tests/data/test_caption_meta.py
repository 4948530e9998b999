"""Modality and plane from caption words in their role (`catalog.caption_meta`), on the cases
issue 21 names (ROCO captions, quoted or shortened)."""

from __future__ import annotations

import pytest

from radvqa_data.catalog.caption_meta import caption_modalities, caption_plane, modality_vote

PET, CT_CODE, TOMOGRAPHY, MRI_CODE = "C0032743", "C0040405", "C0040395", "C0024485"


@pytest.mark.parametrize(
    "caption",
    [
        "MR venography showing thrombosis of the superior sagittal sinus",
        "CT showing dilatation of the lateral ventricle",
        "Hemorrhage in the frontal lobe (arrow).",
        "Abdominal X-rays showing a dilated transverse colon",
        "Chest film: fracture of the lateral half of the clavicle",
        "Ultrasound of the mass lateral to the medial epicondyle",
    ],
)
def test_a_plane_word_in_an_anatomical_name_is_not_a_plane(caption: str) -> None:
    got = caption_plane(caption)
    assert got.value is None and got.status == "anatomy"


@pytest.mark.parametrize(
    ("caption", "plane"),
    [
        ("Axial CT showed the occlusion of the right inferior basal branch.", "axial"),
        ("Sagittal T2-weighted MRI of the lumbar spine", "sagittal"),
        ("CT (coronal view).", "coronal"),
        ("Lateral cervical spine X-ray showing swelling", "lateral"),
        ("Postanterior (PA) chest x-ray", "frontal"),
        (
            "Transverse section in MRI showing a ring enhancing lesion in the lateral ventricle",
            "axial",
        ),
        ("Coronal contrast-enhanced CT of the lateral wall of the orbit", "coronal"),
    ],
)
def test_a_plane_word_qualifying_an_image_is_the_plane(caption: str, plane: str) -> None:
    assert caption_plane(caption).value == plane


def test_several_planes_or_panels_give_no_single_answer() -> None:
    assert caption_plane("Axial MRI (coronal view).").status == "several"
    assert caption_plane("AP and lateral radiographs of the knee").status == "several"
    got = caption_plane("(a) Axial CT before treatment. (b) The same after three months.")
    assert got.value is None and got.status == "panels"
    assert caption_plane("Axial CT before (A) and after (B) treatment").status == "panels"


def test_the_caption_outvotes_a_code_naming_another_modality() -> None:
    got = modality_vote("Right thigh MRI showed a heterogeneous mass", [PET])
    assert (got.value, got.status) == ("MRI", "caption_over_codes")
    got = modality_vote("FDG-PET image: increased uptake in the mediastinum", [TOMOGRAPHY])
    assert got.value == "nuclear"
    assert modality_vote("PET/CT shows uptake", [CT_CODE]).value == "nuclear"


def test_codes_choose_among_several_named_modalities_or_decide_alone() -> None:
    got = modality_vote("Chest X-ray before the CT", [CT_CODE])
    assert (got.value, got.status) == ("CT", "codes_chose")
    assert modality_vote("Chest X-ray before the CT", []).status == "several"
    assert modality_vote("Image of the lesion", [MRI_CODE]).value == "MRI"
    assert modality_vote("Image of the lesion", [MRI_CODE, CT_CODE]).status == "codes_conflict"
    assert modality_vote("Image of the lesion", []).value is None


def test_compounds_and_words_that_look_like_modalities() -> None:
    assert caption_modalities("CT angiography of the aorta") == {"CT": "CT angiography"}
    assert caption_modalities("MR angiogram of the circle of Willis") == {"MRI": "MR angiogram"}
    assert set(caption_modalities("Axial gradient echo image")) == {"MRI"}
    assert caption_modalities("Optical coherence tomography of the macula") == {}
    assert caption_modalities("This shows us the lesion") == {}
    assert caption_modalities("US of the liver") == {"ultrasound": "US"}
    assert caption_modalities("Lesion at the T2 level of the spine") == {}


def test_names_that_contain_a_plane_or_a_modality_word() -> None:
    """Fixed after the first ROCO read (`tuning1` in tests/data/gold/roco_metadata.jsonl)."""
    assert caption_plane("Computed axial tomography scan view showing an implant").value is None
    got = modality_vote("The positron emission tomography-computed tomography (PET–CT) scan", [])
    assert got.value == "nuclear"
    sheath = "MIP of a CT-Scan shows a guide-wire and an angiographic catheter sheath"
    assert modality_vote(sheath, []).value == "CT"


def test_tomography_alone_names_no_modality() -> None:
    """Fixed after the second ROCO read (`tuning2`)."""
    tomography = "C0040395"
    assert modality_vote("Bilateral opacities in chest tomogram.", [tomography]).value is None
    assert modality_vote("Computed chest tomography: a cavity", [tomography]).value == "CT"
    assert modality_vote("Computerized tomography (CT) scan", []).value == "CT"
    got = modality_vote("Cirrus optical coherence tomography image", [tomography, CT_CODE])
    assert (got.value, got.status) == (None, "not_radiology")
