"""Writing a synth output folder (layout: `radvqa_data.core.shards.ShardDir`) and the per-shard
state that makes reruns resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa

from radvqa_data.core import atomic
from radvqa_data.core.errors import ConfigError
from radvqa_data.core.schema import QA_SCHEMA, REJECT_SCHEMA
from radvqa_data.core.shards import ShardDir


def write_shard(out: Path, index: int, kept: list[dict], rejects: list[dict], stats: dict) -> None:
    """Write one shard's two Parquet files, then its state file (the commit mark), atomically."""
    d = ShardDir(out)
    atomic.write_parquet(d.reject_path(index), pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))
    atomic.write_parquet(d.qa_path(index), pa.Table.from_pylist(kept, schema=QA_SCHEMA))
    atomic.write_json(d.state_path(index), stats)


def finished_shards(out: Path) -> dict[int, dict]:
    """Index -> stats of every shard whose state file and both Parquet files exist."""
    d = ShardDir(out)
    return {i: json.loads(d.state_path(i).read_text()) for i in d.finished_indexes()}


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
            shown = [
                f"{k}: {json.dumps(a.get(k), default=str)} -> {json.dumps(b.get(k), default=str)}"
                for k in changed[:most]
            ]
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
    d = ShardDir(out)
    state = d.run_state
    for sub in d.run_dirs:  # temp files of a killed run (SIGKILL skips cleanup)
        for stale in sub.glob(".*.tmp") if sub.is_dir() else ():
            stale.unlink(missing_ok=True)
    if overwrite:
        for sub in d.run_dirs:
            shutil.rmtree(sub, ignore_errors=True)
        d.manifest.unlink(missing_ok=True)
    elif state.exists():
        old = json.loads(state.read_text())
        keys = [k for k in run if k != "resolved"]  # "resolved" only describes; fingerprints decide
        if any(old.get(k) != run[k] for k in keys):
            raise ConfigError(
                f"{out}: holds shards of a different run ({describe_change(old, run)}); "
                "use another --out or pass --overwrite"
            )
        return
    elif d.qa_dir.exists() and any(d.qa_dir.iterdir()):
        raise ConfigError(
            f"{out}: has shards but no run state; use another --out or pass --overwrite"
        )
    atomic.write_json(state, run)
