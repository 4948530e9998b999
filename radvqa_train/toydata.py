"""A small self-made data set for tests and benchmarks: generated images, a catalog, QA shards.

Written through the real catalog DDL (`radvqa_data.core.db.connect`) and the real shard
layout (QA_SCHEMA columns in ``SHARDS/qa/part-00000.parquet``). Answers depend on the pixels
(bright/dark -> CT/MRI and yes/no, inverted left half -> chest/head), so a model can learn them.
The same images are also catalogued as a benchmark source named ``vqa-rad`` so the shipped
recipes run unchanged on it.
"""

from __future__ import annotations

from pathlib import Path

from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.core.schema import QA_SCHEMA
from radvqa_data.core.shards import ShardDir


def _image(path: Path, bright: bool, left: bool, size: int) -> None:
    import numpy as np
    from PIL import Image

    a = np.full((size, size, 3), 200 if bright else 30, dtype=np.uint8)
    if left:
        a[:, : size // 2] = 255 - a[:, : size // 2]
    Image.fromarray(a).save(path)


def make_toy_data(
    root: Path, *, n_images: int = 24, n_test: int = 6, image_size: int = 40
) -> dict[str, Path]:
    """Write the data set under `root`; returns {"catalog": FILE, "shards": DIR, "root": DIR}.

    Per image: a caption, two benchmark questions (ids ``q{i}``, ``q{i}b``) and two synthetic
    QA rows. The last `n_test` images form the test split.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from radvqa_data.core.db import connect

    root = Path(root)
    (root / "img").mkdir(parents=True, exist_ok=True)
    images, texts, bench, qa = [], [], [], []
    for i in range(n_images):
        bright, left = i % 2 == 0, i % 3 == 0
        split = "test" if i >= n_images - n_test else "train"
        image_id = f"toy{i:03d}"
        path = root / "img" / f"{image_id}.png"
        _image(path, bright, left, image_size)
        modality, organ = ("CT" if bright else "MRI"), ("chest" if left else "head")
        images.append((image_id, split, str(path), modality, organ))
        texts.append(
            (image_id, f"{'Bright' if bright else 'Dark'} {modality} image of the {organ}.")
        )
        bench.append(
            (
                f"q{i}",
                image_id,
                split,
                "Is the image bright?",
                "yes" if bright else "no",
                CLOSED,
                "ATTRIB",
            )
        )
        bench.append(
            (f"q{i}b", image_id, split, "What modality is this?", modality, OPEN, "MODALITY")
        )
        for q, a, at, qt in (
            ("Is the left side inverted?", "yes" if left else "no", CLOSED, "ATTRIB"),
            ("Which modality is shown?", modality, OPEN, "MODALITY"),
        ):
            qa.append(
                {
                    "id": f"s{len(qa)}",
                    "image_id": image_id,
                    "case_id": image_id,
                    "source": "toy",
                    "split": split,
                    "question": q,
                    "answer": a,
                    "answer_type": at,
                    "question_type": qt,
                    "generator": "rules",
                    "template_id": "toy",
                    "prompt_version": "v1",
                    "model": None,
                    "sampling": None,
                    "seed": 0,
                    "source_field": "caption",
                    "source_text": a,
                    "span_start": None,
                    "span_end": None,
                }
            )
    catalog = root / "catalog.duckdb"
    con = connect(catalog)
    for source in ("toy", "vqa-rad"):
        con.executemany(
            "INSERT INTO images (source, image_id, split, image_path, status, modality, organ) "
            f"VALUES ('{source}', ?, ?, ?, 'ok', ?, ?)",
            images,
        )
    con.executemany("INSERT INTO texts VALUES ('toy', ?, 'caption', ?)", texts)
    con.executemany(
        "INSERT INTO benchmark_qa (source, qid, image_id, split, question, answer, answer_type, "
        "question_type) VALUES ('vqa-rad', ?, ?, ?, ?, ?, ?, ?)",
        bench,
    )
    con.close()
    shards = root / "shards"
    path = ShardDir(shards).qa_path(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(qa, schema=QA_SCHEMA), path)
    return {"catalog": catalog, "shards": shards, "root": root}
