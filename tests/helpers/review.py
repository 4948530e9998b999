"""Small helpers for the review tests (FiftyOne datasets built from the demo shards)."""

from __future__ import annotations

from typing import Any


def label_ids(ds: Any) -> list[str]:
    """The QA row ids on the labels of `ds`, in sample order."""
    return [r for ids in ds.values("qa.classifications.row_id") for r in ids or []]


def labels_by_row(ds: Any) -> dict[str, Any]:
    """row id -> (sample, label), walking the samples one by one (independent of `values`)."""
    out = {}
    for sample in ds.iter_samples():
        for lab in sample.qa.classifications:
            out[lab.row_id] = (sample, lab)
    return out
