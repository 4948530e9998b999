"""Fill the modality and organ a benchmark does not state with the label model's prediction.

VQA-RAD gives no modality for most of its pictures, so most of its predictions used to fall in
one "modality (unknown)" group. `radvqa-data label-issues` predicts modality, plane and region
for every catalogued picture (table `label_predictions`, declared in `core.catalog_schema`);
here a missing value takes the predicted one, marked as such ("CT (predicted)"), so a group of
predicted labels never mixes with the stated ones. Only a confident prediction is used.

The label model learns from the catalog's non-benchmark pictures; MedPix 2.0 has only CT and MRI,
so an X-ray is predicted as one of them (docs/label-issues.md gives the measured accuracy on the
VQA-RAD pictures whose modality is known).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

#: Below this probability a missing label stays unknown.
MIN_CONFIDENCE = 0.8
#: predictions column -> label_predictions.field
FIELDS = {"modality": "modality", "organ": "organ"}
SUFFIX = " (predicted)"


def fill_predicted(df: pl.DataFrame, catalog: str | Path | None) -> pl.DataFrame:
    """`df` with null modality/organ replaced by '<predicted> (predicted)' where the catalog has
    a confident prediction for the row's (source, image_id); unchanged without one."""
    if catalog is None or "image_id" not in df.columns:
        return df
    from radvqa_data.core.db import connect
    from radvqa_data.reader.catalog import confident_label_predictions

    with connect(catalog, read_only=True) as con:
        rows = confident_label_predictions(con, MIN_CONFIDENCE)
    if not rows:
        return df
    preds = pl.DataFrame(
        rows, schema=["_psrc", "image_id", "_field", "_pred"], orient="row"
    ).with_columns(pl.col("_pred") + SUFFIX)
    for col, field in FIELDS.items():
        if col not in df.columns:
            continue
        mine = preds.filter(pl.col("_field") == field).drop("_field")
        # by (source, image_id); a row without a source by image_id when only one source has it
        sole = mine.filter(pl.col("image_id").is_unique()).select("image_id", _p2="_pred")
        df = (
            df.join(
                mine, left_on=["source", "image_id"], right_on=["_psrc", "image_id"], how="left"
            )
            .join(sole, on="image_id", how="left")
            .with_columns(pl.coalesce(col, "_pred", "_p2").alias(col))
            .drop("_pred", "_p2")
        )
    return df
