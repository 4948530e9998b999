"""`export(folder, out, fmt)`: one shard folder -> one training-ready folder with its card.

OUT receives the format's files (`FORMATS`), ``README.md`` (the dataset card),
``skipped.parquet`` (rows not exported, with the reason; only when there are some) and
``export.json`` (format, counts, the files written), rewritten last with ``complete: true``.
An OUT that is not empty must hold an earlier export (its ``export.json``). The same export
again (same format, same input folder: a rerun, or one that was interrupted) replaces it; another
export (another format or input) is refused unless ``overwrite``, since replacing it deletes its
files and images. Files of the earlier export that this one does not write again are removed,
so a folder never mixes two exports.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl

from radvqa_data.core.atomic import write_json, write_parquet, write_text
from radvqa_data.core.errors import ConfigError, InputError
from radvqa_data.core.progress import progress_bar
from radvqa_data.core.splits import TRAIN
from radvqa_data.export.card import CardInputs, render_card
from radvqa_data.export.contamination import read_contamination
from radvqa_data.export.images import ImagePlacer
from radvqa_data.export.inputs import IMAGE_PROBLEMS, load_export_input
from radvqa_data.export.jsonfiles import write_json_splits
from radvqa_data.export.parquet import write_parquet_splits
from radvqa_data.export.stats import row_stats

FORMATS = ("llava", "sharegpt", "messages", "hf")
MARKER = "export.json"


def _earlier_files(out: Path, folder: Path, fmt: str, overwrite: bool = False) -> list[str]:
    """Files of an earlier export in OUT (to remove if not rewritten); refuses other folders,
    and another export (format or input folder differs) unless `overwrite`."""
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise InputError(f"--out {out}: must not be (inside) the shard folder {folder}")
    if not out.exists() or not any(out.iterdir()):
        return []
    marker = out / MARKER
    if not marker.is_file():
        raise InputError(
            f"--out {out}: folder is not empty and holds no earlier export "
            f"({MARKER}); choose an empty or new folder"
        )
    try:
        earlier = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(
            f"{marker}: unreadable ({exc}); remove the folder and export again"
        ) from exc
    was = (earlier.get("format"), earlier.get("folder"))
    if not overwrite and None not in was and was != (fmt, str(folder.resolve())):
        raise InputError(
            f"--out {out}: holds another export ({was[0]} of {was[1]}, "
            f"{len(earlier.get('files', []))} entries); this one would delete it: pass "
            "--overwrite to replace it, or choose another folder"
        )
    return list(earlier.get("files", []))


def _remove_stale(out: Path, entries: set[str]) -> None:
    """Delete what an earlier export wrote and this one did not (``dir/`` entries: folders)."""
    for entry in entries:
        path = out / entry.rstrip("/")
        if out.resolve() not in path.resolve().parents:
            continue  # never outside OUT, whatever the marker says
        if entry.endswith("/") and path.is_dir():
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()


def _notes(by_split: dict[str, dict[str, int]], fmt: str) -> list[str]:
    """What a trainer will miss in this export: a train split."""
    if TRAIN in by_split:
        return []
    have = ", ".join(f"{s} {c['rows']:,}" for s, c in by_split.items()) or "none"
    where = f"no {TRAIN}.json" if fmt in ("llava", "sharegpt") else f"no {TRAIN} split"
    return [
        f"no train split: {where} in this export (rows: {have}); the shard folder has no train "
        "rows (see `radvqa-data describe SHARDS`: usually train images without a file)"
    ]


def export(
    folder: str | Path,
    out: str | Path,
    fmt: str,
    *,
    catalog: str | Path | None = None,
    manifest: str | Path | None = None,
    audit: str | Path | None = None,
    images: str = "copy",
    name: str | None = None,
    progress: bool = True,
    decisions: str | Path | None = None,
    overwrite: bool = False,
) -> dict:
    """Export `folder` (synth or `audit --fix` output) to `out` in `fmt`; returns export.json.

    `decisions`: a `radvqa-data review pull` file; its rejected rows are left out and its
    corrected answers used (`radvqa_data.core.decisions`), as the card and export.json say.
    `overwrite`: replace another export in `out` (see the module docstring). export.json's
    ``notes`` say what the export lacks (no train split)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: unknown format (expected one of {', '.join(FORMATS)})")
    folder, out = Path(folder), Path(out)
    inp = load_export_input(folder, catalog=catalog, manifest=manifest)
    applied = None
    if decisions is not None:
        from radvqa_data.core.decisions import apply_decisions, read_decisions

        inp.rows, applied = apply_decisions(inp.rows, read_decisions(decisions))
        applied["file"] = str(Path(decisions).resolve())
    earlier = _earlier_files(out, folder, fmt, overwrite)
    name = name or re.sub(r"[^A-Za-z0-9_-]+", "_", out.resolve().name) or "radvqa"
    has_image = inp.rows["image_problem"].is_null()
    if fmt == "hf":  # as before: every row, `image` None where the file is missing
        rows, skipped = inp.rows, inp.rows.clear()
    else:
        rows, skipped = inp.rows.filter(has_image), inp.rows.filter(~has_image)
        if rows.height == 0:
            reasons = ", ".join(
                f"{k}={n}" for k, n in skipped["image_problem"].value_counts(sort=True).iter_rows()
            )
            raise InputError(
                f"{folder}: none of the {skipped.height} rows has a usable image file "
                f"({reasons}); --format hf keeps rows without images"
            )
    # read everything that can fail (audit folder, --images) before writing anything
    contamination = read_contamination(Path(audit) if audit else None, folder, rows)
    placer = ImagePlacer(out, images) if fmt in ("llava", "sharegpt") else None
    written = ["data/"] if placer is None else ["images/"]
    if placer is not None:
        written += [f"{s}.json" for s in rows["split"].unique(maintain_order=True).to_list()]
    written += ["README.md", MARKER] + (["dataset_info.json"] if fmt == "sharegpt" else [])
    written += ["skipped.parquet"] if skipped.height else []
    # Until this export completes, the marker names every file either export may have written,
    # so a rerun after an interruption can still clean up.
    out.mkdir(parents=True, exist_ok=True)
    write_json(
        out / MARKER,
        {
            "complete": False,
            "format": fmt,
            "folder": str(folder.resolve()),
            "files": sorted(set(earlier) | set(written)),
        },
    )
    with progress_bar(f"export {fmt}", rows.height, "rows", progress) as advance:
        if placer is None:
            files = write_parquet_splits(rows, out, fmt, advance=advance)
        else:
            files = write_json_splits(rows, out, fmt, placer, name=name, advance=advance)
            placer.remove_stale()
    if skipped.height:
        write_parquet(
            out / "skipped.parquet",
            skipped.select(
                "id",
                "source",
                "image_id",
                "split",
                "image_path",
                pl.col("image_problem").alias("reason"),
            ),
        )
    problems = {
        k: n
        for k, n in inp.rows.filter(~has_image)
        .group_by("image_problem")
        .len()
        .sort("image_problem")
        .iter_rows()
    }
    card = CardInputs(
        name,
        fmt,
        files,
        problems,
        kept_without_image=fmt == "hf",
        image_mode=images if placer else None,
        contamination=contamination,
        decisions=applied,
    )
    stats = row_stats(rows)
    write_text(out / "README.md", render_card(inp, stats, card))
    _remove_stale(out, set(earlier) - set(written))
    summary = {
        "complete": True,
        "format": fmt,
        "name": name,
        "folder": str(folder.resolve()),
        "manifest": str(inp.manifest_path.resolve()),
        "catalog": str(Path(inp.catalog).resolve()),
        "audit": str(Path(audit).resolve()) if audit else None,
        "rows": rows.height,
        "splits": {s: c["rows"] for s, c in stats.by_split.items()},
        "skipped": {k: problems.get(k, 0) if fmt != "hf" else 0 for k in IMAGE_PROBLEMS},
        "rows_without_image": sum(problems.values()) if fmt == "hf" else 0,
        "quarantined": inp.quarantined,
        "decisions": applied,
        "images": placer.counts if placer else None,
        "files": written,
        "notes": _notes(stats.by_split, fmt),
    }
    write_json(out / MARKER, summary)
    return summary
