"""The QA row and the predictions row: each column declared once, here.

`radvqa_data.synth` writes QA rows into `DIR/qa/part-NNNNN.parquet` (and the same columns plus
`reason` into `DIR/rejects/`); `radvqa_train` and `radvqa_diag` read them back through
`radvqa_data.reader`; export and audit read the same shards. Each of those takes its column
list from here, so a new column is added here and nowhere else: `Candidate.to_row` fills it from
the candidate field of the same name (null when a candidate has none), the reader returns it when
`read=True`, export and audit carry it along. The trainer's `predictions.parquet` is declared
below (`PREDICTION_FIELDS`) for the same reason: train writes it, diag reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

#: The VQA-RAD question types (Lau et al. 2018), used for every QA row we write or read.
QUESTION_TYPES: Final = (
    "MODALITY",
    "PLANE",
    "ORGAN",
    "ABN",
    "PRES",
    "POS",
    "SIZE",
    "ATTRIB",
    "COUNT",
    "COLOR",
    "OTHER",
)


#: Normalized modality vocabulary of the catalog (`images.modality`).
MODALITIES: Final = ("CT", "MRI", "X-ray", "ultrasound", "angiography", "nuclear", "other")

#: Image status in the catalog (`images.status`).
IMAGE_STATUSES: Final = ("ok", "missing", "corrupt")


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, Arrow type, and whether `read_qa` returns it."""

    name: str
    type: pa.DataType
    doc: str
    #: Returned by `radvqa_data.reader.read_qa` (what train and diag see of a QA row).
    read: bool = False


#: The QA row. Its first four data columns after `id` come from the image record
#: (`RECORD_COLUMNS`); the rest from the candidate's field of the same name.
QA_FIELDS: Final = (
    Column(
        "id",
        pa.string(),
        "stable row id: hash of (source, image_id, question, answer, generator)",
        read=True,
    ),
    Column("image_id", pa.string(), "catalog image id (the source's own name)", read=True),
    Column("case_id", pa.string(), "case / patient group id; one case never spans two splits"),
    Column("source", pa.string(), "catalog source name (e.g. medpix2)", read=True),
    Column("split", pa.string(), "train / validation / test, inherited from the image", read=True),
    Column("question", pa.string(), "", read=True),
    Column("answer", pa.string(), "short, normalized", read=True),
    Column("answer_type", pa.string(), "closed | open", read=True),
    Column("question_type", pa.string(), "one of QUESTION_TYPES", read=True),
    # provenance
    Column("generator", pa.string(), "backend name: rules | transformers | openai | vllm"),
    Column("template_id", pa.string(), "rule template id or prompt file name"),
    Column("prompt_version", pa.string(), "template / prompt version, e.g. v1"),
    Column("model", pa.string(), "model id for LLM backends, null for rules"),
    Column("sampling", pa.string(), "JSON of sampling settings, null for rules"),
    Column("seed", pa.int64(), ""),
    Column(
        "source_field",
        pa.string(),
        "where the answer came from: caption, findings, metadata.modality...",
    ),
    Column("source_text", pa.string(), "the span of source text that grounds the answer"),
    Column(
        "span_start", pa.int32(), "char offsets of source_text in that field (null for metadata)"
    ),
    Column("span_end", pa.int32(), ""),
    Column(
        "shared_with",
        pa.string(),
        "comma-separated sibling images whose shared caption or case text backs this row too",
    ),
    Column(
        "sample_weight",
        pa.float64(),
        "loss weight set by `synth --balance weight` (null: 1.0); the trainer honours it",
        read=True,
    ),
)

QA_SCHEMA: Final = pa.schema([(c.name, c.type) for c in QA_FIELDS])

#: Rejected candidates: the same columns plus why they were rejected.
REJECT_SCHEMA: Final = QA_SCHEMA.append(pa.field("reason", pa.string()))

QA_COLUMNS: Final = tuple(QA_SCHEMA.names)

#: QA columns that shard folders written before them lack; readers fill them with nulls.
OPTIONAL_QA_COLUMNS: Final = ("shared_with", "sample_weight")

#: QA columns taken from the candidate's `ImageRecord` (column -> record attribute).
RECORD_COLUMNS: Final = {
    "image_id": "image_id",
    "case_id": "case_id",
    "source": "source",
    "split": "split",
}

#: Columns the reader adds from the catalog's `images` table, under their catalog names.
READ_IMAGE_COLUMNS: Final = ("image_path", "modality", "organ")

#: Columns the reader passes on from the catalog's `benchmark_qa` rows (null for synthetic and
#: caption rows): a question and its paraphrase share a `linked_id`, so diag's paraphrase check
#: reads it from the predictions row and never goes back to the catalog.
READ_BENCHMARK_COLUMNS: Final = ("linked_id", "phrase_type")

#: What `read_qa` returns, for every data spec: the QA columns marked `read`, then the image's,
#: then the benchmark's ids.
READ_COLUMNS: Final = (
    *(c.name for c in QA_FIELDS if c.read),
    *READ_IMAGE_COLUMNS,
    *READ_BENCHMARK_COLUMNS,
)

#: The trainer's `predictions.parquet` (`radvqa-train eval`), read by `radvqa-diag`. Score
#: columns (`radvqa_train.metrics.METRIC_KEYS`, float64) and, with a judge, `JUDGE_FIELDS`
#: follow these; `predictions_schema` puts them together.
PREDICTION_FIELDS: Final = (
    Column("id", pa.string(), "the QA row id (benchmark qid for NAME:SPLIT data)"),
    Column("image_id", pa.string(), ""),
    Column("image_path", pa.string(), "absolute, or relative to the predictions file"),
    Column("question", pa.string(), ""),
    Column("answer", pa.string(), "the QA row's answer (the gold answer)"),
    Column("prediction", pa.string(), "the model's answer"),
    Column("answer_type", pa.string(), ""),
    Column("question_type", pa.string(), ""),
    Column("modality", pa.string(), ""),
    Column("organ", pa.string(), ""),
    Column("source", pa.string(), ""),
    Column("split", pa.string(), ""),
    Column("linked_id", pa.string(), "benchmark paraphrase group (null for other rows)"),
    Column("phrase_type", pa.string(), "benchmark phrasing: freeform / para / test_*"),
    Column("correct", pa.bool_(), "the answer-type-aware verdict (radvqa_train.metrics.score)"),
)
JUDGE_FIELDS: Final = (
    Column("judge_score", pa.float64(), "an LLM judge's verdict on an open answer"),
    Column("judge_status", pa.string(), "judged, or why there is no verdict"),
)

#: Predictions columns an earlier version wrote under another name (old -> new). Whoever reads a
#: predictions file renames them where it reads it (`prediction_renames`), nowhere else.
RENAMED_PREDICTION_COLUMNS: Final = {"reference": "answer"}


def prediction_renames(columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """{old: new} for the columns of an older predictions file that now have another name
    (a rename applies once `PREDICTION_FIELDS` declares the new name)."""
    declared = {c.name for c in PREDICTION_FIELDS}
    return {
        old: new
        for old, new in RENAMED_PREDICTION_COLUMNS.items()
        if old in columns and new not in columns and new in declared and old not in declared
    }


#: What a predictions file must have (diag fills the other `PREDICTION_FIELDS` with nulls).
PREDICTIONS_REQUIRED: Final = ("id", "question", "prediction", "correct")
PREDICTIONS_OPTIONAL: Final = tuple(
    c.name for c in PREDICTION_FIELDS if c.name not in PREDICTIONS_REQUIRED
)


def predictions_schema(score_columns: tuple[str, ...] | list[str], *, judge: bool) -> pa.Schema:
    """The predictions table: `PREDICTION_FIELDS`, one float64 per score, the judge's columns."""
    fields = [(c.name, c.type) for c in PREDICTION_FIELDS]
    fields += [(k, pa.float64()) for k in score_columns]
    fields += [(c.name, c.type) for c in JUDGE_FIELDS] if judge else []
    return pa.schema(fields)
