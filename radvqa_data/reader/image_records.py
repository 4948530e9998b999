"""Read `ImageRecord`s from the catalog, one shard at a time.

The work is partitioned deterministically: the selected images are sorted by (source, image_id)
and cut into chunks of `shard_size` images; shard k is always the same images for the same
catalog and options, which is what lets a rerun skip finished shards. Each shard is loaded with
range queries, so memory holds one shard, not the catalog.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass

import duckdb

from radvqa_data.core.db import table_exists
from radvqa_data.core.pipeline_records import Entity, ImageRecord, Sibling
from radvqa_data.core.splits import SPLIT_PRECEDENCE


@dataclass(frozen=True)
class ShardPlan:
    """Shard `index` covers images `first`..`last` (inclusive, sorted) of `source`."""

    index: int
    source: str
    first: str
    last: str
    n_images: int


def _where(sources: list[str], allow_missing: bool) -> tuple[str, list]:
    clause = f"source IN ({','.join('?' * len(sources))})"
    if not allow_missing:
        clause += " AND status = 'ok'"
    return clause, list(sources)


def plan_shards(
    con: duckdb.DuckDBPyConnection,
    sources: list[str],
    *,
    allow_missing: bool,
    shard_size: int,
    limit: int | None,
) -> list[ShardPlan]:
    """Cut the selected images into deterministic shards (never spanning two sources)."""
    where, params = _where(sources, allow_missing)
    rows = con.execute(
        f"SELECT source, image_id FROM images WHERE {where} ORDER BY source, image_id"
        + (f" LIMIT {int(limit)}" if limit else ""),
        params,
    ).fetchall()
    plans: list[ShardPlan] = []
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, image_id in rows:
        by_source[source].append(image_id)
    for source in sorted(by_source):
        ids = by_source[source]
        for i in range(0, len(ids), shard_size):
            chunk = ids[i : i + shard_size]
            plans.append(ShardPlan(len(plans), source, chunk[0], chunk[-1], len(chunk)))
    return plans


def images_left_out(
    con: duckdb.DuckDBPyConnection, sources: list[str], *, allow_missing: bool
) -> dict[str, dict[str, dict[str, int]]]:
    """source -> catalog status (missing, corrupt) -> split -> images of `sources` that the
    selection of `plan_shards` leaves out; empty with `allow_missing` (it keeps every image).
    Images without a split count under "none"."""
    if allow_missing or not sources:
        return {}
    rows = con.execute(
        f"SELECT source, status, coalesce(split, 'none'), count(*) FROM images "
        f"WHERE source IN ({','.join('?' * len(sources))}) AND status <> 'ok' "
        "GROUP BY ALL ORDER BY ALL",
        list(sources),
    ).fetchall()
    out: dict[str, dict[str, dict[str, int]]] = {}
    for source, status, split, n in rows:
        out.setdefault(source, {}).setdefault(status, {})[split] = int(n)
    return out


def case_splits(
    con: duckdb.DuckDBPyConnection, sources: list[str]
) -> tuple[dict[tuple[str, str], str], int]:
    """(source, case) -> the split all its images get, and how many cases spanned several splits."""
    rows = con.execute(
        f"SELECT source, case_id, list(DISTINCT split) FROM images "
        f"WHERE source IN ({','.join('?' * len(sources))}) "
        "AND case_id IS NOT NULL AND split IS NOT NULL "
        "GROUP BY source, case_id",
        sources,
    ).fetchall()
    resolved: dict[tuple[str, str], str] = {}
    conflicts = 0
    for source, case, splits in rows:
        if len(splits) > 1:
            conflicts += 1
            ranked = sorted(
                splits, key=lambda s: SPLIT_PRECEDENCE.index(s) if s in SPLIT_PRECEDENCE else 99
            )
            resolved[(source, case)] = ranked[0]
    return resolved, conflicts


def load_shard(
    con: duckdb.DuckDBPyConnection,
    plan: ShardPlan,
    *,
    allow_missing: bool,
    split_override: dict[tuple[str, str], str],
    text_fields: tuple[str, ...] | None = None,
) -> list[ImageRecord]:
    """The image records of one shard, with their texts, entities and CUIs.

    `text_fields` limits the texts (and entities) loaded to those a generator reads (the rules
    read only captions; MedPix case discussions are kilobytes per image); None loads all.
    """
    rng = "source = ? AND image_id BETWEEN ? AND ?"
    params = [plan.source, plan.first, plan.last]
    fields_sql, fields_params = "", []
    if text_fields is not None:
        fields_sql = (
            f" AND field IN ({','.join('?' * len(text_fields))})" if text_fields else " AND false"
        )
        fields_params = list(text_fields)
    status = "" if allow_missing else " AND status = 'ok'"
    images = con.execute(
        "SELECT source, image_id, case_id, split, status, image_path, modality, modality_raw, "
        "plane, organ, organ_raw, laterality, extra->>'image_kind', extra->>'region_status', "
        f"extra->>'caption_contradicts' FROM images WHERE {rng}{status} ORDER BY image_id",
        params,
    ).fetchall()
    records: dict[str, ImageRecord] = {}
    for row in images:
        # source, image_id, case, split; then status .. laterality as ImageRecord takes them
        src, iid, case, split = row[:4]
        kind, rstat, contra = row[12:]
        split = split_override.get((src, case), split) if case else split
        records[iid] = ImageRecord(
            src,
            iid,
            case,
            split,
            *row[4:12],
            kind=kind,
            region_status=rstat,
            contradicted=tuple(json.loads(contra or "[]")),
        )
    for iid, fld, text in con.execute(
        f"SELECT image_id, field, text FROM texts WHERE {rng}{fields_sql}", params + fields_params
    ).fetchall():
        if iid in records:
            records[iid].texts[fld] = text
    if table_exists(con, "entities"):
        ents = con.execute(
            "SELECT image_id, field, span_start, span_end, text, label, norm, negated, "
            "uncertain, cui "
            f"FROM entities WHERE {rng}{fields_sql} ORDER BY image_id, field, span_start",
            params + fields_params,
        ).fetchall()
        for iid, fld, s, e, text, label, norm, neg, unc, cui in ents:
            if iid in records:
                records[iid].entities.append(Entity(fld, s, e, text, label, norm, neg, unc, cui))
    for iid, cui in con.execute(
        f"SELECT image_id, cui FROM concepts WHERE {rng} ORDER BY cui", params
    ).fetchall():
        if iid in records:
            records[iid].cuis.append(cui)
    _add_siblings(con, records, plan, status)
    if table_exists(con, "label_issues"):  # metadata facts found wrong (radvqa_data.labels)
        for iid, fld, suggested in con.execute(
            f"SELECT image_id, field, suggested FROM label_issues WHERE {rng}", params
        ).fetchall():
            if iid in records:
                records[iid].label_issues[fld] = suggested
    return list(records.values())


def _add_siblings(
    con: duckdb.DuckDBPyConnection, records: dict[str, ImageRecord], plan: ShardPlan, status: str
) -> None:
    """Give each record the other images of its case that the run synthesizes (same status
    filter), with their modality, plane and whether their caption is the record's."""
    rows = con.execute(
        "SELECT a.image_id, b.image_id, b.modality, b.plane, "
        "coalesce(ta.text = tb.text, false) FROM images a "
        "JOIN images b ON b.source = a.source AND b.case_id = a.case_id "
        "AND b.image_id <> a.image_id "
        "LEFT JOIN texts ta ON ta.source = a.source AND ta.image_id = a.image_id "
        "AND ta.field = 'caption' "
        "LEFT JOIN texts tb ON tb.source = b.source AND tb.image_id = b.image_id "
        "AND tb.field = 'caption' "
        "WHERE a.source = ? AND a.image_id BETWEEN ? AND ? AND a.case_id IS NOT NULL"
        + status.replace("status", "b.status")
        + " ORDER BY a.image_id, b.image_id",
        [plan.source, plan.first, plan.last],
    ).fetchall()
    affirmed: dict[str, list[str]] = defaultdict(list)
    if rows and table_exists(con, "entities"):
        # the findings each sibling's caption affirms (v7: one image per case writes a case
        # findings sentence, chosen among those whose caption names its finding)
        for sib, norm in con.execute(
            "SELECT DISTINCT e.image_id, e.norm FROM entities e JOIN images b "
            "ON b.source = e.source AND b.image_id = e.image_id "
            "WHERE e.source = ? AND e.field = 'caption' AND e.label = 'FINDING' "
            "AND NOT e.negated AND NOT e.uncertain AND b.case_id IN ("
            "SELECT case_id FROM images WHERE source = ? AND image_id BETWEEN ? AND ?) "
            "ORDER BY e.image_id, e.norm",
            [plan.source, plan.source, plan.first, plan.last],
        ).fetchall():
            affirmed[sib].append(norm)
    found: dict[str, list[Sibling]] = defaultdict(list)
    for iid, sib, modality, plane, same in rows:
        found[iid].append(Sibling(sib, modality, plane, bool(same), tuple(affirmed.get(sib, ()))))
    for iid, sibs in found.items():
        if iid in records:
            records[iid].siblings = tuple(sibs)


def catalog_fingerprint(con: duckdb.DuckDBPyConnection, sources: list[str]) -> str:
    """A cheap content hash of what synthesis reads for `sources` (images, texts, entities,
    label issues)."""
    ph = ",".join("?" * len(sources))
    parts = [
        con.execute(
            "SELECT count(*), coalesce(sum(hash(source, image_id, split, case_id, status, "
            "modality, modality_raw, plane, organ, extra->>'image_kind', "
            "extra->>'region_status', extra->>'caption_contradicts')), 0) "
            f"FROM images WHERE source IN ({ph})",
            sources,
        ).fetchall()[0],
        con.execute(
            "SELECT count(*), coalesce(sum(hash(source, image_id, field, text)), 0) "
            f"FROM texts WHERE source IN ({ph})",
            sources,
        ).fetchall()[0],
    ]
    if table_exists(con, "entities"):
        parts.append(
            con.execute(
                "SELECT count(*), coalesce(sum(hash(source, image_id, field, span_start, norm, "
                "negated, uncertain)), 0) "
                f"FROM entities WHERE source IN ({ph})",
                sources,
            ).fetchall()[0]
        )
    if table_exists(con, "label_issues"):
        parts.append(
            con.execute(
                "SELECT count(*), coalesce(sum(hash(source, image_id, field, suggested)), 0) "
                f"FROM label_issues WHERE source IN ({ph})",
                sources,
            ).fetchall()[0]
        )
    blob = json.dumps([[int(a), int(b) % (1 << 64)] for a, b in parts])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def texts_without_entities(
    con: duckdb.DuckDBPyConnection, sources: list[str], fields: tuple[str, ...] | None
) -> int:
    """How many texts a generator would read that `radvqa-data entities` has not processed."""
    where = f"t.source IN ({','.join('?' * len(sources))})"
    params: list = list(sources)
    if fields is not None:
        if not fields:
            return 0
        where += f" AND t.field IN ({','.join('?' * len(fields))})"
        params += list(fields)
    if not table_exists(con, "entity_texts"):
        return con.execute(f"SELECT count(*) FROM texts t WHERE {where}", params).fetchall()[0][0]
    return con.execute(
        "SELECT count(*) FROM texts t LEFT JOIN entity_texts p ON p.source = t.source "
        f"AND p.image_id = t.image_id AND p.field = t.field WHERE p.source IS NULL AND {where}",
        params,
    ).fetchall()[0][0]
