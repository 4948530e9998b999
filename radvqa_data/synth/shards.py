"""Shard files of a synth output folder, and the per-shard state that makes reruns resume.

    DIR/qa/part-NNNNN.parquet       kept rows (schema.QA_SCHEMA, zstd)
    DIR/rejects/part-NNNNN.parquet  rejected rows (schema.REJECT_SCHEMA: + reason)
    DIR/_state/run.json             config + catalog fingerprints of the run that owns DIR
    DIR/_state/part-NNNNN.json      counts of a finished shard (written last: the commit mark)
    DIR/manifest.json               totals, resolved config, catalog, code version
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa

from radvqa_data.core import atomic
from radvqa_data.core.errors import ConfigError
from radvqa_data.core.schema import QA_SCHEMA, REJECT_SCHEMA
from radvqa_data.synth.types import Candidate


def shard_name(index: int) -> str:
    """`part-NNNNN.parquet` for shard `index`."""
    return f"part-{index:05d}.parquet"


def row_id(c: Candidate) -> str:
    """Stable id: hash of (source, image_id, question, answer, generator/template)."""
    key = "\x1f".join((c.record.source, c.record.image_id, c.question, c.answer, f"{c.generator}/{c.template_id}"))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def to_row(rid: str, c: Candidate) -> dict:
    """One QA_SCHEMA row of a candidate."""
    r = c.record
    return {
        "id": rid, "image_id": r.image_id, "case_id": r.case_id, "source": r.source, "split": r.split,
        "question": c.question, "answer": c.answer, "answer_type": c.answer_type,
        "question_type": c.question_type, "generator": c.generator, "template_id": c.template_id,
        "prompt_version": c.prompt_version, "model": c.model, "sampling": c.sampling, "seed": c.seed,
        "source_field": c.source_field, "source_text": c.source_text,
        "span_start": c.span_start, "span_end": c.span_end,
    }


def write_shard(out: Path, index: int, kept: list[dict], rejects: list[dict], stats: dict) -> None:
    """Write one shard's two Parquet files, then its state file (the commit mark), atomically."""
    name = shard_name(index)
    atomic.write_parquet(out / "rejects" / name, pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))
    atomic.write_parquet(out / "qa" / name, pa.Table.from_pylist(kept, schema=QA_SCHEMA))
    atomic.write_json(out / "_state" / name.replace(".parquet", ".json"), stats)


def finished_shards(out: Path) -> dict[int, dict]:
    """Index -> stats of every shard whose state file and both Parquet files exist."""
    done: dict[int, dict] = {}
    for p in sorted((out / "_state").glob("part-*.json")):
        name = p.name.replace(".json", ".parquet")
        if (out / "qa" / name).exists() and (out / "rejects" / name).exists():
            done[int(p.stem.split("-")[1])] = json.loads(p.read_text())
    return done


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            flat.update(_flat(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def describe_change(old: dict, new: dict, most: int = 3) -> str:
    """What differs between two run states, on one line: the changed settings with old -> new
    values when both states hold the resolved config, else which fingerprint changed."""
    parts = ["catalog changed"] if old.get("catalog") != new.get("catalog") else []
    if old.get("config") != new.get("config"):
        if isinstance(old.get("resolved"), dict) and isinstance(new.get("resolved"), dict):
            a, b = _flat(old["resolved"]), _flat(new["resolved"])
            # readable settings first; a digest only says "something in the text changed"
            keys = sorted(a.keys() | b.keys(), key=lambda k: (k.endswith("digest"), k))
            changed = [k for k in keys if a.get(k) != b.get(k)]
            shown = [f"{k}: {json.dumps(a.get(k), default=str)} -> {json.dumps(b.get(k), default=str)}" for k in changed[:most]]
            more = f"; and {len(changed) - most} more" if len(changed) > most else ""
            parts.append("; ".join(shown) + more if shown else "config changed")
        else:  # a state written before the resolved config was kept: only the fingerprint is known
            parts.append("config changed")
    return "; ".join(parts) or "run state differs"


def claim_output(out: Path, run: dict, *, overwrite: bool) -> None:
    """Make `out` this run's folder: fresh, the same run resuming, or (with overwrite) wiped.

    `run` holds the fingerprints `config` and `catalog` (they decide) and optionally `resolved`,
    the resolved config, kept to name what changed when a later run differs.

    A folder holding shards of another configuration or catalog is refused, because mixing
    them would make the manifest lie.
    """
    state = out / "_state" / "run.json"
    for sub in ("qa", "rejects", "_state"):  # temp files of a killed run (SIGKILL skips cleanup)
        for stale in (out / sub).glob(".*.tmp") if (out / sub).is_dir() else ():
            stale.unlink(missing_ok=True)
    if overwrite:
        for sub in ("qa", "rejects", "_state"):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / "manifest.json").unlink(missing_ok=True)
    elif state.exists():
        old = json.loads(state.read_text())
        keys = [k for k in run if k != "resolved"]  # "resolved" only describes; fingerprints decide
        if any(old.get(k) != run[k] for k in keys):
            raise ConfigError(
                f"{out}: holds shards of a different run ({describe_change(old, run)}); "
                "use another --out or pass --overwrite"
            )
        return
    elif (out / "qa").exists() and any((out / "qa").iterdir()):
        raise ConfigError(f"{out}: has shards but no run state; use another --out or pass --overwrite")
    atomic.write_json(state, run)

