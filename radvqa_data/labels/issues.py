"""Label issues: confident learning (cleanlab) on the out-of-fold probabilities, per field,
combined with the text evidence of `text_evidence.text_label_evidence`.

Per field, `cleanlab.rank.get_label_quality_scores` (self-confidence: the out-of-fold
probability of the given label) scores every label; a label is a suspect when its score is
below the field's cutoff (`PIXEL_SCORE_CUTOFF`) and another class is more probable. The cutoffs
were chosen on planted flips (docs/label-issues.md): `cleanlab.filter.find_label_issues`
(prune by noise rate, per-class thresholds) was measured against this rule and found fewer
planted flips at the same precision, because its per-class noise estimate caps how many labels
of a class it flags.

Combining the two signals (the `method` column):

- ``pixels+text``: cleanlab flags the label and the text contradicts it too, or the text
  contradicts it and the pixels lean away from it (probability of the given label < 0.5);
- ``pixels``: cleanlab flags it and the text is silent;

("cleanlab flags it" means: its score is below the field's `PIXEL_SCORE_CUTOFF`, another
class is more probable, and the field is one of `PIXEL_ONLY_FIELDS`.)
- ``text``: the text contradicts it and the model has no opinion (no picture, or a value too
  rare to learn).

A text contradiction that the picture confidently supports (probability of the given label
>= 0.5) is not an issue: a caption often describes another picture of the case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: Below this out-of-fold probability of its given label, the pixels back a text contradiction.
PIXELS_LEAN = 0.5
#: Per field, a label is flagged below this out-of-fold probability of it (self-confidence).
#: Chosen on planted flips (seed 1; confirmed on seed 0): the lowest cutoffs with recall >= 0.8
#: at precision >= 0.8 (docs/label-issues.md). Higher: more flags, more found, less precise.
#: Plane's is lower: its four classes share the probability, and the model hedges more there.
PIXEL_SCORE_CUTOFF: dict[str, float] = {"modality": 0.3, "plane": 0.12}
#: The cutoff of a field not in `PIXEL_SCORE_CUTOFF` (region's flags need the text anyway).
DEFAULT_SCORE_CUTOFF = 0.12
#: The fields the picture alone may flag. Region may not: a picture spans neighbouring regions
#: (skull base and cervical spine, lower chest and upper abdomen) and the catalog's region is
#: what the case is about; the model also misread limbs as heads with confidence. Of the first
#: 30 flags read on MedPix 2.0, region's were real errors 7 times in 19, plane's and
#: modality's 11 in 11 (docs/label-issues.md). A region flag needs the text's support.
PIXEL_ONLY_FIELDS = frozenset({"modality", "plane"})


@dataclass(frozen=True)
class LabelIssue:
    """One row of the catalog's `label_issues` table."""

    source: str
    image_id: str
    field: str  # modality | plane | organ
    given: str | None
    suggested: str | None
    score: float | None  # out-of-fold probability of the given label (None: no picture)
    evidence: str
    method: str  # pixels | text | pixels+text

    def row(self) -> tuple:
        """The table row, in `LABEL_ISSUE_COLUMNS` order."""
        return (
            self.source,
            self.image_id,
            self.field,
            self.given,
            self.suggested,
            self.score,
            self.evidence,
            self.method,
        )


@dataclass(frozen=True)
class PixelVerdict:
    """cleanlab's verdict on one picture's label of one field."""

    given: str
    suggested: str  # the most probable class
    p_given: float
    p_suggested: float
    flagged: bool


def pixel_verdicts(
    labels: np.ndarray, probs: np.ndarray, classes: list[str], max_score: float = 0.12
) -> tuple[np.ndarray, np.ndarray]:
    """(flagged mask, label quality score) of one field's labelled pictures (labels in 0..C-1):
    flagged when the score (cleanlab's self-confidence) is below `max_score` and another class
    is more probable."""
    from cleanlab.rank import get_label_quality_scores

    if len(labels) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    # cleanlab needs rows that sum to 1 and every column a probability
    probs = np.clip(probs, 1e-7, 1.0)
    probs = probs / probs.sum(1, keepdims=True)
    if len(classes) < 2 or len(np.unique(labels)) < 2:  # nothing to confuse a label with
        return np.zeros(len(labels), dtype=bool), probs[np.arange(len(labels)), labels]
    scores = np.asarray(
        get_label_quality_scores(labels, probs, method="self_confidence"), dtype=float
    )
    flagged = (scores < max_score) & (probs.argmax(1) != labels)
    return flagged, scores


def _pixel_text(v: PixelVerdict) -> str:
    return f"picture: P({v.given})={v.p_given:.2f}, P({v.suggested})={v.p_suggested:.2f}"


def combine(
    verdicts: dict[tuple[str, str, str], PixelVerdict],
    text: Iterable,
) -> list[LabelIssue]:
    """Label issues from the pixel verdicts ((source, image_id, field) -> verdict) and the text
    evidence (`TextEvidence` items); worst first (lowest score, text-only last)."""
    by_key = {(t.source, t.image_id, t.field): t for t in text}
    out: list[LabelIssue] = []
    for key in sorted(set(verdicts) | set(by_key)):
        v, t = verdicts.get(key), by_key.get(key)
        if v is not None and v.flagged:
            method = "pixels+text" if t is not None else "pixels"
            evidence = _pixel_text(v) + (f"; {t.evidence}" if t is not None else "")
            out.append(LabelIssue(*key, v.given, v.suggested, v.p_given, evidence, method))
        elif t is not None and v is None:
            out.append(LabelIssue(*key, t.given, t.suggested, None, t.evidence, "text"))
        elif t is not None and v is not None and v.p_given < PIXELS_LEAN:
            # the text names the value; the picture agrees that the given one is unlikely
            suggested = t.suggested if t.suggested is not None else v.suggested
            evidence = f"{t.evidence}; {_pixel_text(v)}"
            out.append(LabelIssue(*key, v.given, suggested, v.p_given, evidence, "pixels+text"))
    out.sort(key=lambda i: (i.score is None, i.score if i.score is not None else 0.0, i.field))
    return out
