"""`review sample` draws a fresh seeded slice; `review score` reproduces the precision per type
computed here, independently, from the same tags (counted sample by sample, Wilson interval from
scipy)."""

from __future__ import annotations

import hashlib
import json

import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.review.verdicts import VERDICTS
from tests.helpers.export import qa_rows
from tests.helpers.review import label_ids

runner = CliRunner()


def _sample(shards, catalog, name, n, seed, *extra):
    r = runner.invoke(
        app,
        ["review", "sample", str(shards), "--catalog", str(catalog), "--name", name,
         "--n", str(n), "--seed", str(seed), "--no-progress", *extra],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return r


def test_sample_is_seeded_fresh_and_has_images(fo, sample_shards, dataset_name):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    _sample(shards, catalog, dataset_name, 40, 7)
    _sample(shards, catalog, dataset_name + "b", 40, 7)
    _sample(shards, catalog, dataset_name + "c", 40, 8, "--exclude", dataset_name)
    a, b, c = (set(label_ids(fo.load_dataset(dataset_name + s))) for s in ("", "b", "c"))
    assert len(a) == len(c) == 40 and a == b  # same seed, same slice
    assert a.isdisjoint(c)  # --exclude: a fresh slice shares no row with the earlier one
    assert a <= set(qa_rows(shards)["id"].to_list())
    ds = fo.load_dataset(dataset_name)
    assert ds.info["slice"]["seed"] == 7
    r = runner.invoke(
        app,
        ["review", "sample", str(shards), "--catalog", str(catalog), "--name", dataset_name,
         "--seed", "1"],
    )  # fmt: skip
    assert r.exit_code == 1 and "a fresh slice needs a new name" in r.output


def _verdict(row_id: str) -> str | None:
    """A fixed, uneven verdict per row (a person's labels stand-in), some rows left unlabelled."""
    h = int(hashlib.sha1(row_id.encode()).hexdigest(), 16) % 10
    return {0: None, 1: "wrong", 2: "unsupported", 3: "bad_question"}.get(h, "correct")


def test_score_reproduces_precision_from_the_tags(fo, sample_shards, dataset_name, tmp_path):
    shards, catalog = sample_shards["shards"], sample_shards["catalog"]
    _sample(shards, catalog, dataset_name, 120, 3)
    ds = fo.load_dataset(dataset_name)
    for sample in ds.iter_samples(autosave=True):
        for lab in sample.qa.classifications:
            v = _verdict(lab.row_id)
            if v:
                lab.tags.append(v)
            if v == "unsupported" and lab.row_id < "8":  # a torn labeller: two tags
                lab.tags.append("correct")
    # independently: walk the samples, count per type with the protocol's rule
    counts: dict[str, list[int]] = {}
    unlabelled = 0
    for sample in ds.iter_samples():
        for lab in sample.qa.classifications:
            tags = [t for t in lab.tags if t in VERDICTS]
            if not tags:
                unlabelled += 1
                continue
            worst = "correct" if tags == ["correct"] else next(t for t in tags if t != "correct")
            c = counts.setdefault(lab.question_type, [0, 0])
            c[0] += worst == "correct"
            c[1] += 1
    assert unlabelled > 0 and len(counts) >= 3
    out = tmp_path / "score.json"
    r = runner.invoke(app, ["review", "score", dataset_name, "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = {row["question_type"]: row for row in json.loads(out.read_text())["rows"]}
    assert json.loads(out.read_text())["unlabelled"] == unlabelled
    total = [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]
    for qt, (k, n) in [*counts.items(), ("ALL", total)]:
        ci = binomtest(k, n).proportion_ci(method="wilson")
        assert got[qt]["labelled"] == n and got[qt]["correct"] == k
        assert got[qt]["precision"] == pytest.approx(k / n)
        assert (got[qt]["ci_low"], got[qt]["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert set(got) == {*counts, "ALL"}
    assert f"{unlabelled} rows carry no verdict tag" in r.output
