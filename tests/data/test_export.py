"""`radvqa-data export`: each format read by its consumer (datasets, a VLM chat template,
LLaVA's and LLaMA-Factory's JSON layouts), images resolving, rows without images skipped."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import polars as pl
import pytest

from radvqa_data.cli import app
from tests.helpers.export import export, qa_rows, runner
from tests.helpers.synth_data import rules_catalog_for

PROVENANCE_KEYS = {"source", "image_id", "question_type", "answer_type", "generator", "template_id"}

# LLaVA's instruction-tuning record (llava/train/train.py reads id, image, conversations).
LLAVA_SCHEMA = {
    "type": "object",
    "required": ["id", "image", "conversations", "provenance"],
    "properties": {
        "id": {"type": "string"},
        "image": {"type": "string", "pattern": "^images/[^/]+/[^/]+$"},
        "conversations": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "prefixItems": [
                {
                    "type": "object",
                    "required": ["from", "value"],
                    "properties": {
                        "from": {"const": "human"},
                        "value": {"type": "string", "pattern": "^<image>\n."},
                    },
                },
                {
                    "type": "object",
                    "required": ["from", "value"],
                    "properties": {
                        "from": {"const": "gpt"},
                        "value": {"type": "string", "minLength": 1},
                    },
                },
            ],
        },
        "provenance": {"type": "object", "required": sorted(PROVENANCE_KEYS)},
    },
}

# LLaMA-Factory's multimodal ShareGPT record (data/mllm_demo.json layout).
SHAREGPT_SCHEMA = {
    "type": "object",
    "required": ["messages", "images"],
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["user", "assistant"]},
                    "content": {"type": "string"},
                },
            },
        },
        "images": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "provenance": {"type": "object", "required": sorted(PROVENANCE_KEYS)},
    },
}


def catalog_files(catalog: Path) -> dict[str, str]:
    from tests.conftest import query_catalog

    return {
        img: path for img, path in query_catalog(catalog, "SELECT image_id, image_path FROM images")
    }


@functools.cache
def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_llava_records_follow_the_schema_and_images_resolve(exports, sample_shards):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(
        LLAVA_SCHEMA
    )  # validate() re-checks the schema per call
    out, qa = exports["llava"], qa_rows(sample_shards["shards"])
    files = catalog_files(sample_shards["catalog"])
    by_id = {r["id"]: r for r in qa.iter_rows(named=True)}
    seen = 0
    for split in qa["split"].unique():
        records = json.loads(
            (out / f"{split}.json").read_text()
        )  # LLaVA: json.load(open(data_path))
        for rec in records:
            validator.validate(rec)
            row = by_id[rec["id"]]
            assert rec["conversations"][0]["value"] == "<image>\n" + row["question"]
            assert rec["conversations"][1]["value"] == row["answer"]
            assert rec["provenance"]["split"] == split == row["split"]
            # LLaVA opens os.path.join(image_folder, image): the very file the catalog holds
            image = os.path.join(out, rec["image"])
            assert sha(image) == sha(files[row["image_id"]])
        seen += len(records)
    assert seen == qa.height
    assert len(list((out / "images").rglob("*.png"))) == qa["image_id"].n_unique()


def test_sharegpt_reads_the_way_llama_factory_loads_it(exports, sample_shards, tmp_path):
    """dataset_info.json -> file -> `load_dataset("json")` -> roles, <image> count, media paths."""
    jsonschema = pytest.importorskip("jsonschema")
    import datasets

    validator = jsonschema.Draft202012Validator(SHAREGPT_SCHEMA)
    dataset_dir = exports["sharegpt"]
    info = json.loads((dataset_dir / "dataset_info.json").read_text())
    qa = qa_rows(sample_shards["shards"])
    assert set(info) == {f"sharegpt_{s}" for s in qa["split"].unique()}
    total = 0
    for entry in info.values():
        assert entry["formatting"] == "sharegpt" and entry["columns"] == {
            "messages": "messages",
            "images": "images",
        }
        tags = entry["tags"]
        ds = datasets.load_dataset(
            "json",
            data_files=os.path.join(dataset_dir, entry["file_name"]),
            split="train",
            cache_dir=str(tmp_path / "hf-cache"),
        )
        for rec in ds:
            validator.validate(rec)
            msgs = rec[entry["columns"]["messages"]]
            # LLaMA-Factory's converter: user turns at even indices, assistant at odd ones
            assert [m[tags["role_tag"]] for m in msgs] == [tags["user_tag"], tags["assistant_tag"]]
            images = rec[entry["columns"]["images"]]
            # its mm_plugin requires one <image> placeholder per image
            assert sum(m[tags["content_tag"]].count("<image>") for m in msgs) == len(images) == 1
            # media paths are joined to media_dir, which defaults to dataset_dir
            assert all(os.path.isfile(os.path.join(dataset_dir, p)) for p in images)
        total += len(ds)
    assert total == qa.height


def test_messages_loads_with_datasets_and_renders_through_a_vlm_chat_template(
    exports, sample_shards, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets
    from transformers import AutoProcessor

    from radvqa_train.tiny_model import build_tiny_model

    ds = datasets.load_dataset(str(exports["messages"]), cache_dir=str(tmp_path / "hf-cache"))
    qa = qa_rows(sample_shards["shards"])
    assert {s: len(ds[s]) for s in ds} == {s: n for s, n in qa.group_by("split").len().iter_rows()}
    assert isinstance(ds["test"].features["images"].feature, datasets.Image)
    row = ds["test"][0]
    question = row["messages"][0]["content"][1]["text"]
    answer = row["messages"][1]["content"][0]["text"]
    assert PROVENANCE_KEYS <= set(row["provenance"])
    processor = AutoProcessor.from_pretrained(build_tiny_model("idefics3", tmp_path / "idefics3"))
    # what TRL's vision collator does: render the messages, then process text + images
    text = processor.apply_chat_template(row["messages"], tokenize=False)
    assert text.count("<image>") == 1 and question in text and answer in text
    batch = processor(images=[row["images"]], text=[text], return_tensors="pt")
    image_tokens = int((batch["input_ids"] == processor.image_token_id).sum())
    assert image_tokens == processor.image_seq_len and batch["pixel_values"].numel() > 0


def test_hf_export_of_the_demo_shards_loads_with_images(
    exports, sample_shards, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    ds = datasets.load_dataset(str(exports["hf"]), cache_dir=str(tmp_path / "hf-cache"))
    qa = qa_rows(sample_shards["shards"])
    assert sum(len(ds[s]) for s in ds) == qa.height
    assert all(img is not None and img.size[0] > 0 for img in ds["test"]["image"][:10])
    assert set(ds["test"].column_names) >= set(qa.columns)


def test_export_hf_loads_with_datasets(real_catalog, tmp_path: Path, monkeypatch):
    """Real MedPix 2.0: the train split's PNGs are absent; `hf` keeps those rows, image None."""
    rules_catalog = rules_catalog_for(real_catalog)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    shards, out = tmp_path / "shards", tmp_path / "hf"
    r = runner.invoke(
        app,
        [
            "synth",
            "--catalog",
            str(rules_catalog),
            "--out",
            str(shards),
            "--limit",
            "120",
            "--allow-missing-images",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    summary = export(shards, out, "hf")

    import datasets

    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    qa = qa_rows(shards)
    assert sum(len(ds[s]) for s in ds) == qa.height
    assert set(ds) == set(qa["split"].unique())
    assert isinstance(ds["train"].features["image"], datasets.Image)
    assert json.loads((shards / "manifest.json").read_text())["qa_rows"] == qa.height
    # rows of images whose PNG is present (dev/test split of MedPix) carry the decoded picture
    with_image = [
        row
        for s in ("validation", "test")
        if s in ds
        for row in ds[s].select(range(min(5, len(ds[s]))))
    ]
    assert with_image and all(
        row["image"] is not None and row["image"].size[0] > 0 for row in with_image
    )
    # rows whose file is missing (the MedPix train split here) have no image
    assert all(img is None for img in ds["train"]["image"][:20])
    assert (
        summary["rows_without_image"] == sum(1 for img in ds["train"]["image"] if img is None) > 0
    )


def test_rows_without_an_image_file_are_skipped_with_a_reason(tmp_path: Path, sample_dir: Path):
    """A file deleted after cataloguing (file_gone) and a row of an uncatalogued image."""
    from radvqa_data.catalog.ingest import add_source

    src = tmp_path / "medpix2"
    (src / "images").mkdir(parents=True)
    for f in ("Case_topic.json", "Descriptions.json"):
        (src / f).write_bytes((sample_dir / "medpix2" / f).read_bytes())
    os.symlink(sample_dir / "medpix2" / "splitted_dataset", src / "splitted_dataset")
    for png in (sample_dir / "medpix2" / "images").glob("*.png"):
        (src / "images" / png.name).write_bytes(png.read_bytes())
    catalog, shards = tmp_path / "cat.duckdb", tmp_path / "shards"
    add_source(catalog, "medpix2", src, progress=False)
    r = runner.invoke(
        app, ["synth", "--catalog", str(catalog), "--out", str(shards), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    qa = qa_rows(shards)
    gone = sorted(qa["image_id"].unique().to_list())[:2]
    for image_id in gone:
        (src / "images" / f"{image_id}.png").unlink()
    stray = qa.head(1).with_columns(
        pl.lit("stray1").alias("id"), pl.lit("MPX0_synpic0").alias("image_id")
    )
    stray.write_parquet(shards / "qa" / "part-99999.parquet")
    n_gone = qa.filter(pl.col("image_id").is_in(gone)).height

    for fmt in ("llava", "sharegpt", "messages"):
        out = tmp_path / fmt
        summary = export(shards, out, fmt)
        assert summary["skipped"] == {
            "not_in_catalog": 1,
            "no_image_file": 0,
            "corrupt_image": 0,
            "file_gone": n_gone,
        }
        assert summary["rows"] == qa.height - n_gone
        skipped = pl.read_parquet(out / "skipped.parquet")
        assert sorted(skipped["reason"].unique().to_list()) == ["file_gone", "not_in_catalog"]
        assert set(skipped.filter(pl.col("reason") == "file_gone")["image_id"]) == set(gone)
        card = (out / "README.md").read_text()
        assert f"| file_gone | {n_gone} |" in card and "| not_in_catalog | 1 |" in card
    for fmt in ("llava", "sharegpt"):  # no record points at a file that is not there
        for f in (tmp_path / fmt).glob("*.json"):
            if f.name in ("export.json", "dataset_info.json"):
                continue
            for rec in json.loads(f.read_text()):
                image = rec["image"] if fmt == "llava" else rec["images"][0]
                assert (tmp_path / fmt / image).is_file()
    summary = export(shards, tmp_path / "hf", "hf")  # hf keeps them, image None
    assert summary["rows"] == qa.height + 1 and summary["rows_without_image"] == n_gone + 1
    for png in (src / "images").glob("*.png"):  # no image left: an error, not an empty export
        png.unlink()
    out = tmp_path / "none"
    r = runner.invoke(app, ["export", str(shards), "--format", "llava", "--out", str(out)])
    assert r.exit_code == 1 and "none of the" in r.output and "file_gone=" in r.output
    assert not out.exists()


def test_rerun_reuses_images_and_a_new_format_replaces_the_old_files(sample_shards, tmp_path: Path):
    shards, out = sample_shards["shards"], tmp_path / "out"
    first = export(shards, out, "llava", "--images", "hardlink")
    again = export(shards, out, "llava", "--images", "hardlink")
    assert (
        again["images"]["already_there"] == first["images"]["images"] == again["images"]["images"]
    )
    assert again["images"]["written"] == 0
    export(shards, out, "messages", "--overwrite")  # another format: only when asked
    assert not (out / "images").exists() and not list(out.glob("*.json"))[1:]  # only export.json
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "export.json"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    r = runner.invoke(app, ["export", str(shards), "--format", "llava", "--out", str(foreign)])
    assert r.exit_code == 1 and "not empty" in r.output and (foreign / "notes.txt").exists()


def test_export_errors_are_one_line(tmp_path: Path):
    r = runner.invoke(
        app, ["export", str(tmp_path), "--format", "hf", "--out", str(tmp_path / "x")]
    )
    assert (
        r.exit_code == 1 and "no part-*.parquet shards" in r.output and "Traceback" not in r.output
    )
    r = runner.invoke(
        app, ["export", str(tmp_path), "--format", "tfrecord", "--out", str(tmp_path / "x")]
    )
    assert r.exit_code == 1 and "unknown format" in r.output
    (tmp_path / "qa").mkdir()
    pl.DataFrame({"id": ["a"]}).write_parquet(tmp_path / "qa" / "part-00000.parquet")
    r = runner.invoke(
        app, ["export", str(tmp_path), "--format", "hf", "--out", str(tmp_path / "x")]
    )
    assert r.exit_code == 1 and "no manifest.json" in r.output and "--manifest" in r.output
