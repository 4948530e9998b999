"""Train-area fixtures: tiny models of two families and a small self-made data set.

The data set is written through the real catalog DDL (`radvqa_data.catalog.db.connect`) and the
real QA shard layout (QA_SCHEMA columns in `SHARDS/qa/part-00000.parquet`), with generated PNGs
whose answers depend on the pixels (bright/dark, left/right), so a model can actually learn.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radvqa_data.schema import QA_SCHEMA


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{family: model folder} for paligemma and idefics3 (built once per session)."""
    from radvqa_train.tiny_model import build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {f: build_tiny_model(f, root / f) for f in ("paligemma", "idefics3")}


def _image(path: Path, bright: bool, left: bool) -> None:
    import numpy as np
    from PIL import Image

    a = np.full((40, 40, 3), 200 if bright else 30, dtype=np.uint8)
    if left:
        a[:, :20] = 255 - a[:, :20]
    Image.fromarray(a).save(path)


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"catalog": FILE, "shards": DIR}: 24 images, captions, a 'vqa-rad' benchmark, QA shards."""
    import polars as pl

    from radvqa_data.catalog.db import connect

    root = tmp_path_factory.mktemp("toy-data")
    (root / "img").mkdir()
    images, texts, bench, qa = [], [], [], []
    for i in range(24):
        bright, left, split = i % 2 == 0, i % 3 == 0, "test" if i >= 18 else "train"
        image_id = f"toy{i:03d}"
        path = root / "img" / f"{image_id}.png"
        _image(path, bright, left)
        modality = "CT" if bright else "MRI"
        images.append((image_id, split, str(path), modality, "chest" if left else "head"))
        texts.append((image_id, f"{'Bright' if bright else 'Dark'} {modality} image of the {'chest' if left else 'head'}."))
        bench.append((f"q{i}", image_id, split, "Is the image bright?", "yes" if bright else "no", "closed", "ATTRIB"))
        bench.append((f"q{i}b", image_id, split, "What modality is this?", modality, "open", "MODALITY"))
        for q, a, at, qt in (("Is the left side inverted?", "yes" if left else "no", "closed", "ATTRIB"),
                             ("Which modality is shown?", modality, "open", "MODALITY")):
            qa.append({"id": f"s{len(qa)}", "image_id": image_id, "case_id": image_id, "source": "toy",
                       "split": split, "question": q, "answer": a, "answer_type": at, "question_type": qt,
                       "generator": "rules", "template_id": "t", "prompt_version": "v1", "model": None,
                       "sampling": None, "seed": 0, "source_field": "caption", "source_text": a,
                       "span_start": None, "span_end": None})
    catalog = root / "catalog.duckdb"
    con = connect(catalog)
    con.executemany("INSERT INTO images (source, image_id, split, path, status, modality, region) "
                    "VALUES ('toy', ?, ?, ?, 'ok', ?, ?)", images)
    # the same images as a benchmark source named like the real one, so recipes work unchanged
    con.executemany("INSERT INTO images (source, image_id, split, path, status, modality, region) "
                    "VALUES ('vqa-rad', ?, ?, ?, 'ok', ?, ?)", images)
    con.executemany("INSERT INTO texts VALUES ('toy', ?, 'caption', ?)", texts)
    con.executemany("INSERT INTO benchmark_qa (source, qid, image_id, split, question, answer, answer_type, "
                    "question_type) VALUES ('vqa-rad', ?, ?, ?, ?, ?, ?, ?)", bench)
    con.close()
    shards = root / "shards"
    (shards / "qa").mkdir(parents=True)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(qa, schema=QA_SCHEMA), shards / "qa" / "part-00000.parquet")
    (root / "meta.json").write_text(json.dumps({"qa_rows": len(qa)}))
    assert pl.read_parquet(shards / "qa" / "part-00000.parquet").height == len(qa)
    return {"catalog": catalog, "shards": shards, "root": root}
