"""Records, a hand-written reply and the synth CLI for the LLM tests."""

from __future__ import annotations

import json
from pathlib import Path

from radvqa_data.core.pipeline_records import Entity, ImageRecord

CAPTION = (
    "Axial noncontrast CT shows a hyperdense subdural hematoma over the left convexity. "
    "No midline shift."
)


def make_record(image_id: str = "MPX1_synpic1", caption: str = CAPTION) -> ImageRecord:
    start = caption.find("subdural hematoma")
    entities = (
        [Entity("caption", start, start + 17, "subdural hematoma", "FINDING", "subdural hematoma")]
        if start >= 0
        else []
    )
    return ImageRecord(
        source="medpix2",
        image_id=image_id,
        case_id="MPX1",
        split="train",
        status="ok",
        modality="CT",
        modality_raw="CT - noncontrast",
        plane="axial",
        organ="Head",
        texts={"caption": caption, "findings": "Acute left subdural hematoma, 8 mm thick."},
        entities=entities,
    )


HAND_WRITTEN_REPLY = (
    "Here are the pairs:\n"
    "```json\n"
    '{"pairs": [\n'
    '  {"question": "What imaging modality was used?", "answer": "CT", "answer_type": "open", '
    '"question_type": "MODALITY", "evidence": "noncontrast CT"},\n'
    '  {"question": "Which side is the hematoma on?", "answer": "left", "answer_type": "open", '
    '"question_type": "POS", "evidence": "left convexity"},\n'
    '  {"question": "What abnormality is seen?", '
    '"answer": "a hyperdense subdural hematoma over the left convexity of the brain", '
    '"question_type": "ABN"},\n'
    '  {"question": "Is there midline shift?", "answer": "no", "answer_type": "closed", '
    '"question_type": "PRES", "evidence": "No midline shift"},\n'
    '  {"question": "What is the patient\'s history of falls?", "answer": "left", '
    '"question_type": "OTHER"},\n'
    '  {"question": "What is the diagnosis?", "answer": "glioblastoma", "question_type": "ABN"},\n'
    '  {"question": "Is the hematoma acute?", "answer": "yes", "answer_type": "open", '
    '"evidence": "Acute left subdural hematoma"},\n'
    '  {"question": "What is the shape of the lesion?"},\n'
    "]}\n"
    "```"
)


def synth_cli(args: list[str]) -> object:
    """Run `radvqa-data synth ...` in-process (the real app, as a user types it). With
    `--allow-empty`: the tiny random LLMs of the tests reply noise, so every row may be a
    reject, which is what these runs check (without it synth exits 1 on 0 rows)."""
    from typer.testing import CliRunner

    from radvqa_data.cli import app

    return CliRunner().invoke(app, ["synth", *args, "--allow-empty"])


def check_synth_output(out: Path, backend: str, model: str, n_images: int) -> None:
    """Shards written; every reject has a reason and full provenance."""
    import polars as pl

    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["complete"] and manifest["generator"] == backend and manifest["images"] == n_images
    )
    rejects = pl.read_parquet(out / "rejects" / "*.parquet")
    kept = pl.read_parquet(out / "qa" / "*.parquet")
    assert rejects.height >= 2 * n_images  # one per prompt at least: noise from random weights
    assert rejects["reason"].null_count() == 0 and set(rejects["generator"]) == {backend}
    assert set(rejects["model"]) == {model} and set(rejects["prompt_version"]) == {"v1"}
    assert set(rejects["template_id"]) == {"open_qa.v1.jinja", "closed_qa.v1.jinja"}
    assert all(json.loads(s)["max_new_tokens"] == 24 for s in rejects["sampling"])
    assert (
        kept.height + rejects.height
        == sum(manifest["rejects_by_reason"].values()) + manifest["qa_rows"]
    )
