"""Per-shard counts and the run manifest (`DIR/manifest.json`) built from them.

Counts are kept per shard in the shard's state file, so a resumed run's manifest is built from
the same numbers as an uninterrupted one. The manifest holds no timestamps: the same config on
the same catalog gives the same manifest.
"""

from __future__ import annotations

import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from radvqa_data.core import atomic
from radvqa_data.core.answers import CLOSED
from radvqa_data.core.shards import ShardDir
from radvqa_data.core.splits import TRAIN
from radvqa_data.reader.image_records import ShardPlan
from radvqa_data.synth.config import SynthConfig


def shard_stats(
    plan: ShardPlan,
    n_images: int,
    kept: list[dict],
    rejects: list[dict],
    backend: dict | None = None,
) -> dict:
    """The counts of one shard (everything the manifest sums); `backend`: the LLM backend's
    counters for this shard (requests, retries, timeouts, tokens, seconds), empty for rules."""
    yes_no: dict[str, Counter] = defaultdict(Counter)
    cases: dict[str, set] = defaultdict(set)
    for r in kept:
        a = r["answer"].strip().lower()
        if r["answer_type"] == CLOSED and a in ("yes", "no"):
            yes_no[r["question_type"]][a] += 1
        if r["case_id"] is not None:
            cases[f"{r['source']}\x1f{r['case_id']}"].add(r["split"] or "")
    return {
        "index": plan.index,
        "source": plan.source,
        "first": plan.first,
        "last": plan.last,
        "images": n_images,
        "images_with_rows": len({r["image_id"] for r in kept}),
        "qa_rows": len(kept),
        "reject_rows": len(rejects),
        "by_split": dict(Counter(r["split"] or "none" for r in kept)),
        "by_question_type": dict(Counter(r["question_type"] for r in kept)),
        "by_answer_type": dict(Counter(r["answer_type"] for r in kept)),
        "by_type_and_answer_type": dict(
            Counter(f"{r['question_type']}/{r['answer_type']}" for r in kept)
        ),
        "by_source": dict(Counter(r["source"] for r in kept)),
        "yes_no": {t: dict(c) for t, c in yes_no.items()},
        "answer_words": dict(Counter(str(len(r["answer"].split())) for r in kept)),
        "rejects_by_reason": dict(Counter(r["reason"] for r in rejects)),
        # per rule and question type: how many rows each rule dropped (issue 20); the yes/no
        # balance's rows were true rows, trimmed only for balance
        "rejects_by_reason_and_type": dict(
            Counter(f"{r['reason']}/{r['question_type']}" for r in rejects)
        ),
        "weighted_rows": sum(r.get("sample_weight") is not None for r in kept),
        # metadata facts `label-issues` flagged: dropped, or asked with the suggested value
        "label_issues": {
            "rejected": sum(r["reason"] == "label_issue" for r in rejects),
            "used_suggested": sum(
                (r["source_field"] or "").startswith("label_model.") for r in kept
            ),
        },
        "case_splits": {k: sorted(v) for k, v in cases.items()},
        "backend": dict(backend or {}),
    }


def _sum(dicts) -> dict:
    total: Counter = Counter()
    for d in dicts:
        total.update(d)
    return dict(sorted(total.items()))


def backend_totals(shards) -> dict:
    """Sum the shards' backend counters (`peak_*` counters: the maximum)."""
    total: dict = {}
    for s in shards:
        for k, v in (s.get("backend") or {}).items():  # shards of older runs have none
            total[k] = max(total.get(k, v), v) if k.startswith("peak_") else total.get(k, 0) + v
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(total.items())}


def _median_from_hist(hist: dict[str, int]) -> float | None:
    n = sum(hist.values())
    if n == 0:
        return None
    values = sorted((int(k), v) for k, v in hist.items())

    def nth(i: int) -> int:
        seen = 0
        for value, count in values:
            seen += count
            if seen > i:
                return value
        return values[-1][0]

    return (nth((n - 1) // 2) + nth(n // 2)) / 2


def code_version() -> dict:
    """Package version, rules version and git commit (when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    from radvqa_data.synth.rules.templates import RULES_VERSION

    try:
        pkg = version("radvqa")
    except PackageNotFoundError:
        pkg = None
    try:
        git = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=Path(__file__).parent,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        git = None
    return {"package": pkg, "rules_version": RULES_VERSION, "git": git}


def write_manifest(
    out: Path,
    config: SynthConfig,
    *,
    catalog: Path,
    catalog_fp: str,
    plans: list[ShardPlan],
    done: dict[int, dict],
    case_conflicts: int,
    generator: str,
    left_out: dict | None = None,
    not_done: list[str] | None = None,
) -> dict:
    """Sum the shards' counts into `out/manifest.json` (atomically) and return it.

    `left_out`: images the run did not read (`images_left_out`); `not_done`: one line per
    reason rows are missing; a missing train split is added to them here, from the counts."""
    shards = [done[p.index] for p in plans if p.index in done]
    yes_no: dict[str, Counter] = defaultdict(Counter)
    cases: dict[str, set] = defaultdict(set)
    for s in shards:
        for t, c in s["yes_no"].items():
            yes_no[t].update(c)
        for k, v in s["case_splits"].items():
            cases[k].update(v)
    manifest = {
        "format": "radvqa-synth/1",
        "layout": {"qa": "qa/part-NNNNN.parquet", "rejects": "rejects/part-NNNNN.parquet"},
        "complete": len(shards) == len(plans),
        "shards": len(plans),
        "images": sum(s["images"] for s in shards),
        "images_with_rows": sum(s["images_with_rows"] for s in shards),
        "qa_rows": sum(s["qa_rows"] for s in shards),
        "reject_rows": sum(s["reject_rows"] for s in shards),
        "by_split": _sum(s["by_split"] for s in shards),
        "by_question_type": _sum(s["by_question_type"] for s in shards),
        "by_answer_type": _sum(s["by_answer_type"] for s in shards),
        "by_type_and_answer_type": _sum(s["by_type_and_answer_type"] for s in shards),
        "by_source": _sum(s["by_source"] for s in shards),
        "yes_rate": {
            t: round(c["yes"] / (c["yes"] + c["no"]), 4)
            for t, c in sorted(yes_no.items())
            if c["yes"] + c["no"]
        },
        "yes_no_counts": {t: dict(c) for t, c in sorted(yes_no.items())},
        "median_answer_words": _median_from_hist(_sum(s["answer_words"] for s in shards)),
        "rejects_by_reason": _sum(s["rejects_by_reason"] for s in shards),
        "rejects_by_reason_and_type": _sum(
            s.get("rejects_by_reason_and_type", {})
            for s in shards  # older shards: none
        ),
        "balance": {
            "mode": config.balance,
            "true_rows_removed_per_type": {
                k.split("/", 1)[1]: v
                for k, v in sorted(
                    _sum(s.get("rejects_by_reason_and_type", {}) for s in shards).items()
                )
                if k.startswith("yes_no_balance/")
            },
            "weighted_rows": sum(s.get("weighted_rows", 0) for s in shards),
        },
        # rows: facts flagged by `label-issues` rejected / asked with the suggested value
        "label_issues": _sum(s.get("label_issues", {}) for s in shards),  # older shards: none
        # resolved: whole case -> most held-out split
        "case_split_conflicts_in_catalog": case_conflicts,
        "case_split_violations": sum(
            1 for v in cases.values() if len(v) > 1
        ),  # in the rows written: must be 0
        # images of the selected sources not read: source -> status -> split -> images
        "images_left_out": left_out or {},
        "generator": generator,
        "backend_counters": backend_totals(shards),  # LLM backends, over the finished shards
        "config": config.resolved(),
        "catalog": {"path": str(Path(catalog).resolve()), "fingerprint": catalog_fp},
        "code_version": code_version(),
    }
    manifest["not_done"] = list(not_done or []) + train_split_note(manifest, left_out or {})
    atomic.write_json(ShardDir(out).manifest, manifest)
    return manifest


def splits_text(counts: dict[str, int]) -> str:
    """``test 2,236, validation 2,218``: counts per split, largest first."""
    return ", ".join(f"{s} {n:,}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def train_split_note(manifest: dict, left_out: dict) -> list[str]:
    """A missing train split, said with the run's rows per split and what would bring it
    ([] when there are train rows, or no rows at all: the empty run says so itself)."""
    by_split = manifest.get("by_split") or {}
    if not manifest.get("qa_rows") or by_split.get(TRAIN):
        return []
    missing_train = sum(
        per_split.get(TRAIN, 0)
        for by_status in left_out.values()
        for per_split in by_status.values()
    )
    why = (
        f"{missing_train:,} train records have no usable image file"
        if missing_train
        else "the sources read have no train split"
    )
    return [
        f"no train split: 0 train rows ({splits_text(by_split)}); {why}; "
        "`radvqa-train run` and the llava/sharegpt train file need train rows"
    ]
