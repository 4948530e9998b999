"""From stored predictions and current catalog labels to the label issues (cleanlab per field,
then the text evidence): the cheap step every `label-issues` run redoes in full."""

from __future__ import annotations

from collections import Counter

import duckdb
import numpy as np

from radvqa_data.labels import store
from radvqa_data.labels.issues import (
    DEFAULT_SCORE_CUTOFF,
    PIXEL_ONLY_FIELDS,
    PIXEL_SCORE_CUTOFF,
    LabelIssue,
    PixelVerdict,
    combine,
    pixel_verdicts,
)
from radvqa_data.labels.tasks import Picture
from radvqa_data.labels.text_evidence import text_label_evidence


def pixel_verdicts_by_key(
    con: duckdb.DuckDBPyConnection,
    pics: list[Picture],
    model: str,
    max_score: float | None = None,
) -> dict[tuple[str, str, str], PixelVerdict]:
    """cleanlab's verdict for every checkable (picture, field) the model has predicted; a
    label is flagged when its score (probability of the given label) is below the field's
    cutoff (`max_score` for every field, else `PIXEL_SCORE_CUTOFF`), another class is more
    probable, and the field is in `PIXEL_ONLY_FIELDS` (else the picture only backs the text,
    see `issues.combine`)."""
    by_key = {p.key: p for p in pics}
    out: dict[tuple[str, str, str], PixelVerdict] = {}
    for field, (keys, probs, classes) in store.stored_predictions(con, model).items():
        index = {c: i for i, c in enumerate(classes)}
        rows = [
            (j, by_key[k].labels[field])
            for j, k in enumerate(keys)
            if k in by_key and by_key[k].train and by_key[k].labels[field] in index
        ]
        if not rows:
            continue
        trusted = field in PIXEL_ONLY_FIELDS
        sel = np.array([j for j, _ in rows])
        labels = np.array([index[v] for _, v in rows])
        p = probs[sel]
        cutoff = max_score or PIXEL_SCORE_CUTOFF.get(field, DEFAULT_SCORE_CUTOFF)
        flagged, _ = pixel_verdicts(labels, p, classes, cutoff)
        best = p.argmax(1)
        for n, (j, given) in enumerate(rows):
            out[(*keys[j], field)] = PixelVerdict(
                given=given,
                suggested=classes[best[n]],
                p_given=float(p[n, labels[n]]),
                p_suggested=float(p[n, best[n]]),
                flagged=trusted and bool(flagged[n]),
            )
    return out


def find_issues(
    con: duckdb.DuckDBPyConnection,
    pics: list[Picture],
    model: str,
    summary,
    max_score: float | None = None,
) -> list[LabelIssue]:
    """Label issues of the catalog (worst first); counts go into `summary` (a LabelSummary)."""
    verdicts = pixel_verdicts_by_key(con, pics, model, max_score)
    text = text_label_evidence(con, None)
    issues = combine(verdicts, text)
    summary.checked_images = len({k[:2] for k in verdicts})
    summary.issues_by_field = dict(sorted(Counter(i.field for i in issues).items()))
    summary.issues_by_method = dict(sorted(Counter(i.method for i in issues).items()))
    summary.flagged_images = len({(i.source, i.image_id) for i in issues})
    return issues
