"""`radvqa-diag report`: predictions + model (+ catalog) -> a self-contained report folder.

Steps: read predictions -> saliency + signals per example, in batches (one forward and one
backward per batch) -> flags, failure patterns, accuracy per group -> charts, gallery images,
`index.html`, `summary.json`, `examples.parquet`, `groups.parquet`, `patterns.parquet`.

Resumable: each finished batch is written to `OUT/.work/chunk-NNNNN.parquet` (maps to
`OUT/.work/maps/`); a rerun with the same model and predictions skips finished examples.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from radvqa_data.core.atomic import write_json, write_parquet
from radvqa_data.core.errors import InputError
from radvqa_data.core.progress import progress_bar
from radvqa_diag import failures
from radvqa_diag.analyze import PRIMARY, analyze_batch, load_image


@dataclass
class ReportOptions:
    """Knobs of a report run."""

    batch_size: int = 8  # higher: faster on a GPU, more memory (attentions are kept for the batch)
    limit: int | None = None  # analyze only the first N predictions (quick looks)
    gallery_max: int = 200  # examples shown in the gallery: flagged first, then the rest
    confident: float | None = None  # confidence threshold of `confidently_wrong`; None: automatic
    layers: list[int] | None = None  # LM layers averaged into the `attention` map; None: all
    progress: bool = True
    min_pattern_cases: int = 3  # patterns with fewer cases are folded away in index.html


def _fingerprint(predictions: Path, model: Path, opts: ReportOptions) -> str:
    h = hashlib.sha256(predictions.read_bytes())
    h.update(str(model.resolve()).encode())
    h.update(str((opts.limit, opts.layers)).encode())
    return h.hexdigest()[:16]


def _done_records(work: Path, fingerprint: str) -> list[dict]:
    """Records of an earlier interrupted run of the same inputs (empty when inputs changed)."""
    meta = work / "meta.json"
    if not meta.exists() or json.loads(meta.read_text())["fingerprint"] != fingerprint:
        for old in work.glob("chunk-*.parquet"):
            old.unlink()
        return []
    return [r for f in sorted(work.glob("chunk-*.parquet")) for r in pl.read_parquet(f).to_dicts()]


def compute_records(
    df: pl.DataFrame, model_dir: Path, work: Path, fingerprint: str, opts: ReportOptions
) -> tuple[list[dict], dict]:
    """Saliency + signals for every prediction not done yet; returns records and timing."""
    from radvqa_diag.loading import load_model

    work.mkdir(parents=True, exist_ok=True)
    records = _done_records(work, fingerprint)
    write_json(work / "meta.json", {"fingerprint": fingerprint})
    done = {r["id"] for r in records}
    todo = [r for r in df.to_dicts() if r["id"] not in done]
    timing = {"examples": 0, "seconds": 0.0, "device": None}  # this run only
    if not todo:
        return records, timing
    lm = load_model(model_dir)
    timing["device"] = str(lm.device)
    n_chunks = len(list(work.glob("chunk-*.parquet")))
    with progress_bar("saliency", len(todo), "examples", opts.progress) as advance:
        for start in range(0, len(todo), opts.batch_size):
            rows = todo[start : start + opts.batch_size]
            t0 = time.perf_counter()
            new = analyze_batch(lm, rows, work / "maps", opts.layers)
            spent = time.perf_counter() - t0
            n_ok = sum(r["status"] == "ok" for r in new)
            for r in new:  # kept per example so a resumed run still reports the speed
                r["seconds"] = spent / n_ok if r["status"] == "ok" else None
                r["device"] = timing["device"]
            timing["seconds"] += spent
            timing["examples"] += n_ok
            write_parquet(
                work / f"chunk-{n_chunks:05d}.parquet", pl.DataFrame(new, infer_schema_length=None)
            )
            n_chunks += 1
            records.extend(new)
            rate = timing["seconds"] / max(timing["examples"], 1)
            advance(len(rows), note=f"{rate:.2f} s/example")
    return records, timing


def _gallery_order(table: pl.DataFrame, limit: int) -> pl.DataFrame:
    ok = table.filter(pl.col("status") == "ok")
    return ok.sort(["n_flags", "correct", "confidence"], descending=[True, False, True]).head(limit)


def build_report(
    predictions: str | Path,
    model: str | Path,
    out: str | Path,
    catalog: str | Path | None = None,
    opts: ReportOptions | None = None,
) -> Path:
    """Build the report folder at `out`; returns the path of `index.html`."""
    from radvqa_diag.html import render_report
    from radvqa_diag.predicted_labels import fill_predicted
    from radvqa_diag.predictions import fill_image_paths, read_predictions

    opts = opts or ReportOptions()
    predictions, model, out = Path(predictions), Path(model), Path(out)
    df = fill_image_paths(read_predictions(predictions), catalog)
    df = fill_predicted(df, catalog)  # a benchmark's missing modality/organ: "CT (predicted)"
    if df["image_path"].is_null().all():
        raise InputError(
            f"{predictions}: no row has an image path; add an image_path column or pass --catalog "
            "so image_id can be looked up"
        )
    if opts.limit:
        df = df.head(opts.limit)
    work = out / ".work"
    records, timing = compute_records(df, model, work, _fingerprint(predictions, model, opts), opts)
    rec = pl.DataFrame(records, infer_schema_length=None)
    table = df.join(rec, on="id", how="left")
    ok = table.filter(pl.col("status") == "ok")
    flagged, threshold = failures.add_flags(ok, confident=opts.confident, primary=PRIMARY)
    table = pl.concat([flagged, table.filter(pl.col("status") != "ok")], how="diagonal_relaxed")
    groups = failures.group_accuracy(table)
    patterns = failures.failure_patterns(flagged)

    gallery = _gallery_order(table, opts.gallery_max)
    from radvqa_diag.charts import gallery_images

    assets: dict[str, dict[str, str]] = {}
    for r in gallery.iter_rows(named=True):
        files = gallery_images(
            load_image(r["image_path"]),
            work / "maps" / f"{r['slug']}.npz",
            out / "assets" / r["slug"],
            PRIMARY,
        )
        assets[r["id"]] = {k: f"assets/{r['slug']}/{v}" for k, v in files.items()}

    summary = _summary(table, groups, patterns, threshold, timing, predictions, model, catalog)
    summary["min_pattern_cases"] = opts.min_pattern_cases
    summary["n_patterns_folded"] = int((patterns["n"] < opts.min_pattern_cases).sum())
    write_parquet(out / "examples.parquet", table)
    write_parquet(out / "groups.parquet", groups)
    write_parquet(out / "patterns.parquet", patterns)
    write_json(out / "summary.json", summary)
    return render_report(out, summary, groups, patterns, gallery, assets)


def _mean_seconds(ok: pl.DataFrame) -> float | None:
    """Saliency + signals seconds per example over all runs that produced the records."""
    if "seconds" not in ok.columns or ok["seconds"].is_null().all():
        return None
    return float(ok["seconds"].mean())


def _summary(table, groups, patterns, threshold, timing, predictions, model, catalog) -> dict:
    n = table.height
    ok = table.filter(pl.col("status") == "ok")
    k = int(table["correct"].cast(pl.Int64).sum())
    lo, hi = failures.wilson(k, n)
    flag_counts = {f: int(ok[f"flag_{f}"].sum()) for f in failures.FLAGS} if ok.height else {}
    errors = table.filter(pl.col("status") != "ok").select("id", "error").to_dicts()
    return {
        "predictions": str(predictions),
        "model": str(model),
        "catalog": str(catalog) if catalog else None,
        "n_examples": n,
        "n_analyzed": ok.height,
        "n_failed_items": len(errors),
        "failed_items": errors[:50],
        "accuracy": k / n if n else None,
        "accuracy_ci95": [lo, hi],
        # eval's own figures and the trivial baselines (None without reference answers)
        **_scored_summary(table),
        "primary_method": PRIMARY,
        "confidence_threshold": threshold,
        "flag_counts": flag_counts,
        "n_flagged": int((ok["n_flags"] > 0).sum()) if ok.height else 0,
        "patterns": [{**p, "ids": p["ids"][:20]} for p in patterns.to_dicts()],
        "groups": groups.to_dicts(),
        "paraphrase_linked": int(table["linked_id"].is_not_null().sum()),
        "timing": {
            **timing,
            "seconds_per_example": _mean_seconds(ok),
            "device": ok["device"].drop_nulls().mode().sort()[0]
            if "device" in ok.columns and ok["device"].drop_nulls().len()
            else None,
        },
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _scored_summary(table: pl.DataFrame) -> dict:
    """`metrics` (as `radvqa-train eval` computes them for these predictions), `baselines`
    (always-yes, type majority) and their Wilson intervals on the headline figure; all None when
    the predictions carry no reference answers (then only `accuracy`, from `correct`, exists)."""
    from radvqa_diag.baselines import baseline_metrics, model_metrics

    if "answer" not in table.columns or table["answer"].is_null().any():
        return {"headline": None, "metrics": None, "baselines": None, "headline_ci95": None}
    m = model_metrics(table)
    headline = "closed_accuracy" if m["n_closed"] else "accuracy"
    n = m["n_closed"] if headline == "closed_accuracy" else m["n"]
    k = round(m[headline] * n) if m[headline] is not None else 0
    return {
        "headline": headline,
        "metrics": m,
        "baselines": baseline_metrics(table),
        "headline_ci95": list(failures.wilson(k, n)),
    }
