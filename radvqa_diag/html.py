"""Render `index.html`: one self-contained page (inline CSS/JS, images as files beside it).

No CDN, no fonts, no server: the page opens from disk. The gallery filters (flag, pattern,
group, correct/wrong) live in the URL hash, e.g. ``index.html#flag=confidently_wrong``, so a
filtered view can be bookmarked or linked from the pattern list.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from radvqa_data.core.atomic import write_text
from radvqa_diag import failures
from radvqa_diag.analyze import PRIMARY

IMAGE_KINDS = [
    ("image", "image"),
    ("map", f"map ({PRIMARY})"),
    (f"overlay_{PRIMARY}", "gradient×input"),
    ("overlay_gradcam", "Grad-CAM"),
    ("overlay_attention", "attention"),
    ("overlay_rollout", "rollout"),
]


def pct(x: float | None) -> str:
    """0.734 -> '73.4%'; missing -> '–'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}%"


def verdict(summary: dict) -> str | None:
    """One sentence: does the model beat guessing on its headline figure?"""
    from radvqa_diag.baselines import BASELINE_LABELS

    if not summary.get("metrics"):
        return None
    h = summary["headline"]
    ours = summary["metrics"][h]
    base = {k: m[h] for k, m in summary["baselines"].items() if m[h] is not None}
    if ours is None or not base:
        return None
    name, best = max(base.items(), key=lambda kv: kv[1])
    label = BASELINE_LABELS[name]
    if ours < best:
        return (
            f"The model scores {pct(ours)} on {h}, {100 * (best - ours):.1f} points below the "
            f"{label} baseline ({pct(best)}): it does worse than a guess that ignores the image."
        )
    return (
        f"The model scores {pct(ours)} on {h}, {100 * (ours - best):.1f} points above the best "
        f"baseline, {label} ({pct(best)})."
    )


def _num(x) -> float:
    return float("nan") if x is None else float(x)


def _cards(gallery: pl.DataFrame, patterns: pl.DataFrame, assets: dict) -> list[dict]:
    pattern_of = {
        i: p for p, ids in zip(patterns["pattern_id"], patterns["ids"], strict=True) for i in ids
    }
    cards = []
    for r in gallery.iter_rows(named=True):
        meta = " · ".join(
            f"{k.replace('_', ' ')}: {r.get(k)}" for k in failures.GROUP_COLUMNS if r.get(k)
        )
        cards.append(
            {
                "id": r["id"],
                "question": r["question"],
                "reference": r.get("answer") or "",
                "prediction": r["prediction"],
                "correct": bool(r["correct"]),
                "confidence": _num(r["confidence"]),
                "flags": [f for f in failures.FLAGS if r.get(f"flag_{f}")],
                "pattern": pattern_of.get(r["id"]),
                "groups": {
                    k: str(r[k]) if r.get(k) is not None else "(unknown)"
                    for k in failures.GROUP_COLUMNS
                },
                "assets": assets.get(r["id"], {}),
                "meta": meta,
                "body": r.get(f"body_share__{PRIMARY}"),
                "markers": r.get(f"marker_share__{PRIMARY}"),
                "border": r.get(f"border_share__{PRIMARY}"),
                "entropy": _num(r.get(f"entropy__{PRIMARY}")),
                "agreement": _num(r.get("agreement_spearman")),
            }
        )
    return cards


def render_report(
    out: Path,
    summary: dict,
    groups: pl.DataFrame,
    patterns: pl.DataFrame,
    gallery: pl.DataFrame,
    assets: dict,
) -> Path:
    """Write charts and `index.html` into `out`; returns the page's path."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from radvqa_diag.charts import accuracy_chart, flags_chart

    charts = []
    for dim in failures.GROUP_COLUMNS:
        if accuracy_chart(groups, dim, out / "charts" / f"accuracy_{dim}.png"):
            charts.append(f"charts/accuracy_{dim}.png")
    flags_png = None
    if summary["flag_counts"]:
        flags_chart(summary["flag_counts"], out / "charts" / "flags.png")
        flags_png = "charts/flags.png"
    env = Environment(
        loader=PackageLoader("radvqa_diag", "templates"), autoescape=select_autoescape()
    )
    from radvqa_diag.baselines import (
        BASELINE_DEFINITIONS,
        BASELINE_LABELS,
        DEFINITIONS,
        SHOWN,
    )

    n_min = summary.get("min_pattern_cases", 1)
    html = env.get_template("report.html.jinja").render(
        shown=SHOWN,
        metric_defs=DEFINITIONS,
        baseline_labels=BASELINE_LABELS,
        baseline_defs=BASELINE_DEFINITIONS,
        verdict=verdict(summary),
        flag_defs=failures.FLAG_DEFINITIONS,
        flag_labels=failures.FLAG_LABELS,
        big_patterns=[p for p in patterns.to_dicts() if p["n"] >= n_min],
        small_patterns=[p for p in patterns.to_dicts() if p["n"] < n_min],
        min_pattern_cases=n_min,
        s=summary,
        pct=pct,
        groups=groups.to_dicts(),
        charts=charts,
        flags_chart=flags_png,
        patterns=patterns.to_dicts(),
        flags=failures.FLAGS,
        cards=_cards(gallery, patterns, assets),
        image_kinds=IMAGE_KINDS,
    )
    write_text(out / "index.html", html)
    return out / "index.html"
