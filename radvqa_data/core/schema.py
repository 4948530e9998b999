"""The QA row: declared once, used by every step, the Parquet writer and the readers.

`radvqa_data.synth` writes rows of this schema into `DIR/qa/part-NNNNN.parquet` (and the same
columns plus `reason` into `DIR/rejects/`); `radvqa_train` and `radvqa_diag` read them back
through `radvqa_data.reader`. Add a column here, nowhere else.
"""

from __future__ import annotations

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

#: `closed`: yes/no or a choice among options named in the question; `open`: short free answer.
ANSWER_TYPES: Final = ("closed", "open")

#: Normalized modality vocabulary of the catalog (`images.modality`).
MODALITIES: Final = ("CT", "MRI", "X-ray", "ultrasound", "angiography", "nuclear", "other")

#: Image status in the catalog (`images.status`).
IMAGE_STATUSES: Final = ("ok", "missing", "corrupt")

QA_SCHEMA: Final = pa.schema(
    [
        ("id", pa.string()),  # stable row id: hash of (source, image_id, question, answer, generator)
        ("image_id", pa.string()),  # catalog image id (the source's own name)
        ("case_id", pa.string()),  # case / patient group id; one case never spans two splits
        ("source", pa.string()),  # catalog source name (e.g. "medpix2")
        ("split", pa.string()),  # train / validation / test, inherited from the image
        ("question", pa.string()),
        ("answer", pa.string()),  # short, normalized
        ("answer_type", pa.string()),  # closed | open
        ("question_type", pa.string()),  # one of QUESTION_TYPES
        # provenance
        ("generator", pa.string()),  # backend name: rules | transformers | openai | vllm
        ("template_id", pa.string()),  # rule template id or prompt file name
        ("prompt_version", pa.string()),  # template / prompt version, e.g. "v1"
        ("model", pa.string()),  # model id for LLM backends, null for rules
        ("sampling", pa.string()),  # JSON of sampling settings, null for rules
        ("seed", pa.int64()),
        ("source_field", pa.string()),  # where the answer came from: caption, findings, metadata.modality...
        ("source_text", pa.string()),  # the span of source text that grounds the answer
        ("span_start", pa.int32()),  # char offsets of source_text in that field (null for metadata)
        ("span_end", pa.int32()),
    ]
)

#: Rejected candidates: the same columns plus why they were rejected.
REJECT_SCHEMA: Final = QA_SCHEMA.append(pa.field("reason", pa.string()))

QA_COLUMNS: Final = tuple(QA_SCHEMA.names)
