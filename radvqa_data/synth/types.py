"""The records that flow through synthesis: what a generator reads and what it yields.

A *generator* (the rules backend, or an LLM backend behind `radvqa_data.llm`) turns
`ImageRecord`s into `Candidate`s. The shared driver (`radvqa_data.synth`) runs every candidate
through the filters, assigns ids, and writes kept rows and rejects as Parquet shards of
`radvqa_data.core.schema.QA_SCHEMA`. A generator never filters silently: what it cannot produce
it yields as a `Candidate` with `reject_reason` set (e.g. an unparseable LLM response).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Entity:
    """One entity mention found in an image's text (a row of the catalog's `entities` table)."""

    field: str  # which text: caption, findings, ...
    start: int  # character offsets in that text
    end: int
    text: str
    label: str  # lexicon category: MODALITY, PLANE, ANATOMY, FINDING, LATERALITY, SIZE, ATTRIBUTE, CONTRAST, ...
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
    path: str | None = None
    modality: str | None = None  # normalized (schema.MODALITIES)
    modality_raw: str | None = None
    plane: str | None = None
    region: str | None = None
    region_raw: str | None = None
    laterality: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # field -> text (caption, findings, ...)
    entities: list[Entity] = field(default_factory=list)
    cuis: list[str] = field(default_factory=list)
    # From the catalog's `images.extra` where a source states them (MedPix), else None:
    kind: str | None = None  # normalize.IMAGE_KINDS: scan, montage, 3d, scout, photograph, ...
    region_status: str | None = None  # metadata | caption | undecided | conflict (catalog.regions)
    contradicted: tuple[str, ...] = ()  # metadata fields the caption contradicts (catalog.picture)


@dataclass
class Candidate:
    """A proposed QA pair, before filtering. Field names follow `schema.QA_SCHEMA`."""

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


class Generator(Protocol):
    """Turns image records into candidate QA pairs (rules, or prompts -> LLM -> parsed pairs)."""

    name: str

    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Yield candidates for `records` (in any order; may batch internally)."""
        ...
