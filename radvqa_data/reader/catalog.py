"""Every read of the catalog's tables that a step other than their writer makes, in one place.

Each function takes an open connection (`core.db.connect`) and returns plain rows or a Polars
frame under the catalog's own column names (`core.catalog_schema`); callers rename nothing.
Synth's shard loading is `reader.image_records`; the QA rows for train and diag are
`reader.read_qa`. tests/test_boundaries.py checks that no other module SELECTs from a catalog
table (a writer may read back the bookkeeping tables it owns: `entity_texts`, the probe cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import polars as pl

#: The `images` columns the audit works on (its image checks and candidate generation).
AUDIT_IMAGE_COLUMNS = (
    "source, image_id, split, case_id, image_path, status, sha256, phash, modality, width, height, "
    "format"
)


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run a query and return a Polars frame (DuckDB 2 dropped `.pl()` on execute results)."""
    if params:
        return con.sql(sql, params=params).pl()
    return con.sql(sql).pl()


def source_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Catalogued source name -> kind, sorted by name."""
    rows = con.execute("SELECT name, kind FROM sources ORDER BY name").fetchall()
    return {name: kind for name, kind in rows}


def source_splits(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    """The splits a source's images or benchmark questions name."""
    rows = con.execute(
        "SELECT DISTINCT split FROM images WHERE source = ? AND split IS NOT NULL "
        "UNION SELECT DISTINCT split FROM benchmark_qa WHERE source = ?",
        [source, source],
    ).fetchall()
    return {r[0] for r in rows}


def audit_images(
    con: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list | None = None
) -> pl.DataFrame:
    """Images with a readable file (status ok) matching `where`: `AUDIT_IMAGE_COLUMNS`."""
    sql = (
        f"SELECT {AUDIT_IMAGE_COLUMNS} FROM images "
        f"WHERE status = 'ok' AND image_path IS NOT NULL AND ({where})"
    )
    return frame(con, sql, params or [])


def benchmark_split_images(con: duckdb.DuckDBPyConnection, source: str, split: str) -> pl.DataFrame:
    """Images of `source` in `split`, plus its images that carry benchmark questions of that
    split (VQA-RAD images serve train and test questions at once)."""
    return audit_images(
        con,
        "source = ? AND (split = ? OR image_id IN "
        "(SELECT image_id FROM benchmark_qa WHERE source = ? AND split = ?))",
        [source, split, source, split],
    )


def benchmark_questions(
    con: duckdb.DuckDBPyConnection, source: str | None = None, split: str | None = None
) -> pl.DataFrame:
    """Benchmark QA rows (source, qid, image_id, split, question, answer), all or of one
    source (and split)."""
    sql = "SELECT source, qid, image_id, split, question, answer FROM benchmark_qa"
    params: list = []
    if source is not None:
        sql += " WHERE source = ?"
        params.append(source)
        if split is not None:
            sql += " AND split = ?"
            params.append(split)
    return frame(con, sql, params)


def image_groups(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, image_id, case_id) of every image."""
    return frame(con, "SELECT source, image_id, case_id FROM images")


def grouped_images(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, image_id, split, case_id) of the images that have both a group and a split."""
    return frame(
        con,
        "SELECT source, image_id, split, case_id FROM images "
        "WHERE case_id IS NOT NULL AND split IS NOT NULL",
    )


def texts_with_split(con: duckdb.DuckDBPyConnection, fields: tuple[str, ...]) -> pl.DataFrame:
    """(source, image_id, split, text) of the texts of `fields`, with their image's split."""
    ph = ",".join("?" for _ in fields)
    return frame(
        con,
        "SELECT t.source, t.image_id, i.split, t.text FROM texts t "
        f"JOIN images i USING (source, image_id) WHERE t.field IN ({ph})",
        list(fields),
    )


def image_paths(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, image_id, image_path) of the images that have a file."""
    return frame(
        con, "SELECT source, image_id, image_path FROM images WHERE image_path IS NOT NULL"
    )


def image_files(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, image_id, image_path, status, licence) of every image (export's image check)."""
    return frame(con, "SELECT source, image_id, image_path, status, licence FROM images")


def pending_texts(
    con: duckdb.DuckDBPyConnection,
    pipeline: str,
    sources: list[str] | None = None,
    fields: list[str] | None = None,
) -> tuple[int, Iterator[tuple[tuple[str, str], str, str]]]:
    """Texts `pipeline` has not processed (new, changed, or processed by another pipeline,
    according to `entity_texts`): (count, iterator of ((source, image_id), field, text))."""
    where = "WHERE (p.source IS NULL OR p.text_md5 <> md5(t.text) OR p.pipeline <> ?)"
    params: list[Any] = [pipeline]
    if sources:
        where += f" AND t.source IN ({','.join('?' * len(sources))})"
        params += sources
    if fields:
        where += f" AND t.field IN ({','.join('?' * len(fields))})"
        params += fields
    base = (
        "FROM texts t LEFT JOIN entity_texts p "
        "ON p.source = t.source AND p.image_id = t.image_id AND p.field = t.field " + where
    )
    total = con.execute(f"SELECT count(*) {base}", params).fetchall()[0][0]
    cur = con.cursor()
    cur.execute(f"SELECT t.source, t.image_id, t.field, t.text {base} ORDER BY 1, 2, 3", params)

    def rows() -> Iterator[tuple[tuple[str, str], str, str]]:
        while batch := cur.fetchmany(4096):
            for source, image_id, field, text in batch:
                yield (source, image_id), field, text
        cur.close()

    return total, rows()


def review_images(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every image with what `radvqa-data review` shows beside it (image_path as FiftyOne's
    `filepath`, split and case under the names the review samples use)."""
    return frame(
        con,
        "SELECT source, image_id, image_path AS filepath, status, split AS image_split, "
        "case_id, modality, plane, organ FROM images",
    )


def images_with_files(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, image_id) of the images with a readable file."""
    return frame(
        con, "SELECT source, image_id FROM images WHERE status = 'ok' AND image_path IS NOT NULL"
    )


def label_issue_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The `label_issues` table (`radvqa-data label-issues`), or None when it was never made."""
    tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
    if "label_issues" not in tables:
        return None
    return frame(
        con, "SELECT source, image_id, field, given, suggested, score, method FROM label_issues"
    )


def metadata_with_texts(
    con: duckdb.DuckDBPyConnection, exclude_kinds: tuple[str, ...]
) -> list[tuple]:
    """Per image of a source whose kind is not in `exclude_kinds`: (source, image_id, modality,
    plane, organ, image_kind, caption, findings, images in the case, images of the case with
    the same caption). The text evidence against per-image metadata reads this."""
    kinds = ",".join(f"'{k}'" for k in sorted(exclude_kinds))
    sql = (
        "SELECT i.source, i.image_id, i.modality, i.plane, i.organ, i.extra->>'image_kind', "
        "c.text, f.text, count(*) OVER (PARTITION BY i.source, i.case_id), "
        "count(*) OVER (PARTITION BY i.source, coalesce(i.case_id, i.image_id), "
        "lower(trim(c.text))) "
        "FROM images i JOIN sources s ON s.name = i.source "
        "LEFT JOIN texts c ON c.source = i.source AND c.image_id = i.image_id "
        "AND c.field = 'caption' "
        "LEFT JOIN texts f ON f.source = i.source AND f.image_id = i.image_id "
        f"AND f.field = 'findings' WHERE s.kind NOT IN ({kinds})"
    )
    return con.execute(sql).fetchall()


def confident_label_predictions(
    con: duckdb.DuckDBPyConnection, min_confidence: float
) -> list[tuple[str, str, str, str]]:
    """(source, image_id, field, predicted) of the label model's predictions at or above
    `min_confidence` (`radvqa-data label-issues`); empty when it never ran on this catalog."""
    from radvqa_data.core.db import table_exists

    if not table_exists(con, "label_predictions"):
        return []
    return con.execute(
        "SELECT source, image_id, field, predicted FROM label_predictions WHERE confidence >= ?",
        [min_confidence],
    ).fetchall()


def labelled_pictures(
    con: duckdb.DuckDBPyConnection, sources: list[str] | None = None
) -> list[tuple]:
    """Every readable picture (status ok, with a file), sorted by key, with what the label model
    learns from: (source, image_id, image_path, sha256, case or image id, modality, plane, organ,
    image kind, source kind, split)."""
    where = "i.status = 'ok' AND i.image_path IS NOT NULL"
    params: list = []
    if sources:
        where += f" AND i.source IN ({','.join('?' * len(sources))})"
        params += sources
    return con.execute(
        "SELECT i.source, i.image_id, i.image_path, i.sha256, coalesce(i.case_id, i.image_id), "
        "i.modality, i.plane, i.organ, i.extra->>'image_kind', s.kind, i.split "
        f"FROM images i LEFT JOIN sources s ON s.name = i.source WHERE {where} "
        "ORDER BY i.source, i.image_id",
        params,
    ).fetchall()
