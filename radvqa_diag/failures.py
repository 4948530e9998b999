"""Failure modes: accuracy per group with Wilson intervals, flags per example,
flagged-case patterns.

Flags (columns ``flag_*`` of the per-example table):
- ``confidently_wrong``: wrong, and the model's confidence (geometric mean of the answer's token
  probabilities) is at or above the threshold (default: the run's 75th percentile clamped to
  [0.2, 0.5], see `confidence_threshold`; the value used goes into summary.json);
- ``off_anatomy``: less than half of the primary map's relevance lies on the body mask;
- ``on_markers``: at least 20 % of the relevance lies on burned-in text / markers;
- ``inconsistent_paraphrase``: the model answers a question and its paraphrase (VQA-RAD
  ``linked_id``) differently.
Patterns group flagged cases by (question type, modality, organ, dominant flag), biggest first.
"""

from __future__ import annotations

import math

import polars as pl

from radvqa_data.core.answers import normalize_answer

FLAGS = ("confidently_wrong", "off_anatomy", "on_markers", "inconsistent_paraphrase")
#: dominance order when a case has several flags (the most specific explanation first)
FLAG_PRIORITY = ("on_markers", "off_anatomy", "inconsistent_paraphrase", "confidently_wrong")
GROUP_COLUMNS = ("answer_type", "question_type", "modality", "organ", "source")
OFF_ANATOMY_BODY_SHARE = 0.5
ON_MARKERS_SHARE = 0.2
FLAG_LABELS = {
    "confidently_wrong": "confidently wrong",
    "off_anatomy": "relevance off the anatomy",
    "on_markers": "relevance on burned-in markers/text",
    "inconsistent_paraphrase": "inconsistent under paraphrase",
}

#: each flag as the report defines it where it shows the flag
FLAG_DEFINITIONS = {
    "confidently_wrong": "a wrong answer given with confidence at or above the run's "
    "'confident' threshold (confidence: geometric mean of the answer tokens' probabilities)",
    "off_anatomy": f"less than {OFF_ANATOMY_BODY_SHARE:.0%} of the relevance map lies on the "
    "body (the image's foreground): the model looked beside the patient",
    "on_markers": f"at least {ON_MARKERS_SHARE:.0%} of the relevance lies on burned-in text, "
    "rulers or markers",
    "inconsistent_paraphrase": "the model answers a question and its VQA-RAD paraphrase "
    "(same linked_id) differently",
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95 % by default); (nan, nan) when n == 0."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # clamp: at k = 0 or k = n rounding can put the bound a hair past p
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def group_accuracy(df: pl.DataFrame, columns: tuple[str, ...] = GROUP_COLUMNS) -> pl.DataFrame:
    """Accuracy per value of each grouping column, with counts and Wilson CI; worst first."""
    rows = []
    for col in columns:
        if col not in df.columns:
            continue
        agg = (
            df.with_columns(pl.col(col).cast(pl.Utf8).fill_null("(unknown)"))
            .group_by(col)
            .agg(pl.len().alias("n"), pl.col("correct").cast(pl.Int64).sum().alias("n_correct"))
        )
        for value, n, k in agg.iter_rows():
            lo, hi = wilson(int(k), int(n))
            rows.append(
                {
                    "dimension": col,
                    "value": value,
                    "n": int(n),
                    "n_correct": int(k),
                    "accuracy": k / n if n else float("nan"),
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    schema = {
        "dimension": pl.Utf8,
        "value": pl.Utf8,
        "n": pl.Int64,
        "n_correct": pl.Int64,
        "accuracy": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort(["accuracy", "n"], descending=[False, True])


def paraphrase_inconsistent(df: pl.DataFrame) -> pl.Series:
    """True where an example's `linked_id` group holds different (normalized) predictions."""
    if "linked_id" not in df.columns:
        return pl.Series("inconsistent_paraphrase", [False] * df.height)
    norm = df.select(
        pl.col("linked_id"),
        pl.col("prediction").map_elements(normalize_answer, return_dtype=pl.Utf8).alias("p"),
    )
    n_answers = norm.group_by("linked_id").agg(
        pl.col("p").n_unique().alias("k"), pl.len().alias("m")
    )
    joined = norm.join(n_answers, on="linked_id", how="left", nulls_equal=False)
    flag = (joined["linked_id"].is_not_null() & (joined["m"] > 1) & (joined["k"] > 1)).fill_null(
        False
    )
    return flag.alias("inconsistent_paraphrase")


#: the automatic "confident" threshold stays within these bounds (geometric-mean token probability)
CONFIDENT_RANGE = (0.2, 0.5)


def confidence_threshold(conf: pl.Series) -> float:
    """The run's 75th-percentile confidence, clamped to `CONFIDENT_RANGE`.

    A strong model gets 0.5; a weaker one still shows the wrong answers it was most sure of,
    but nothing below 0.2 is ever called confident (an untrained model flags nothing).
    """
    lo, hi = CONFIDENT_RANGE
    finite = conf.drop_nulls().drop_nans()
    if finite.len() == 0:
        return hi
    return float(min(hi, max(lo, finite.quantile(0.75))))


def add_flags(
    df: pl.DataFrame, *, confident: float | None = None, primary: str = "grad_x_input"
) -> tuple[pl.DataFrame, float]:
    """Add ``flag_*`` columns, ``n_flags`` and ``dominant_flag``; returns the table and the
    confidence threshold used."""
    thr = confidence_threshold(df["confidence"]) if confident is None else confident
    body = pl.col(f"body_share__{primary}")
    markers = pl.col(f"marker_share__{primary}")
    df = df.with_columns(
        (~pl.col("correct") & (pl.col("confidence") >= thr))
        .fill_null(False)
        .alias("flag_confidently_wrong"),
        (body.fill_nan(None) < OFF_ANATOMY_BODY_SHARE).fill_null(False).alias("flag_off_anatomy"),
        (markers.fill_nan(None) >= ON_MARKERS_SHARE).fill_null(False).alias("flag_on_markers"),
        paraphrase_inconsistent(df).alias("flag_inconsistent_paraphrase"),
    )
    df = df.with_columns(
        pl.sum_horizontal([pl.col(f"flag_{f}").cast(pl.Int32) for f in FLAGS]).alias("n_flags")
    )
    dominant = pl.lit(None, dtype=pl.Utf8)
    for f in reversed(FLAG_PRIORITY):  # the last `when` applied wins: highest priority last
        dominant = pl.when(pl.col(f"flag_{f}")).then(pl.lit(f)).otherwise(dominant)
    return df.with_columns(dominant.alias("dominant_flag")), thr


def failure_patterns(df: pl.DataFrame, *, min_size: int = 1) -> pl.DataFrame:
    """Flagged cases grouped by (question_type, modality, organ, dominant_flag); biggest first."""
    keys = ["question_type", "modality", "organ", "dominant_flag"]
    flagged = df.filter(pl.col("dominant_flag").is_not_null()).with_columns(
        [pl.col(k).cast(pl.Utf8).fill_null("(unknown)") for k in keys[:3]]
    )
    if flagged.height == 0:
        return pl.DataFrame(
            schema={
                "pattern_id": pl.Utf8,
                **{k: pl.Utf8 for k in keys},
                "n": pl.Int64,
                "accuracy": pl.Float64,
                "mean_confidence": pl.Float64,
                "ids": pl.List(pl.Utf8),
                "label": pl.Utf8,
            }
        )
    g = (
        flagged.group_by(keys)
        .agg(
            pl.len().alias("n"),
            pl.col("correct").cast(pl.Float64).mean().alias("accuracy"),
            pl.col("confidence").mean().alias("mean_confidence"),
            pl.col("id").alias("ids"),
        )
        .filter(pl.col("n") >= min_size)
        .sort(["n", "accuracy"], descending=[True, False])
    )

    def known(value: str, what: str) -> str:  # "(unknown) · abdomen" reads as a typo
        return f"{what} unknown" if value == "(unknown)" else value

    labels = [
        f"{known(m, 'modality')} · {known(o, 'organ')} · {q} questions: {FLAG_LABELS[f]}"
        for q, m, o, f in g.select(keys).iter_rows()
    ]
    return g.with_columns(
        pl.Series("pattern_id", [f"p{i + 1}" for i in range(g.height)]),
        pl.Series("label", labels),
    ).select(["pattern_id", *keys, "n", "accuracy", "mean_confidence", "ids", "label"])
