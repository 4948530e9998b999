"""The QA reader and the typed recipe config."""

from __future__ import annotations

import duckdb
import pytest

from radvqa_data.core.errors import ConfigError, InputError
from radvqa_data.reader import READ_COLUMNS, read_qa
from radvqa_train.config import list_recipes, load_config


def test_read_all_three_kinds(toy_data):
    syn = read_qa("synthetic:train", shards=toy_data["shards"], catalog=toy_data["catalog"])
    assert tuple(syn.columns) == READ_COLUMNS and syn.height == 36
    assert set(syn["modality"].unique().to_list()) == {"CT", "MRI"}
    bench = read_qa("vqa-rad:test", catalog=toy_data["catalog"])
    assert bench.height == 12 and bench["id"].to_list()[:2] == ["q18", "q18b"]
    caps = read_qa("captions", catalog=toy_data["catalog"])
    assert caps.height == 18 and set(caps["split"].to_list()) == {"train"}  # no test captions
    assert read_qa("captions:other", catalog=toy_data["catalog"]).height == 0
    test_caps = read_qa("captions:*:test", catalog=toy_data["catalog"])
    assert test_caps.height == 6 and set(test_caps["split"].to_list()) == {"test"}


def test_rows_without_image_file_are_dropped_and_counted(toy_data, tmp_path):
    import shutil

    cat = tmp_path / "c.duckdb"
    shutil.copy(toy_data["catalog"], cat)
    con = duckdb.connect(str(cat))
    con.execute(
        "UPDATE images SET image_path = '/nonexistent.png' "
        "WHERE source = 'vqa-rad' AND image_id = 'toy018'"
    )
    con.close()
    stats: dict = {}
    df = read_qa("vqa-rad:test", catalog=cat, stats=stats)
    assert df.height == 10 and stats == {"rows": 10, "dropped_no_image": 2}
    assert read_qa("vqa-rad:test", catalog=cat, require_images=False).height == 12


@pytest.mark.parametrize(
    ("spec", "kw", "msg"),
    [
        ("synthetic", {}, "--shards"),
        ("vqa-rad:test", {}, "--catalog"),
        # the source is there, the split name is wrong: the valid splits are listed
        ("vqa-rad:nosplit", {"catalog": True}, r"no split 'nosplit' in vqa-rad \(valid: vqa-rad:"),
        ("slake:test", {"catalog": True}, "no benchmark rows for source 'slake'"),
        ("whatever", {"catalog": True}, "expected synthetic"),
    ],
)
def test_reader_errors_name_what_is_missing(toy_data, spec, kw, msg):
    if kw.get("catalog"):
        kw = {"catalog": toy_data["catalog"]}
    with pytest.raises(InputError, match=msg):
        read_qa(spec, **kw)


def test_shards_folder_without_parquet(tmp_path, toy_data):
    with pytest.raises(InputError, match="no QA shards"):
        read_qa("synthetic", shards=tmp_path, catalog=toy_data["catalog"])


def test_recipes_and_overrides():
    names = [n for n, _ in list_recipes()]
    assert {"paligemma-3b", "tiny-demo"} <= set(names)
    cfg = load_config(
        "paligemma-3b", overrides=["stages.0.max_steps=3", "stages.benchmark.lr=1e-5"]
    )
    assert len(cfg.stages) == 3 and cfg.stages[0].max_steps == 3 and cfg.stages[2].lr == 1e-5
    assert [d.spec for d in cfg.stages[2].data] == ["vqa-rad:train", "slake:train"]
    assert cfg.stages[0].train == "projector" and cfg.stages[1].lora.r == 8


def test_all_config_errors_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(
            "tiny-demo", overrides=["stages.0.train=bogus", "stages.1.lr=-1", "stages.2.colour=red"]
        )
    msg = str(e.value)
    assert (
        "train: 'bogus'" in msg
        and "lr: expected a positive number" in msg
        and "colour: unknown key" in msg
    )
    with pytest.raises(InputError, match="not found"):
        load_config("no-such-recipe")
    with pytest.raises(ConfigError, match="key=value"):
        load_config("tiny-demo", overrides=["max_steps"])


def test_draw_order_mixes_by_weight_and_cycles_each_source():
    from collections import Counter

    from radvqa_train.config import StageConfig
    from radvqa_train.data import draw_order, total_steps

    order = draw_order([10, 3], [3.0, 1.0], 4000, seed=1)
    share = Counter(s for s, _ in order)[0] / len(order)
    assert 0.72 < share < 0.78  # 3:1
    small = [i for s, i in order if s == 1]
    assert sorted(small[:3]) == [0, 1, 2] and sorted(small[3:6]) == [0, 1, 2]  # full passes
    assert draw_order([10, 3], [3.0, 1.0], 50, seed=1) == order[:50]  # deterministic prefix
    stage = StageConfig(name="s", data=[], epochs=2, batch_size=4, grad_accum=2)
    assert total_steps(stage, 20, world_size=1) == 5 and total_steps(stage, 20, world_size=2) == 3
