"""The catalog's `entities` table and the bookkeeping that makes `entities` incremental.

`entities` holds one row per mention; `entity_texts` one row per processed text (with the hash
of the text and the pipeline id), so a rerun processes only texts that are new, changed, or were
processed by another pipeline (another lexicon version or model).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import duckdb

from radvqa_data.core.catalog_schema import column_names
from radvqa_data.core.db import ensure_tables
from radvqa_data.core.pipeline_records import Entity
from radvqa_data.lexicon import LABELS, LEXICON_DIR

from . import context, pipeline

#: The columns of one mention row, in table order (`core.catalog_schema.ENTITIES`).
ENTITY_COLUMNS = column_names("entities")


def pipeline_id(model: str | None) -> str:
    """Identify what produced the entities: the lexicon files' and context rules' content."""
    h = hashlib.sha256()
    for stem in LABELS:
        h.update((LEXICON_DIR / f"{stem}.tsv").read_bytes())
    for module in (context, pipeline):  # rule or extraction changes re-run every text
        h.update(open(module.__file__, "rb").read())
    return f"{model or 'blank'}+lexicon:{h.hexdigest()[:12]}"


def ensure_entity_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `entities` and `entity_texts` when absent."""
    ensure_tables(con, "entities", "entity_texts")


def write_batch(
    con: duckdb.DuckDBPyConnection,
    results: Iterable[tuple[tuple[str, str], str, list[Entity]]],
    pipeline: str,
    texts_md5: dict[tuple[str, str, str], str],
) -> int:
    """Replace the entities of the processed texts and mark them done; return mentions written."""
    import pyarrow as pa

    ent_rows: dict[str, list] = {c: [] for c in ENTITY_COLUMNS}
    done = {
        "source": [],
        "image_id": [],
        "field": [],
        "text_md5": [],
        "pipeline": [],
        "n_entities": [],
    }
    for (source, image_id), field, ents in results:
        for e in ents:
            for col, val in zip(
                ENTITY_COLUMNS,
                (
                    source,
                    image_id,
                    field,
                    e.start,
                    e.end,
                    e.text,
                    e.label,
                    e.norm,
                    e.negated,
                    e.uncertain,
                    e.cui,
                    "lexicon" if e.cui else None,
                ),
                strict=False,
            ):
                ent_rows[col].append(val)
        for col, val in zip(
            done,
            (source, image_id, field, texts_md5[(source, image_id, field)], pipeline, len(ents)),
            strict=False,
        ):
            done[col].append(val)
    new_ents = pa.table(
        ent_rows,
        schema=pa.schema(
            [
                ("source", pa.string()),
                ("image_id", pa.string()),
                ("field", pa.string()),
                ("span_start", pa.int32()),
                ("span_end", pa.int32()),
                ("text", pa.string()),
                ("label", pa.string()),
                ("norm", pa.string()),
                ("negated", pa.bool_()),
                ("uncertain", pa.bool_()),
                ("cui", pa.string()),
                ("cui_origin", pa.string()),
            ]
        ),
    )
    new_done = pa.table(done)
    con.register("new_done", new_done)
    con.register("new_ents", new_ents)
    try:
        con.execute("BEGIN")
        con.execute(
            "DELETE FROM entities e USING new_done d "
            "WHERE e.source = d.source AND e.image_id = d.image_id AND e.field = d.field"
        )
        con.execute("INSERT INTO entities SELECT * FROM new_ents")
        con.execute("INSERT OR REPLACE INTO entity_texts SELECT * FROM new_done")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_done")
        con.unregister("new_ents")
    return new_ents.num_rows


def link_source_cuis(con: duckdb.DuckDBPyConnection) -> int:
    """Give mentions without a CUI the image's own CUI (concepts table) whose name matches."""
    before = con.execute("SELECT count(*) FROM entities WHERE cui_origin = 'concepts'").fetchall()[
        0
    ][0]
    con.execute(
        """
        UPDATE entities e SET cui = m.cui, cui_origin = 'concepts'
        FROM (
            SELECT c.source, c.image_id, c.cui, lower(n.name) AS name
            FROM concepts c JOIN cui_names n ON n.cui = c.cui
        ) m
        WHERE e.cui IS NULL AND e.source = m.source AND e.image_id = m.image_id
          AND (m.name = lower(e.text) OR m.name = lower(e.norm))
        """
    )
    con.execute(
        "UPDATE entities e SET cui_origin = 'lexicon+concepts' FROM concepts c "
        "WHERE e.cui_origin = 'lexicon' AND c.source = e.source AND c.image_id = e.image_id "
        "AND c.cui = e.cui"
    )
    after = con.execute("SELECT count(*) FROM entities WHERE cui_origin = 'concepts'").fetchall()[
        0
    ][0]
    return after - before
