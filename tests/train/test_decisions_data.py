"""The trainer's data loader applies a person's review decisions (`radvqa-data review pull`):
as a recipe's data option and through `radvqa-train run --decisions`, recorded per source."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from radvqa_data.core.decisions import empty_decisions
from radvqa_data.reader import read_qa
from radvqa_train.config import DataSpec, load_config
from radvqa_train.data import load_source, load_stage


def _decisions(path, reject: list[str], correct: dict[str, str]) -> None:
    rows = [{"id": i, "action": "reject", "answer": None} for i in reject]
    rows += [{"id": i, "action": "correct", "answer": a} for i, a in correct.items()]
    pl.concat(
        [empty_decisions(), pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})],
        how="diagonal_relaxed",
    ).write_parquet(path)


def test_recipe_data_option_drops_and_corrects(toy_data, tmp_path):
    kw = {"shards": toy_data["shards"], "catalog": toy_data["catalog"]}
    all_rows = read_qa("synthetic", **kw)
    ids = all_rows["id"].to_list()
    path = tmp_path / "decisions.parquet"
    _decisions(path, ids[:2], {ids[2]: "corrected"})
    stats: dict = {}
    df = load_source(DataSpec("synthetic", decisions=str(path)), stats=stats, **kw)
    assert df.height == all_rows.height - 2 and not set(ids[:2]) & set(df["id"].to_list())
    assert df.filter(pl.col("id") == ids[2])["answer"].to_list() == ["corrected"]
    assert stats["decisions"]["rejected"] == 2 and stats["decisions"]["corrected"] == 1

    cfg = load_config("tiny-demo", overrides=[f"stages.synthetic_qa.data.0.decisions={path}"])
    stage = next(s for s in cfg.stages if s.name == "synthetic_qa")
    stage.data[0].spec = "synthetic"  # the toy data's splits are train/test
    data = load_stage(stage, **kw)
    assert data.decisions == {"synthetic": {**stats["decisions"]}}


def test_run_cli_sets_decisions_on_every_source(toy_data, tmp_path, monkeypatch):
    """`radvqa-train run --decisions FILE` hands FILE to every data source without its own."""
    import radvqa_train.run as run_module
    from radvqa_train.cli import app

    seen = {}

    def capture(cfg, **kw):  # stop before training: the config is what is checked here
        seen["cfg"] = cfg

    monkeypatch.setattr(run_module, "run_recipe", capture)
    path = tmp_path / "d.parquet"
    _decisions(path, ["x"], {})
    r = CliRunner().invoke(app, ["run", "tiny-demo", "--decisions", str(path)])
    assert r.exit_code == 0, r.output
    specs = [d for s in seen["cfg"].stages for d in s.data]
    assert specs and all(d.decisions == str(path) for d in specs)
