"""QA shards with known audit findings on the shipped sample (the audit report's tests and its
screenshot)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def audited_shards(root: Path, sample_catalog: Path) -> Path:
    """QA rows on the sample's MedPix images (three of which are VQA-RAD pictures), plus planted
    exact duplicates: two within the validation split, one across validation and test."""
    import duckdb

    con = duckdb.connect(str(sample_catalog), read_only=True)
    imgs = con.execute(
        "SELECT image_id, split, case_id FROM images WHERE source = 'medpix2' AND status = 'ok' "
        "ORDER BY image_id"
    ).fetchall()
    con.close()
    rows = []
    for i, (img, split, grp) in enumerate(imgs):
        for j, (q, a) in enumerate(
            [("What abnormality is seen?", "mass"), (f"Which finding is on image {i}?", f"f{i}")]
        ):
            rows.append(
                {
                    "id": f"r{i}-{j}",
                    "image_id": img,
                    "case_id": grp,
                    "source": "medpix2",
                    "split": split,
                    "question": q,
                    "answer": a,
                }
            )
    # the sample's MedPix images are in test and validation (MedPix 2.0 ships no train images)
    one = [r for r in rows if r["split"] == "validation" and r["id"].endswith("-1")]
    other = [r for r in rows if r["split"] == "test" and r["id"].endswith("-1")]
    assert len(one) >= 2 and other
    rows += [{**one[0], "id": "dupW1"}, {**one[1], "id": "dupW2"}]  # within validation
    rows.append({**other[0], "id": "dupX", "split": "validation"})  # its image in two splits
    out = root / "shards"
    (out / "qa").mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(out / "qa" / "part-00000.parquet")
    return out
