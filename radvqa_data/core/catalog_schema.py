"""The catalog's contract: every table of the DuckDB catalog, declared once as columns.

The DDL (`tables_ddl`), the writers' column lists (`write_columns`) and the reader's column
names (`column_names`) are generated from `TABLES`; no other module spells a ``CREATE TABLE``
(tests/test_boundaries.py checks). A new table is one `Table(...)` added to `TABLES` (and to
`CORE_TABLES` if `connect` creates it); a later step creates its own with
``ensure_tables(con, "name")``.

A source's field is renamed where the source arrives (`catalog/sources/KIND.py`); the
reader (`radvqa_data/reader/`) returns catalog columns under these names; a field has one
name from the catalog through the QA row to the predictions row (tests/test_boundaries.py
checks that the reader renames no column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Col:
    """One catalog column: its name, DuckDB type, NOT NULL or not, and what it holds."""

    name: str
    type: str
    doc: str = ""
    not_null: bool = False

    @property
    def write_type(self) -> str:
        """The type a bulk writer casts to (JSON values go in as text and DuckDB parses them)."""
        return "VARCHAR" if self.type == "JSON" else self.type


@dataclass(frozen=True)
class Table:
    """One catalog table: columns in order (``INSERT ... SELECT *`` relies on it), its key."""

    name: str
    columns: tuple[Col, ...]
    primary_key: tuple[str, ...] = ()
    doc: str = ""
    #: A step's own bookkeeping table: the module (or package) that writes it may read it back
    #: itself. Every other read of the catalog goes through `radvqa_data.reader`.
    owner: str = ""

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table (column docs stay here, not in SQL)."""
        lines = []
        for c in self.columns:
            lines.append(f"    {c.name} {c.type}{' NOT NULL' if c.not_null else ''}")
        if self.primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(lines) + "\n);\n"


# DuckDB types, short so that a table reads as a column list.
V, INT, B, U, J, T, BOOL = "VARCHAR", "INTEGER", "BIGINT", "UBIGINT", "JSON", "TIMESTAMP", "BOOLEAN"
D = "DOUBLE"


def _c(name: str, type_: str, doc: str = "", *, nn: bool = False) -> Col:
    return Col(name, type_, doc, nn)


SOURCES = Table(
    "sources",
    (
        _c("name", V, "defaults to the kind; --name to catalog two of one kind"),
        _c("kind", V, "medpix2 | roco | rocov2 | vqa-rad | slake | dicom | folder", nn=True),
        _c("path", V, "absolute path as given to `catalog add`", nn=True),
        _c("added_at", T),
        _c("updated_at", T),
        _c("n_images", INT),
        _c("n_issues", INT),
        _c("meta", J, "kind-specific summary (files read, options)"),
    ),
    ("name",),
    "one row per catalogued source",
)
IMAGES = Table(
    "images",
    (
        _c("source", V, nn=True),
        _c("image_id", V, "the source's own name: MPX1009_synpic46283, ROCO_00001", nn=True),
        _c("split", V, "train | validation | test | NULL when the source has none"),
        _c("case_id", V, "case / patient / article id: images of one group share a split"),
        _c("image_path", V, "absolute path of the image file (NULL when the source has no file)"),
        _c("status", V, "ok | missing | corrupt", nn=True),
        _c("error", V, "why missing/corrupt"),
        _c("sha256", V, "of the file bytes"),
        _c("phash", U, "64-bit perceptual hash (imagehash.phash) of the decoded image"),
        _c("width", INT),
        _c("height", INT),
        _c("format", V, "PNG, JPEG, DICOM, ..."),
        _c("modality", V, "CT | MRI | X-ray | ultrasound | angiography | nuclear | other | NULL"),
        _c("modality_raw", V),
        _c("plane", V, "axial | coronal | sagittal | frontal | lateral | oblique | other | NULL"),
        _c("plane_raw", V),
        _c("organ", V, "normalized body region: head, neck, chest, abdomen, pelvis, ..."),
        _c("organ_raw", V),
        _c("laterality", V, "left | right | bilateral | NULL (only where stated)"),
        _c("licence", V),
        _c("age", V),
        _c("sex", V),
        _c("extra", J, "source-specific fields (ACR codes, figure part, dlinks, ...)"),
    ),
    ("source", "image_id"),
    "one row per image record",
)
TEXTS = Table(
    "texts",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("field", V, "caption | findings | history | diagnosis | discussion | ...", nn=True),
        _c("text", V, nn=True),
    ),
    ("source", "image_id", "field"),
    "texts per image",
)
CONCEPTS = Table(
    "concepts",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("cui", V, nn=True),
        _c("semtype", V),
        _c("origin", V, "which file the CUI came from (cuis.txt, test_concepts.csv)"),
    ),
    ("source", "image_id", "cui"),
    "UMLS CUIs per image where the source has them",
)
CUI_NAMES = Table(
    "cui_names", (_c("cui", V), _c("name", V)), ("cui",), "CUI -> canonical name (ROCOv2 ...)"
)
BENCHMARK_QA = Table(
    "benchmark_qa",
    (
        _c("source", V, nn=True),
        _c("qid", V, "the benchmark's own id (VQA-RAD / SLAKE qid)", nn=True),
        _c("image_id", V, "matches images.image_id of the same source", nn=True),
        _c("split", V, "train | validation | test", nn=True),
        _c("question", V, nn=True),
        _c("answer", V, nn=True),
        _c("answer_type", V, "closed | open"),
        _c("question_type", V, "first VQA-RAD type (normalized)"),
        _c("question_type_raw", V),
        _c("phrase_type", V, "VQA-RAD freeform / para / test_freeform / test_para"),
        _c("linked_id", V, "VQA-RAD qid_linked_id: a question and its paraphrase share it"),
        _c("organ", V, "images.organ's vocabulary (VQA-RAD ABD -> abdomen); raw: extra.organ_raw"),
        _c("modality", V),
        _c("extra", J),
    ),
    ("source", "qid"),
    "benchmark QA rows (VQA-RAD, SLAKE)",
)
INGEST_ISSUES = Table(
    "ingest_issues",
    (
        _c("source", V, nn=True),
        _c("item", V, "image id or file name", nn=True),
        _c("reason", V, "missing_file, corrupt_image, bad_record, ...", nn=True),
        _c("detail", V),
    ),
    doc="per-item problems found while ingesting (the run continues)",
)
ENTITIES = Table(
    "entities",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("field", V, "texts.field the mention is in", nn=True),
        _c("span_start", INT, "character offsets in that text", nn=True),
        _c("span_end", INT, nn=True),
        _c("text", V, nn=True),
        _c("label", V, "MODALITY | SEQUENCE | PLANE | ANATOMY | FINDING | ...", nn=True),
        _c("norm", V, "normalized form (lexicon norm, else lower-cased text)", nn=True),
        _c("negated", BOOL, nn=True),
        _c("uncertain", BOOL, nn=True),
        _c("cui", V, "UMLS CUI when known"),
        _c("cui_origin", V, "lexicon | concepts (linked from the source's own CUIs)"),
    ),
    doc="one row per entity mention (written by `radvqa-data entities`)",
    owner="radvqa_data.entities",
)
ENTITY_TEXTS = Table(
    "entity_texts",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("field", V, nn=True),
        _c("text_md5", V, "md5 of the text when processed", nn=True),
        _c("pipeline", V, "pipeline id (lexicon hash + rules version, or model)", nn=True),
        _c("n_entities", INT, nn=True),
    ),
    ("source", "image_id", "field"),
    "one row per text `entities` processed (what makes a rerun incremental)",
    owner="radvqa_data.entities",
)
PROBE_CACHE = Table(
    "catalog_probe_cache",
    (
        _c("image_path", V, "the probed image file (images.image_path)"),
        _c("size", B),
        _c("mtime_ns", B),
        _c("status", V),
        _c("error", V),
        _c("sha256", V),
        _c("phash", U),
        _c("width", INT),
        _c("height", INT),
        _c("format", V),
        _c("version", INT),
    ),
    ("image_path",),
    "image probes by (image_path, size, mtime): `catalog add` reuses them for unchanged files",
    owner="radvqa_data.catalog.fast.probe_pool",
)

LABEL_PREDICTIONS = Table(
    "label_predictions",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("field", V, "modality | plane | organ", nn=True),
        _c("model", V, "the model folder's id (config + training set hash)", nn=True),
        _c(
            "how",
            V,
            "oof: a fold model that never saw it (cross-fitted) | ensemble: mean of the fold "
            "models (none trained on it)",
            nn=True,
        ),
        _c("predicted", V, "the most probable class (catalog vocabulary)", nn=True),
        _c("confidence", D, "its probability", nn=True),
        _c("classes", "VARCHAR[]", "the field's classes, in the order of probs", nn=True),
        _c("probs", "DOUBLE[]", nn=True),
        _c("sha256", V, "of the image file when predicted: a changed file is redone"),
    ),
    ("source", "image_id", "field"),
    "the label model's probabilities per (image, field) (`radvqa-data label-issues`)",
    owner="radvqa_data.labels",
)

LABEL_ISSUES = Table(
    "label_issues",
    (
        _c("source", V, nn=True),
        _c("image_id", V, nn=True),
        _c("field", V, "modality | plane | organ (images.<field>)", nn=True),
        _c("given", V, "the catalog's value"),
        _c("suggested", V, "the model's (or the text's) value; NULL: none known"),
        _c(
            "score",
            D,
            "out-of-fold probability of the given value (low: likely wrong); NULL when no "
            "picture was scored",
        ),
        _c("evidence", V, "why: the probabilities, the caption words", nn=True),
        _c("method", V, "pixels | text | pixels+text", nn=True),
    ),
    ("source", "image_id", "field"),
    "metadata labels found wrong, with the suggested value; synth rejects (or corrects) them",
    owner="radvqa_data.labels",
)

IMAGE_DESCRIPTORS = Table(
    "image_descriptors",
    (
        _c("sha256", V, "of the file bytes (images.sha256)"),
        _c("version", INT, "audit.descriptors.DESC_VERSION that wrote the row", nn=True),
        _c("th", INT, "coarse thumbnail height (NULL: undecodable)"),
        _c("tw", INT, "coarse thumbnail width"),
        _c("thumb", "BLOB", "uint8 grayscale thumbnail, row-major"),
        _c("gh", INT, "crop-search view height"),
        _c("gw", INT, "crop-search view width"),
        _c("gate", "BLOB", "float16, row-major"),
        _c("query", "BLOB", "float16 query-part vectors (the index's entries)"),
        _c("error", V, "why the image could not be described"),
    ),
    ("sha256",),
    "the audit's per-image descriptors, cached by file hash: a rerun, or a catalog with one new "
    "source, decodes only images it has not seen; rows of another `version` are recomputed",
    owner="radvqa_data.audit.descriptor_store",
)

#: Every catalog table, by name. Adding a table is one entry here.
TABLES: Final[dict[str, Table]] = {
    t.name: t
    for t in (
        SOURCES,
        IMAGES,
        TEXTS,
        CONCEPTS,
        CUI_NAMES,
        BENCHMARK_QA,
        INGEST_ISSUES,
        ENTITIES,
        ENTITY_TEXTS,
        PROBE_CACHE,
        LABEL_PREDICTIONS,
        LABEL_ISSUES,
        IMAGE_DESCRIPTORS,
    )
}
#: The tables `core.db.connect` creates; the others are created by the step that writes them.
CORE_TABLES: Final = (
    "sources",
    "images",
    "texts",
    "concepts",
    "cui_names",
    "benchmark_qa",
    "ingest_issues",
)


@dataclass(frozen=True)
class Renamed:
    """A column a previous version of the catalog named otherwise (`core.db.migrate` renames it).

    `values`: the same rename in the data, for columns whose values name the renamed column
    (a ``label_issues`` row's `field` is the name of the `images` column it is about):
    (table, column, old value).
    """

    table: str
    old: str
    new: str
    values: tuple[tuple[str, str, str], ...] = ()


#: Columns renamed since catalogs were first written, oldest first. A catalog on disk that still
#: has `old` gets ``ALTER TABLE ... RENAME COLUMN`` when it is opened; a rename applies only once
#: the contract above declares `new` (so this list may name a rename before the contract makes
#: it). The catalog keeps no version number: which columns a table has says what it needs.
RENAMED: Final = (
    Renamed("images", "group_id", "case_id"),
    Renamed(
        "images",
        "region",
        "organ",
        (("label_issues", "field", "region"), ("label_predictions", "field", "region")),
    ),
    Renamed("images", "region_raw", "organ_raw"),
    # The image file's path has the QA row's name (a source's `path` is its folder: not renamed).
    Renamed("images", "path", "image_path"),
    Renamed("catalog_probe_cache", "path", "image_path"),
)


def contract_renames() -> tuple[Renamed, ...]:
    """The renames the contract has made: `new` declared in its table, `old` no longer."""
    return tuple(
        r for r in RENAMED if r.new in column_names(r.table) and r.old not in column_names(r.table)
    )


def tables_ddl(*names: str) -> str:
    """The ``CREATE TABLE IF NOT EXISTS`` statements of the named tables, in that order."""
    return "".join(TABLES[n].ddl() for n in names)


def column_names(table: str) -> tuple[str, ...]:
    """The columns of `table`, in table order."""
    return tuple(c.name for c in TABLES[table].columns)


def write_columns(table: str, *, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """[(column, type)] a bulk writer inserts into `table` (all columns but `skip`)."""
    return [(c.name, c.write_type) for c in TABLES[table].columns if c.name not in skip]
