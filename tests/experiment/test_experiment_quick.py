"""`radvqa-experiment run --quick` on the shipped sample: every new code path, in seconds.

The sample's MedPix cases are dev/test only; the fixture copies it with the dev split renamed
train, so the leak-free pretraining set (train split, minus the audit's VQA-RAD matches) is not
empty. Two data versions (the audited folder and the unaudited one) run in one call.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("transformers")


def _ok(app, args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def sample_run(sample_dir, tmp_path_factory):
    from radvqa_data.catalog.ingest import add_source
    from radvqa_data.cli import app as data_app
    from radvqa_experiment.cli import app as exp_app

    tmp = tmp_path_factory.mktemp("experiment-quick")
    medpix = tmp / "medpix2"
    shutil.copytree(sample_dir / "medpix2", medpix)
    for f in (medpix / "splitted_dataset").glob("*_dev.jsonl"):  # dev cases become train
        f.rename(f.with_name(f.name.replace("_dev", "_train")))
    catalog = tmp / "catalog.duckdb"
    add_source(catalog, "medpix2", medpix, progress=False)
    add_source(catalog, "vqa-rad", sample_dir / "vqa-rad", progress=False)
    _ok(data_app, ["entities", "--catalog", catalog])
    _ok(data_app, ["synth", "--catalog", catalog, "--out", tmp / "shards"])
    _ok(
        data_app,
        [
            "audit",
            tmp / "shards",
            "--catalog",
            catalog,
            "--against",
            "vqa-rad",
            "--fix",
            tmp / "clean",
            "--no-progress",
        ],
    )
    from radvqa_experiment.recipe import load_recipe

    recipe = load_recipe("data-centric-cpu")  # the shipped file, read as YAML below
    assert recipe.arms
    raw = yaml.safe_load(
        (
            Path(__file__).resolve().parents[2]
            / "radvqa_experiment"
            / "recipes"
            / "data-centric-cpu.yaml"
        ).read_text()
    )
    raw["val_fraction"] = 0.35  # 9 sample pictures: make sure some are held out
    (tmp / "recipe.yaml").write_text(yaml.safe_dump(raw))
    out = _ok(
        exp_app,
        [
            "run",
            tmp / "recipe.yaml",
            "--quick",
            "--catalog",
            catalog,
            "--shards",
            tmp / "clean",
            "--data",
            f"unaudited={tmp / 'shards'}",
            "--arms",
            "vision_synthetic_then_benchmark,caption_synthetic_then_benchmark",
            "--seeds",
            "1",
            "--audit",
            tmp / "clean",
            "--out",
            tmp / "out",
            "--workers",
            "1",
            "--no-report",
        ],
    )
    return tmp, json.loads((tmp / "out" / "results.json").read_text()), out


def test_results_carry_subsets_versions_and_grounding(sample_run):
    tmp, res, _ = sample_run
    assert set(res["arms"]) == {
        "question_only",
        "benchmark",
        "vision_synthetic_then_benchmark",
        "vision_synthetic_then_benchmark@unaudited",
        "caption_synthetic_then_benchmark",
        "caption_synthetic_then_benchmark@unaudited",
    }
    for arm in res["arms"].values():
        for sub in ("image_determined", "closed"):
            cell = arm["subsets"][sub]
            for k in ("accuracy", "blank", "shuffle"):
                assert len(cell[k]["per_seed"]) == 1 and 0.0 <= cell[k]["mean"] <= 1.0
            assert set(cell["sensitivity"]) == {"blank", "shuffle"}
        for q in arm["by_question_type"].values():
            assert {"accuracy", "blank_accuracy", "shuffle_accuracy"} <= set(q)
    # the blind arm answers the same on any picture: it changes no answer on blank pictures
    qo = res["arms"]["question_only"]["subsets"]["closed"]
    assert qo["sensitivity"]["blank"]["mean"] == 0.0
    assert qo["blank"]["per_seed"] == qo["accuracy"]["per_seed"]
    subsets = {c["subset"] for c in res["comparisons"]}
    assert {"closed", "image_determined"} <= subsets
    pairs = {(c["a"], c["b"], c["subset"]) for c in res["comparisons"]}
    v = "vision_synthetic_then_benchmark"
    assert (f"{v}@unaudited", v, "image_determined") in pairs
    assert (v, f"{v}+blank_test_images", "image_determined") in pairs
    for c in res["comparisons"]:
        assert c["ci95"][0] <= c["diff"] <= c["ci95"][1]
    versions = res["data"]["versions"]
    assert versions["default"]["folder"] == str(tmp / "clean")
    assert versions["unaudited"]["folder"] == str(tmp / "shards")
    # the audit removed rows on pictures VQA-RAD tests on: the unaudited version has more
    assert versions["unaudited"]["rows"] > versions["default"]["rows"] > 0


def test_caption_stage_trains_on_leak_free_captions(sample_run):
    """The alignment stage reads MedPix train captions of the audited synthetic pictures only."""
    import polars as pl

    from radvqa_data.reader import read_qa
    from radvqa_experiment.data import CAPTION_WORDS, load_experiment_data

    tmp, res, _ = sample_run
    runs = [r for r in res["runs"] if r["arm"] == "caption_synthetic_then_benchmark"]
    assert [s["stage"] for s in runs[0]["stages"]] == ["captions", "synthetic", "benchmark"]
    assert res["data"]["caption_rows"] > 0
    data = load_experiment_data(tmp / "catalog.duckdb", tmp / "clean", captions=True)
    audited_train = read_qa("synthetic:train", shards=tmp / "clean", catalog=tmp / "catalog.duckdb")
    allowed = set(zip(audited_train["source"], audited_train["image_id"], strict=True))
    unaudited = read_qa("synthetic:train", shards=tmp / "shards", catalog=tmp / "catalog.duckdb")
    removed = set(zip(unaudited["source"], unaudited["image_id"], strict=True)) - allowed
    keys = {(r["source"], r["image_id"]) for r in data.captions}
    assert keys and keys <= allowed and not keys & removed
    assert all(0 < len(r["answer"].split()) <= CAPTION_WORDS for r in data.captions)
    # each caption row is its picture's own caption (its first sentence)
    captions = pl.from_dicts(data.captions)
    assert captions["image_id"].n_unique() == captions.height


def test_default_arms_leave_out_extra_ones_and_plus_adds_them():
    from radvqa_experiment.recipe import load_recipe, select_arms

    recipe = load_recipe("data-centric-cpu")
    r, left = select_arms(recipe, None, {"default"})
    assert "synthetic_mixed" not in r.arms and "synthetic_mixed (extra)" in left
    assert {"question_only", "benchmark", "caption_synthetic_then_benchmark"} <= set(r.arms)
    more, _ = select_arms(recipe, "+synthetic_unaudited_then_benchmark", {"default", "unaudited"})
    assert set(more.arms) == set(r.arms) | {"synthetic_unaudited_then_benchmark"}
    assert ["synthetic_then_benchmark", "synthetic_unaudited_then_benchmark"] in more.compare
    only, _ = select_arms(recipe, "vision_benchmark")
    assert set(only.arms) == {"question_only", "benchmark", "vision_benchmark"}


def test_caption_target_is_the_first_sentence_cut_at_a_word():
    from radvqa_experiment.data import caption_target

    text = "Axial T2 FLAIR MRI shows a hyperintense lesion. It enhances."
    assert caption_target(text) == "Axial T2 FLAIR MRI shows a hyperintense lesion"
    assert caption_target("one two three four", words=2) == "one two"


def test_pretrained_encoder_is_leak_free_and_swapped_in(sample_run):
    tmp, res, _ = sample_run
    from radvqa_data.reader import read_qa

    vision = res["vision"]["pictures"]
    train_images = {
        (r["source"], r["image_id"])
        for r in read_qa(
            "synthetic:train", shards=tmp / "clean", catalog=tmp / "catalog.duckdb"
        ).to_dicts()
    }
    assert 0 < vision["pretrained_on"] <= len(train_images)
    # the sample's 13 test-split pictures and the audit's matches are left out
    assert vision["not_train_split_or_audit_removed"] >= 13
    assert (tmp / "out" / "vision" / "encoder.safetensors").is_file()
    # the encoder's own record of its training pictures: only audited train-split images
    from radvqa_data.labels.encoder import load_label_encoder

    _, info = load_label_encoder(tmp / "out" / "vision", "encoder")
    assert info.trained_on and info.trained_on <= train_images
    # a swapped-in tower has no transformers layout: no model folder, the scratch arms have one
    assert not (tmp / "out" / "models" / "vision_synthetic_then_benchmark").exists()
    assert (tmp / "out" / "models" / "benchmark" / "config.json").is_file()
    md = (tmp / "out" / "results.md").read_text()
    assert "image_det." in md and "| image_determined |" in md


def test_swap_in_replaces_the_tower_and_freezes_the_encoder(sample_run):
    import torch

    from radvqa_experiment.vision import swap_in
    from radvqa_train.modeling import load_model

    tmp, _, _ = sample_run
    model, _ = load_model(str(tmp / "out" / "models" / "_scratch-seed0"))
    swap_in(model, tmp / "out" / "vision")
    tower = model.model.vision_tower
    frozen = [p for p in tower.convs.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)
    tower.train()
    assert not tower.convs.training  # batch-norm statistics stay as pretrained
    side = model.config.vision_config.image_size
    out = tower(torch.zeros(2, 3, side, side)).last_hidden_state
    assert out.shape == (2, model.config.text_config.num_image_tokens, tower.proj.out_features)


def test_old_command_points_to_the_new_one():
    from radvqa_train.cli import app

    res = CliRunner().invoke(app, ["experiment", "data-centric-cpu", "--quick"])
    assert res.exit_code == 2 and "radvqa-experiment run data-centric-cpu --quick" in res.output


def test_data_option_and_arm_selection_errors(tmp_path):
    from radvqa_data.core.errors import InputError
    from radvqa_experiment.data import parse_versions
    from radvqa_experiment.recipe import load_recipe, select_arms

    assert parse_versions(tmp_path, ["v2=/x"]) == {"default": tmp_path, "v2": Path("/x")}
    for bad in ("v2", "=/x", "a b=/x", "default=/x"):
        with pytest.raises(InputError, match="--data"):
            parse_versions(tmp_path, [bad])
    with pytest.raises(InputError, match="unknown arm"):
        select_arms(load_recipe("data-centric-cpu"), "nope")
