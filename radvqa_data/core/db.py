"""Catalog connection and core schema.

One DuckDB file holds everything the later steps read. Core tables (created here):

- ``sources``        one row per catalogued source (name, kind, path, counts)
- ``images``         one row per image record, keyed by (source, image_id)
- ``texts``          texts per image, keyed by (source, image_id, field): caption, findings, ...
- ``concepts``       UMLS CUIs per image where the source has them
- ``cui_names``      CUI -> canonical name (ROCOv2 cui_mapping.csv, ...)
- ``benchmark_qa``   benchmark QA rows (VQA-RAD, SLAKE), keyed by (source, qid)
- ``ingest_issues``  per-item problems found while ingesting (the run continues)

Later steps add their own tables with `ensure_tables` (entities, synth runs, audits) and never
alter these.

The connection `connect` returns is a context manager that closes it (`with connect(path) as
con:`): use that form, so that a step that raises leaves no connection open (an open read-only
connection blocks a later read-write open of the same file in this process).

DuckDB 2 note: `execute(...).fetchone()` leaves a result open and the next statement on that
connection raises; use `fetchall()` (see docs/library-notes.md).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from radvqa_data.core.errors import InputError

CORE_DDL = """
CREATE TABLE IF NOT EXISTS sources (
    name        VARCHAR PRIMARY KEY,  -- defaults to the kind; --name to catalog two of one kind
    kind        VARCHAR NOT NULL,     -- medpix2 | roco | rocov2 | vqa-rad | slake | dicom | folder
    path        VARCHAR NOT NULL,     -- absolute path as given to `catalog add`
    added_at    TIMESTAMP,
    updated_at  TIMESTAMP,
    n_images    INTEGER,
    n_issues    INTEGER,
    meta        JSON                  -- kind-specific summary (files read, options)
);
CREATE TABLE IF NOT EXISTS images (
    source       VARCHAR NOT NULL,
    image_id     VARCHAR NOT NULL,    -- the source's own name: MPX1009_synpic46283,
                                      -- synpic46720.jpg, ROCO_00001
    split        VARCHAR,             -- train | validation | test | NULL when the source has none
    group_id     VARCHAR,             -- case / patient / article id: images of one group
                                      -- share a split
    path         VARCHAR,             -- absolute path of the image file
                                      -- (NULL when the source has no file)
    status       VARCHAR NOT NULL,    -- ok | missing | corrupt
    error        VARCHAR,             -- why missing/corrupt
    sha256       VARCHAR,             -- of the file bytes
    phash        UBIGINT,             -- 64-bit perceptual hash (imagehash.phash) of the
                                      -- decoded image
    width        INTEGER,
    height       INTEGER,
    format       VARCHAR,             -- PNG, JPEG, DICOM, ...
    modality     VARCHAR,             -- CT | MRI | X-ray | ultrasound | angiography | nuclear |
                                      -- other | NULL
    modality_raw VARCHAR,
    plane        VARCHAR,             -- axial | coronal | sagittal | frontal | lateral | oblique |
                                      -- other | NULL
    plane_raw    VARCHAR,
    region       VARCHAR,             -- normalized anatomy region: head, neck, chest, abdomen,
                                      -- pelvis, spine, extremity, ...
    region_raw   VARCHAR,
    laterality   VARCHAR,             -- left | right | bilateral | NULL (only where stated)
    licence      VARCHAR,
    age          VARCHAR,
    sex          VARCHAR,
    extra        JSON,                -- source-specific fields
                                      -- (ACR codes, figure part, dlinks, ...)
    PRIMARY KEY (source, image_id)
);
CREATE TABLE IF NOT EXISTS texts (
    source    VARCHAR NOT NULL,
    image_id  VARCHAR NOT NULL,
    field     VARCHAR NOT NULL,       -- caption | findings | history | diagnosis | discussion |
                                      -- title | exam | keywords
    text      VARCHAR NOT NULL,
    PRIMARY KEY (source, image_id, field)
);
CREATE TABLE IF NOT EXISTS concepts (
    source    VARCHAR NOT NULL,
    image_id  VARCHAR NOT NULL,
    cui       VARCHAR NOT NULL,
    semtype   VARCHAR,
    origin    VARCHAR,                -- which file the CUI came from (cuis.txt, test_concepts.csv)
    PRIMARY KEY (source, image_id, cui)
);
CREATE TABLE IF NOT EXISTS cui_names (
    cui   VARCHAR PRIMARY KEY,
    name  VARCHAR
);
CREATE TABLE IF NOT EXISTS benchmark_qa (
    source            VARCHAR NOT NULL,
    qid               VARCHAR NOT NULL,  -- the benchmark's own id (VQA-RAD / SLAKE qid)
    image_id          VARCHAR NOT NULL,  -- matches images.image_id of the same source
    split             VARCHAR NOT NULL,  -- train | validation | test
    question          VARCHAR NOT NULL,
    answer            VARCHAR NOT NULL,
    answer_type       VARCHAR,           -- closed | open
    question_type     VARCHAR,           -- first VQA-RAD type (normalized); raw value in
                                         -- question_type_raw
    question_type_raw VARCHAR,
    phrase_type       VARCHAR,           -- VQA-RAD freeform / para / test_freeform / test_para
    linked_id         VARCHAR,           -- VQA-RAD qid_linked_id: a question and its paraphrase
                                         -- share it
    organ             VARCHAR,
    modality          VARCHAR,
    extra             JSON,
    PRIMARY KEY (source, qid)
);
CREATE TABLE IF NOT EXISTS ingest_issues (
    source  VARCHAR NOT NULL,
    item    VARCHAR NOT NULL,            -- image id or file name
    reason  VARCHAR NOT NULL,            -- short machine-readable reason: missing_file,
                                         -- corrupt_image, bad_record, ...
    detail  VARCHAR
);
"""


#: The audit's per-image descriptors (`radvqa_data.audit.descriptors`), cached by file hash so a
#: rerun, or a catalog with one new source, decodes only images it has not seen. Rows of another
#: `version` are recomputed.
IMAGE_DESCRIPTORS_DDL = """
CREATE TABLE IF NOT EXISTS image_descriptors (
    sha256   VARCHAR PRIMARY KEY,     -- of the file bytes (images.sha256)
    version  INTEGER NOT NULL,        -- audit.descriptors.DESC_VERSION that wrote the row
    th       INTEGER, tw INTEGER,     -- coarse thumbnail shape (NULL: undecodable)
    thumb    BLOB,                    -- uint8 grayscale thumbnail, row-major
    gh       INTEGER, gw INTEGER,     -- crop-search view shape
    gate     BLOB,                    -- float16, row-major
    query    BLOB,                    -- float16 query-part vectors (the index's entries)
    error    VARCHAR                  -- why the image could not be described
);
"""


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the catalog at `path` with the core schema in place; use as `with`.

    A read-only open of a file that does not exist is an `InputError` naming the file.
    """
    p = Path(path)
    if read_only:
        if not p.exists():
            raise InputError(
                f"{p}: no catalog here; create one with "
                f"`radvqa-data catalog add KIND PATH --catalog {p}`"
            )
        try:
            return duckdb.connect(str(p), read_only=True)
        except duckdb.Error as exc:
            raise InputError(f"{p}: not a readable DuckDB catalog ({exc})") from exc
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(p))
    except duckdb.Error as exc:
        raise InputError(f"{p}: cannot open as a DuckDB catalog ({exc})") from exc
    con.execute(CORE_DDL)
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """Create a later step's tables (``CREATE TABLE IF NOT EXISTS ...``) on an open catalog."""
    con.execute(ddl)


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when `name` is a table of the catalog."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return rows[0][0] > 0
