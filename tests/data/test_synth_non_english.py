"""Synth gives no metadata row from a caption the catalog flags as non-English (issue 21)."""

from __future__ import annotations

from radvqa_data.core.pipeline_records import ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.metadata_questions import metadata_candidates


def _record(caption: str) -> ImageRecord:
    return ImageRecord(
        "roco", "ROCO_1", None, "test", "missing", modality="CT", plane="axial",
        texts={"caption": caption},
    )  # fmt: skip


def test_a_non_english_caption_gives_only_rejects() -> None:
    rec = _record("Tomografía computarizada axial de la pelvis con una masa en el ovario")
    got = list(metadata_candidates(rec, QuestionRandom("0:roco:ROCO_1")))
    assert [(c.question_type, c.reject_reason) for c in got] == [
        ("MODALITY", "caption_non_english"),
        ("PLANE", "caption_non_english"),
    ]


def test_an_english_caption_still_gives_rows() -> None:
    rec = _record("Axial CT of the pelvis showing an ovarian mass")
    got = list(metadata_candidates(rec, QuestionRandom("0:roco:ROCO_1")))
    assert {c.question_type for c in got if c.reject_reason is None} == {"MODALITY", "PLANE"}
