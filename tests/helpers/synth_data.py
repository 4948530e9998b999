"""Helpers for the synth-area tests (no tests here): small catalogs built from real captions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from radvqa_data.core.db import connect


def medpix_records(medpix: Path, n: int | None = None, ids: tuple[str, ...] = ()) -> list[dict]:
    """Real MedPix 2.0 image records (Descriptions.json): the first `n`, plus those in `ids`."""
    recs = json.loads((medpix / "Descriptions.json").read_text(encoding="utf-8"))
    chosen = recs[:n] if n else []
    chosen += [r for r in recs if r["image"] in ids and r not in chosen]
    return chosen


def insert_catalog(
    path: Path, records: list[dict], *, source: str = "medpix2", status: str = "missing"
) -> Path:
    """A catalog holding `records` (MedPix 2.0 shape), inserted directly into the core tables.

    Modality/plane/organ are normalized the way the catalog does it, so the unit tests do not
    depend on a full ingest.
    """
    from radvqa_data.catalog import normalize

    con = connect(path)
    con.execute(
        "INSERT OR REPLACE INTO sources (name, kind, path) VALUES (?, 'medpix2', '/nowhere')",
        [source],
    )
    for i, r in enumerate(records):
        d = r["Description"]
        split = ("train", "validation", "test")[i % 3]
        con.execute(
            "INSERT OR REPLACE INTO images (source, image_id, split, case_id, status, modality, "
            "modality_raw, plane, plane_raw, organ, organ_raw) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                source,
                r["image"],
                split,
                r["U_id"],
                status,
                normalize.modality(d["Modality"]),
                d["Modality"],
                normalize.plane(d["Plane"]),
                d["Plane"],
                normalize.region(r["Location"]),
                r["Location"],
            ],
        )
        if d.get("Caption"):
            con.execute(
                "INSERT OR REPLACE INTO texts VALUES (?,?,?,?)",
                [source, r["image"], "caption", d["Caption"]],
            )
    con.close()
    return path


def copy_catalog(src: Path, dst: Path) -> Path:
    """A private copy of a session catalog (so a test can add tables without touching others')."""
    shutil.copy(src, dst)
    return dst


_RULES_CATALOGS: dict[Path, Path] = {}


def rules_catalog_for(real_catalog: Path) -> Path:
    """A private copy of the real catalog with caption entities, built once per session."""
    if real_catalog not in _RULES_CATALOGS:
        from radvqa_data.entities.run import run_entities

        cat = copy_catalog(real_catalog, real_catalog.with_name("synth-rules-copy.duckdb"))
        run_entities(cat, fields=["caption"], n_process=2, progress=False)
        _RULES_CATALOGS[real_catalog] = cat
    return _RULES_CATALOGS[real_catalog]
