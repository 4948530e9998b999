"""The records that flow from the catalog to a QA row: entity -> image record -> candidate.

They live in the core, not in `synth/`, because entities, filters, the LLM prompts and the
synth driver all read them: a record type is shared vocabulary, not a step's internal.

A *generator* (`radvqa_data.synth.types.Generator`) turns `ImageRecord`s into `Candidate`s. The
shared driver runs every candidate through the filters, assigns ids, and writes kept rows and
rejects as Parquet shards of `radvqa_data.core.schema.QA_SCHEMA` (`Candidate.to_row`). A
generator never filters silently: what it cannot produce it yields as a `Candidate` with
`reject_reason` set (e.g. an unparseable LLM response).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from radvqa_data.core.schema import QA_COLUMNS, RECORD_COLUMNS


@dataclass(frozen=True)
class Entity:
    """One entity mention found in an image's text (a row of the catalog's `entities` table)."""

    field: str  # which text: caption, findings, ...
    start: int  # character offsets in that text
    end: int
    text: str
    # label: lexicon category: MODALITY, PLANE, ANATOMY, FINDING, LATERALITY, SIZE, ATTRIBUTE,
    # CONTRAST, ...
    label: str
    norm: str  # normalized form ("chest x-ray" for "CXR")
    negated: bool = False
    uncertain: bool = False
    cui: str | None = None


@dataclass
class ImageRecord:
    """Everything synthesis may use about one catalogued image."""

    source: str
    image_id: str
    case_id: str | None
    split: str | None
    status: str  # ok | missing | corrupt
    image_path: str | None = None
    modality: str | None = None  # normalized (schema.MODALITIES)
    modality_raw: str | None = None
    plane: str | None = None
    organ: str | None = None
    organ_raw: str | None = None
    laterality: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # field -> text (caption, findings, ...)
    entities: list[Entity] = field(default_factory=list)
    cuis: list[str] = field(default_factory=list)
    # From the catalog's `images.extra` where a source states them (MedPix), else None:
    kind: str | None = None  # normalize.IMAGE_KINDS: scan, montage, 3d, scout, photograph, ...
    region_status: str | None = None  # metadata | caption | undecided | conflict (catalog.regions)
    contradicted: tuple[str, ...] = ()  # metadata fields the caption contradicts (catalog.picture)
    # The catalog's `label_issues` (radvqa-data label-issues): field -> suggested value (or None)
    label_issues: dict[str, str | None] = field(default_factory=dict)
    #: The other images of this record's case (source and case_id), each with its modality,
    #: plane and whether its caption is this record's caption word for word (issue 20: a caption
    #: shared by sibling images is written once; a case-level negation once per case).
    siblings: tuple[Sibling, ...] = ()


@dataclass(frozen=True)
class Sibling:
    """Another image of the same case, as synthesis sees it."""

    image_id: str
    modality: str | None
    plane: str | None
    same_caption: bool
    #: The norms of the FINDING entities its caption affirms (not negated, not uncertain): v7
    #: writes a case-findings sentence on one image of the case whose caption names the finding.
    caption_findings: tuple[str, ...] = ()


@dataclass
class Candidate:
    """A proposed QA pair, before filtering.

    Its fields (besides `record` and `reject_reason`) are QA columns by name
    (`core.schema.QA_FIELDS`); `to_row` turns it into a row of that schema.
    """

    record: ImageRecord
    question: str
    answer: str
    answer_type: str  # closed | open
    question_type: str  # schema.QUESTION_TYPES
    generator: str  # rules | transformers | openai | vllm
    template_id: str
    prompt_version: str
    model: str | None = None
    sampling: str | None = None  # JSON of the sampling settings
    seed: int | None = None
    source_field: str | None = None
    source_text: str | None = None
    span_start: int | None = None
    span_end: int | None = None
    reject_reason: str | None = None  # set by a generator for what it could not produce
    #: Sibling images whose caption (or case text) also backs this row, written once here.
    shared_with: str | None = None
    sample_weight: float | None = None  # set by `--balance weight`

    def row_id(self) -> str:
        """Stable id: hash of (source, image_id, question, answer, generator/template)."""
        r = self.record
        key = "\x1f".join(
            (
                r.source,
                r.image_id,
                self.question,
                self.answer,
                f"{self.generator}/{self.template_id}",
            )
        )
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    def to_row(self, row_id: str) -> dict:
        """One `QA_SCHEMA` row: `id`, the record's columns, then the candidate's fields.

        A QA column that is neither a record column nor a candidate field is null.
        """
        return _to_row(self, row_id)


def _row_function() -> Callable[[Candidate, str], dict]:
    """`to_row`, written out from the schema once: a dict display of every QA column.

    Generated rather than looped over the columns because synth calls it once per row (2M rows
    at scale), and a literal dict is about 1.7x faster than filling one column by column; the
    columns still come from `core.schema` alone.
    """
    fields_ = {f.name for f in fields(Candidate)}
    items = []
    for name in QA_COLUMNS:
        if name == "id":
            value = "row_id"
        elif name in RECORD_COLUMNS:
            value = f"r.{RECORD_COLUMNS[name]}"
        else:
            value = f"c.{name}" if name in fields_ else "None"
        items.append(f"{name!r}: {value}")
    src = f"def to_row(c, row_id):\n    r = c.record\n    return {{{', '.join(items)}}}\n"
    namespace: dict = {}
    exec(compile(src, "<radvqa_data.core.pipeline_records.to_row>", "exec"), namespace)
    return namespace["to_row"]


_to_row = _row_function()
