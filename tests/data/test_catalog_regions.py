"""Body region from MedPix's ACR code, Location, Location Category and the caption's anatomy;
the kind of picture and caption contradictions (`catalog.regions`, `catalog.picture`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from radvqa_data.catalog import picture, regions
from tests.conftest import dataset, query_catalog


def test_acr_anatomic_field() -> None:
    assert regions.acr_regions("1.3") == {"head"}
    assert regions.acr_regions("8.-1") == {
        "abdomen",
        "pelvis",
    }  # genitourinary: kidneys to genitals
    assert regions.acr_regions("562.1532") == {
        "chest"
    }  # sub-anatomic digits: first digit is the field
    assert regions.acr_regions("0.3") == {"breast", "chest"}
    # uncoded, and vascular/lymphatic (anywhere): no region information
    assert [regions.acr_regions(c) for c in ("-1.-1", "0.0", "9.3", "", None, "x")] == [None] * 6


def test_signals_combine_by_agreement() -> None:
    # the cases: kidney-level "Genitourinary" CTs are not "pelvis" by default
    assert regions.medpix_regions("8.-1", "Genitourinary", "Reproductive and Urinary System") == (
        "abdomen",
        "pelvis",
    )
    assert regions.medpix_regions("1.3", "Brain and Neuro", "Head") == ("head",)
    # "Vascular" names no place: the ACR code and the category decide
    assert regions.medpix_regions("6.3", "Vascular", "Thorax") == ("chest",)
    # "Musculoskeletal" alone never decides, and never means "extremity" by itself
    assert len(regions.medpix_regions("4.3", "Musculoskeletal", "Spine and Muscles")) > 1
    assert (
        regions.medpix_regions("6.9", "Genitourinary", "Reproductive and Urinary System") == ()
    )  # conflict
    assert regions.medpix_regions("-1.-1", "Vascular", None) is None  # nothing stated


@pytest.mark.parametrize(
    ("options", "caption", "want"),
    [
        (("abdomen", "pelvis"), "Right renal complex cyst", ("abdomen", "caption")),
        (("abdomen", "pelvis"), "The prostate is enlarged", ("pelvis", "caption")),
        (("abdomen", "pelvis"), "Enhancing mass in the rectum", ("pelvis", "caption")),
        (("abdomen", "pelvis"), "Large mass", (None, "undecided")),
        (("abdomen", "pelvis"), "Renal cyst; bladder wall thickening", (None, "undecided")),
        (("head",), "Large left parietal mass", ("head", "metadata")),
        # a sagittal cervical-spine image filed under the brain: the caption rules the head out
        (("head",), "Sagittal CT of the cervical spine shows a fracture", (None, "conflict")),
        (("head",), "Vertebral artery dissection", ("head", "metadata")),  # a vessel is no region
        (
            ("chest", "pelvis", "spine", "extremity"),
            "Fracture of the tarsal navicular bone",
            ("extremity", "caption"),
        ),
        ((), "Renal cyst", (None, "conflict")),
        (None, "Renal cyst", (None, None)),
    ],
)  # fmt: skip
def test_caption_anatomy_chooses_among_the_options(options, caption, want) -> None:
    got = regions.resolve(options, caption)
    assert (got.region, got.status) == want and got.options == options


def test_image_kind() -> None:
    assert picture.image_kind("Multiple or Montage", "MR - T2 weighted", "MRI") == "montage"
    assert picture.image_kind("Axial", "CT - Montage", "CT") == "montage"
    assert picture.image_kind("3D Reconstruction", "CT w/contrast (IV)", "CT") == "3d"
    assert picture.image_kind("Gross Pathology", "MR - T1W w/Gadolinium", "MRI") == "pathology"
    assert picture.image_kind("Photograph", "CT", "CT") == "photograph"
    assert picture.image_kind("Axial", "Drawing", "CT") == "drawing"
    # a CT projection view is a scout; an MR "lateral" is a sagittal slice
    assert picture.image_kind("PA", "CT - noncontrast", "CT") == "scout"
    assert (
        picture.image_kind("Other View (see caption)", "CT", "CT", "Scout image with dilated loops")
        == "scout"
    )
    assert picture.image_kind("Lateral", "MR - T2 weighted", "MRI") == "scan"
    assert (
        picture.image_kind("Coronal", "MR - Other Pulse Seq.", "MRI", "3D plane localizer MR image")
        == "scan"
    )
    assert picture.image_kind("Axial", "CT w/contrast (IV)", "CT", "Axial CT") == "scan"


def test_caption_contradictions() -> None:
    assert picture.caption_contradicts("CT", "axial", "Axial CT T2 Fat Saturation") == [
        "modality",
        "plane",
    ]
    assert picture.caption_contradicts(
        "MRI", "coronal", "Coronal CT showing the intrasellar tumor"
    ) == ["modality", "plane"]
    # a MR caption comparing with the earlier CT still describes an MR
    assert (
        picture.caption_contradicts("MRI", "axial", "Axial T2 image verifies the lesion seen on CT")
        == []
    )
    assert picture.caption_contradicts(
        "MRI", "coronal", "Axial T1-weighted MR image after contrast"
    ) == ["plane"]
    assert (
        picture.caption_contradicts("CT", "axial", "Coronal reconstruction of the axial CT") == []
    )
    # lesion sites and sutures are no planes; T1/T2 alone name vertebrae too
    assert (
        picture.caption_contradicts("MRI", "sagittal", "Intra-axial mass near the sagittal sinus")
        == []
    )
    assert picture.caption_contradicts("CT", "axial", "Fracture of T2 and the coronal suture") == []


def test_real_medpix_regions_and_kinds(real_catalog: Path, shared_data: Path) -> None:
    raw = json.loads(
        (dataset(shared_data, "medpix2") / "Descriptions.json").read_text(encoding="utf-8")
    )
    planes = Counter(r["Description"].get("Plane") for r in raw)
    rows = query_catalog(
        real_catalog,
        "SELECT organ, organ_raw, extra->>'image_kind', extra->>'region_status', "
        "extra->>'caption_contradicts' FROM images WHERE source = 'medpix2'",
    )
    kinds = Counter(r[2] for r in rows)
    # every non-scan plane value of the source is a non-scan kind
    for value, kind in (
        ("Multiple or Montage", "montage"),
        ("3D Reconstruction", "3d"),
        ("Photograph", "photograph"),
        ("Gross Pathology", "pathology"),
    ):
        assert kinds[kind] >= planes[value] > 0
    assert kinds["scout"] >= planes["AP"] + planes["PA"]  # the CT projection views
    assert kinds["scan"] > 0.9 * len(rows)
    # organ systems never become a region by themselves; "vascular" is no region at all
    assert not any(r[0] == "vascular" for r in rows)
    gu = [r for r in rows if r[1] == "Genitourinary"]
    assert {r[0] for r in gu} >= {"abdomen", "pelvis"}
    status = Counter(r[3] for r in rows)
    assert set(status) == {"metadata", "caption", "undecided", "conflict"}
    assert all((r[0] is not None) == (r[3] in ("metadata", "caption")) for r in rows)
    assert sum(r[4] is not None for r in rows) > 0


def test_dicom_localizer_is_a_scout(tmp_path: Path) -> None:
    import pydicom
    from pydicom.data import get_testdata_file

    from radvqa_data.catalog.sources import dicom

    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        pytest.skip("pydicom test file CT_small.dcm not installed")
    root = tmp_path / "dicoms"
    root.mkdir()
    for name, image_type in (
        ("axial.dcm", None),
        ("scout.dcm", ["ORIGINAL", "PRIMARY", "LOCALIZER"]),
    ):
        ds = pydicom.dcmread(path)
        if image_type:
            ds.ImageType = image_type
        ds.save_as(root / name)
    data = dicom.read(root, source="dicom", assets=tmp_path / "assets")
    kinds = {im.image_id: im.extra.get("image_kind") for im in data.images}
    assert kinds == {"axial.dcm": None, "scout.dcm": "scout"}
