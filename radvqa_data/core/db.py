"""Catalog connection; the core tables' DDL comes from the contract (`core.catalog_schema`).

One DuckDB file holds everything the later steps read. Core tables (created by `connect`):

- ``sources``        one row per catalogued source (name, kind, path, counts)
- ``images``         one row per image record, keyed by (source, image_id)
- ``texts``          texts per image, keyed by (source, image_id, field): caption, findings, ...
- ``concepts``       UMLS CUIs per image where the source has them
- ``cui_names``      CUI -> canonical name (ROCOv2 cui_mapping.csv, ...)
- ``benchmark_qa``   benchmark QA rows (VQA-RAD, SLAKE), keyed by (source, qid)
- ``ingest_issues``  per-item problems found while ingesting (the run continues)

Later steps add their own tables with ``ensure_tables(con, NAME)`` (entities, the
probe cache) and never alter these. Every table's columns are declared in
`core.catalog_schema.TABLES`, nowhere else.

A catalog written by an earlier version, whose columns the contract has since renamed
(`core.catalog_schema.RENAMED`), is migrated when it is opened: ``ALTER TABLE ... RENAME
COLUMN`` in one transaction (a read-only open migrates through a short read-write open first).

The connection `connect` returns is a context manager that closes it (`with connect(path) as
con:`): use that form, so that a step that raises leaves no connection open (an open read-only
connection blocks a later read-write open of the same file in this process).

DuckDB 2 note: `execute(...).fetchone()` leaves a result open and the next statement on that
connection raises; use `fetchall()` (see docs/library-notes.md).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from radvqa_data.core.catalog_schema import (
    CORE_TABLES,
    Renamed,
    column_names,
    contract_renames,
    tables_ddl,
)
from radvqa_data.core.errors import InputError

#: What `connect` creates: the core tables of the contract (`core.catalog_schema`).
CORE_DDL = tables_ddl(*CORE_TABLES)

#: The label model's tables (`radvqa_data.labels`; docs/label-issues.md), created by
#: `ensure_tables(con, *LABEL_TABLES)`. Read by synth (the facts it rejects or corrects) and by
#: diag (predicted modality/plane/organ where a source gives none).
LABEL_TABLES = ("label_predictions", "label_issues")
LABEL_ISSUE_COLUMNS = column_names("label_issues")


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
            con = duckdb.connect(str(p), read_only=True)
        except duckdb.Error as exc:
            raise InputError(f"{p}: not a readable DuckDB catalog ({exc})") from exc
        todo = outdated_columns(con)
        if not todo:
            return con
        con.close()
        _migrate_file(p, todo)
        return duckdb.connect(str(p), read_only=True)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(p))
    except duckdb.Error as exc:
        raise InputError(f"{p}: cannot open as a DuckDB catalog ({exc})") from exc
    migrate(con)
    con.execute(CORE_DDL)
    return con


def outdated_columns(con: duckdb.DuckDBPyConnection) -> list[Renamed]:
    """The contract's column renames (`catalog_schema.RENAMED`) this catalog has not had yet."""
    have = set(
        con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    )
    return [
        r for r in contract_renames() if (r.table, r.old) in have and (r.table, r.new) not in have
    ]


def migrate(con: duckdb.DuckDBPyConnection) -> list[Renamed]:
    """Rename the columns an earlier version wrote under another name, in one transaction.

    Values that name a renamed column (``label_issues.field = 'region'``) change with it. A
    catalog already up to date is left alone; returns the renames made.
    """
    todo = outdated_columns(con)
    if not todo:
        return []
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.execute("BEGIN TRANSACTION")
    try:
        for r in todo:
            con.execute(f'ALTER TABLE {r.table} RENAME COLUMN "{r.old}" TO "{r.new}"')
            for table, column, old_value in r.values:
                if table in tables:
                    con.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [r.new, old_value]
                    )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return todo


def _migrate_file(p: Path, todo: list[Renamed]) -> None:
    """Migrate the catalog file `p` through a short read-write open (for a read-only open)."""
    names = ", ".join(f"{r.table}.{r.old} -> {r.new}" for r in todo)
    try:
        with duckdb.connect(str(p)) as con:
            migrate(con)
    except duckdb.Error as exc:
        raise InputError(
            f"{p}: catalog written by an earlier version (columns to rename: {names}); it must "
            f"be opened for writing once to migrate, which failed ({exc})"
        ) from exc


def ensure_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Create a later step's tables (declared in `core.catalog_schema`) on an open catalog."""
    con.execute(tables_ddl(*names))


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when `name` is a table of the catalog."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return rows[0][0] > 0
