"""What every export format reads: a folder's QA rows, the synth manifest, each row's image.

The folder is a `radvqa-data synth` output (``qa/part-*.parquet`` + ``manifest.json``) or a
`radvqa-data audit --fix` output (``qa/`` + ``fix_summary.json``, whose ``inputs`` name the
audited shard folder and so its manifest). Rows are joined to the catalog's ``images`` (file
path, status, per-image licence) and ``sources`` (the source kind, for citations) tables, and
sorted by (split, source, image_id, id) so that every export of the same rows is identical.

Each row gets ``image_problem``: why it has no usable image file (`IMAGE_PROBLEMS`), or null.
Rows moved to split ``quarantine`` by ``audit --fix-mode move`` are not exported; they are
counted in ``quarantined``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import OPTIONAL_QA_COLUMNS, QA_COLUMNS
from radvqa_data.core.shards import ShardDir
from radvqa_data.core.splits import QUARANTINE

#: Why a row has no image file to export (the key is recorded; the text goes into the card).
IMAGE_PROBLEMS = {
    "not_in_catalog": "its (source, image_id) is not in the catalog's images table",
    "no_image_file": "the source ships no file for this image (catalog status missing)",
    "corrupt_image": "the catalog could not decode the file (catalog status corrupt)",
    "file_gone": "the file the catalog recorded is no longer on disk",
}
QUARANTINE_SPLIT = QUARANTINE  # `audit --fix-mode move` puts condemned rows here
UNSPLIT = "unsplit"  # rows of sources without splits


@dataclass
class ExportInput:
    """The rows to export and everything the dataset card says about them."""

    folder: Path
    manifest: dict
    manifest_path: Path
    catalog: Path
    rows: pl.DataFrame  # QA_COLUMNS + image_path, licence, source_kind, image_problem
    quarantined: int  # rows in split "quarantine" (not exported)


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc})") from exc


def _find_manifest(folder: Path, fix: dict | None, manifest: Path | None) -> Path:
    if manifest is not None:
        if not Path(manifest).is_file():
            raise InputError(
                f"--manifest {manifest}: file not found (expected a synth manifest.json)"
            )
        return Path(manifest)
    for d in (ShardDir(folder), *(ShardDir(inp) for inp in (fix or {}).get("inputs", []))):
        if d.manifest.is_file():
            return d.manifest
    raise InputError(
        f"{folder}: no manifest.json; expected the output folder of `radvqa-data synth`, "
        "or pass --manifest SHARDS/manifest.json (e.g. for an `audit --fix` folder)"
    )


def _catalog_tables(catalog: Path, given: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The catalog's image files and source kinds; `given`: the path came from --catalog (else
    from the manifest), which decides what the error tells the user to fix."""
    from radvqa_data.core.db import connect

    if not Path(catalog).is_file():
        if given:
            raise InputError(f"--catalog {catalog}: file not found (expected a DuckDB catalog)")
        raise InputError(
            f"{catalog}: catalog not found (the manifest names it as the one the shards were "
            "made from; it was moved or deleted): pass --catalog FILE"
        )
    from radvqa_data.reader.catalog import image_files, source_kinds

    with connect(catalog, read_only=True) as con:
        images = image_files(con).rename({"status": "image_status"})
        known = source_kinds(con)
    kinds = pl.DataFrame(
        {"source": list(known), "source_kind": list(known.values())},
        schema={"source": pl.String, "source_kind": pl.String},
    )
    return images, kinds


def _image_problems(rows: pl.DataFrame) -> pl.Series:
    """Why each row has no usable image (null when it has one); each file is checked once."""
    paths = rows.select("image_path", "image_status").unique().drop_nulls("image_path")
    present = {p for p, st in paths.iter_rows() if st == "ok" and Path(p).is_file()}
    out = []
    for path, status in rows.select("image_path", "image_status").iter_rows():
        if status is None:  # the left join found no catalog image (status is NOT NULL there)
            out.append("not_in_catalog")
        elif status == "corrupt":
            out.append("corrupt_image")
        elif status != "ok" or path is None:
            out.append("no_image_file")
        else:
            out.append(None if path in present else "file_gone")
    return pl.Series("image_problem", out, dtype=pl.String)


def _refuse_empty_run(shard_dir: ShardDir) -> None:
    """A synth output without shards whose manifest counts 0 rows (an `--allow-empty` run):
    say that, and why the run had no rows, rather than "not a synth folder"."""
    if not shard_dir.manifest.is_file():
        return
    man = _read_json(shard_dir.manifest, "the synth manifest")
    if man.get("qa_rows") == 0:
        from radvqa_data.core.errors import EmptyOutputError

        why = "; ".join(man.get("not_done") or []) or "see `radvqa-data describe`"
        raise EmptyOutputError(
            f"{shard_dir.root}: the synth run wrote 0 QA rows (manifest.json), nothing to "
            f"export: {why}"
        )


def load_export_input(
    folder: str | Path, *, catalog: str | Path | None = None, manifest: str | Path | None = None
) -> ExportInput:
    """Read `folder` (synth output or `audit --fix` output); see the module docstring."""
    folder = Path(folder)
    shard_dir = ShardDir(folder)
    no_shards = (
        f"{folder}/qa: no part-*.parquet shards; expected the output folder of "
        "`radvqa-data synth` or `radvqa-data audit --fix`"
    )
    if not shard_dir.qa_files():
        _refuse_empty_run(shard_dir)
        raise InputError(no_shards)
    fix = (
        _read_json(shard_dir.fix_summary, "the fix summary")
        if shard_dir.fix_summary.is_file()
        else None
    )
    manifest_path = _find_manifest(folder, fix, Path(manifest) if manifest else None)
    man = _read_json(manifest_path, "the synth manifest")
    given = catalog is not None
    catalog = Path(catalog or (man.get("catalog") or {}).get("path") or "")
    qa = shard_dir.read_qa(no_shards)
    # columns added after a shard folder was written (issue 20's provenance and weight) are null
    qa = qa.with_columns(
        pl.lit(None, pl.Float64 if c == "sample_weight" else pl.String).alias(c)
        for c in OPTIONAL_QA_COLUMNS
        if c not in qa.columns
    )
    missing = set(QA_COLUMNS) - set(qa.columns)
    if missing:
        raise InputError(f"{folder}/qa: shards lack columns {sorted(missing)} (expected QA_SCHEMA)")
    images, kinds = _catalog_tables(catalog, given)
    qa = qa.select(QA_COLUMNS).with_columns(pl.col("split").fill_null(UNSPLIT))
    quarantined = qa.filter(pl.col("split") == QUARANTINE_SPLIT).height
    rows = (
        qa.filter(pl.col("split") != QUARANTINE_SPLIT)
        .join(images, on=["source", "image_id"], how="left")
        .join(kinds, on="source", how="left")
        .sort(["split", "source", "image_id", "id"])
    )
    rows = rows.with_columns(_image_problems(rows)).drop("image_status")
    return ExportInput(folder, man, manifest_path, catalog, rows, quarantined)
