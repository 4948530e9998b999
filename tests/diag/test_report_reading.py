"""The diagnostic report as a reader takes it in (issue 23): its accuracy named and equal to
`radvqa-train eval`'s figure of the same name, trivial baselines beside it, small failure
patterns folded, every term defined on the page, organs named in the catalog's vocabulary."""

from __future__ import annotations

import html
import json
import re

import polars as pl
import pytest

from radvqa_data.catalog.regions import REGIONS
from radvqa_data.core.answers import normalize_answer
from radvqa_diag import failures
from radvqa_diag.baselines import SHOWN

#: organ values a reader may meet: the catalog's regions, "other", and "no organ stated"
ORGAN_NAMES = {*REGIONS, "other"}


def _page(out) -> str:
    return html.unescape((out / "index.html").read_text())


def test_card_accuracy_is_evals_figure_under_evals_name(sample_report):
    out = sample_report[0]
    s = json.loads((out / "summary.json").read_text())
    ev = json.loads((out.parent / "eval" / "metrics.json").read_text())["overall"]
    assert s["headline"] == "closed_accuracy"
    for key in (*SHOWN, "n_closed", "n_open", "n_yesno", "n"):
        assert s["metrics"][key] == ev[key], key
    assert s["accuracy"] == pytest.approx(ev["accuracy"], abs=1e-6)
    page = _page(out)
    card = re.search(r'<div class="kpi headline" id="kpi-headline">(.*?)</div>', page).group(1)
    assert f"{100 * ev['closed_accuracy']:.1f}%" in card
    assert "<code>closed_accuracy</code> as <code>radvqa-train eval</code>" in card
    assert f"over {ev['n_closed']} questions" in card


def test_baselines_are_the_scores_of_guessing(sample_report, capsys):
    out, preds = sample_report[0], sample_report[1]
    s = json.loads((out / "summary.json").read_text())
    df = pl.read_parquet(preds).with_columns(
        pl.col("answer").map_elements(normalize_answer, return_dtype=pl.Utf8).alias("ref")
    )
    closed = df.filter(pl.col("answer_type") == "closed")
    # always "yes" is right on a closed question exactly when the reference is yes
    want = closed.filter(pl.col("ref") == "yes").height / closed.height
    assert s["baselines"]["always_yes"]["closed_accuracy"] == pytest.approx(want, abs=1e-6)
    # type majority: the commonest reference of the row's (question type, answer type)
    top = (
        df.group_by("question_type", "answer_type", "ref")
        .len()
        .sort("len", "ref", descending=[True, False])
        .group_by("question_type", "answer_type", maintain_order=True)
        .first()
        .select("question_type", "answer_type", pl.col("ref").alias("guess"))
    )
    c = closed.join(top, on=["question_type", "answer_type"], nulls_equal=True)
    want = c.filter(pl.col("ref") == pl.col("guess")).height / c.height
    assert s["baselines"]["type_majority"]["closed_accuracy"] == pytest.approx(want, abs=1e-6)
    # the summary shows both beside the model, and says which way it goes
    page = _page(out)
    table = page[page.index('<table id="baselines">') :]
    table = table[: table.index("</table>")]
    for name in ("always_yes", "type_majority"):
        row = re.search(rf'<tr data-baseline="{name}">(.*?)</tr>', table).group(1)
        assert f"{100 * s['baselines'][name]['closed_accuracy']:.1f}%" in row
    assert 'id="verdict"' in page and "closed_accuracy" in page
    from radvqa_diag.cli import _print_summary

    _print_summary(out / "summary.json")
    # the summary is a result: stdout (stderr carries progress only)
    printed = capsys.readouterr().out
    assert "closed_accuracy (as radvqa-train eval)" in printed and "baseline always_yes" in printed


@pytest.mark.parametrize("n_min", [1, 3, 1000])
def test_small_patterns_are_folded(sample_report, tmp_path, n_min):
    from radvqa_diag.html import render_report

    out = sample_report[0]
    s = json.loads((out / "summary.json").read_text())
    patterns = pl.read_parquet(out / "patterns.parquet")
    assert patterns.height > 0
    groups = pl.read_parquet(out / "groups.parquet")
    page = render_report(
        tmp_path, {**s, "min_pattern_cases": n_min}, groups, patterns, pl.DataFrame(), {}
    ).read_text()
    section = page[page.index('<section id="failures">') :]
    section = section[: section.index("</section>")]
    folded = section[section.index("<details") :] if "<details" in section else ""
    shown = section[: len(section) - len(folded)]
    for pid, n in patterns.select("pattern_id", "n").iter_rows():
        if n >= n_min:
            assert f'id="pattern-{pid}"' in shown, pid
        else:
            assert f'id="pattern-{pid}"' in folded and f'id="pattern-{pid}"' not in shown, pid
    small = patterns.filter(pl.col("n") < n_min)
    if small.height:
        assert f"{small.height} smaller pattern" in folded
        assert f"fewer than {n_min} cases each, {small['n'].sum()} cases in all" in folded


def test_every_term_is_defined_where_it_appears(sample_report):
    page = _page(sample_report[0])
    assert "ill-conditioned" not in page
    for f in failures.FLAGS:
        assert failures.FLAG_DEFINITIONS[f] in page, f
    terms = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))
    for k in SHOWN:
        assert len(terms[f"<code>{k}</code>"]) > 20, k
    assert 'always "yes"' in terms and "type majority" in terms
    for word in ("entropy", "method agreement ρ", "Wilson", '"confident" threshold'):
        assert word in page, word


def test_organs_are_the_catalogs_regions_in_catalog_eval_and_diag(sample_report, sample_catalog):
    import duckdb

    con = duckdb.connect(str(sample_catalog), read_only=True)
    rows = con.execute(
        "SELECT q.organ, q.extra->>'organ_raw', i.organ FROM benchmark_qa q "
        "JOIN images i USING (source, image_id) WHERE q.source = 'vqa-rad'"
    ).fetchall()
    con.close()
    assert rows
    # catalog: the question's organ is its image's region, the source's spelling kept beside it
    assert {r[1] for r in rows} >= {"ABD", "HEAD"}
    assert all(organ == region and organ in ORGAN_NAMES for organ, _, region in rows)
    out = sample_report[0]
    ev = json.loads((out.parent / "eval" / "metrics.json").read_text())
    assert set(ev["by_organ"]) <= ORGAN_NAMES and set(ev["by_organ"]) >= {"abdomen", "head"}
    groups = pl.read_parquet(out / "groups.parquet").filter(pl.col("dimension") == "organ")
    assert set(groups["value"]) == set(ev["by_organ"])


def test_real_vqa_rad_always_yes_is_evals_figure_for_yes_answers(tmp_path, shared_data):
    """On the real VQA-RAD test split: answering "yes" everywhere through `radvqa-train eval`
    gives exactly the always-yes baseline, and its closed_accuracy is the share of closed
    questions whose reference is yes (read from the source JSON, not from our scorer)."""
    from radvqa_data.catalog.ingest import add_source
    from radvqa_data.catalog.sources.vqarad import JSON_NAME
    from radvqa_diag.baselines import baseline_metrics, model_metrics
    from radvqa_train.evaluate import evaluate
    from tests.conftest import dataset

    src = dataset(shared_data, "vqa-rad")
    cat = tmp_path / "cat.duckdb"
    add_source(cat, "vqa-rad", src, progress=False)
    raw = json.loads((src / JSON_NAME).read_text())
    test = [r for r in raw if str(r["phrase_type"]).startswith("test")]
    answers = tmp_path / "yes.jsonl"
    answers.write_text(
        "".join(json.dumps({"id": str(r["qid"]), "prediction": "yes"}) + "\n" for r in test)
    )
    evaluate(
        "vqa-rad:test", predictions=answers, catalog=cat, out=tmp_path / "eval", progress=False
    )
    ev = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    df = pl.read_parquet(tmp_path / "eval" / "predictions.parquet")
    base = baseline_metrics(df)["always_yes"]
    for key in SHOWN:
        assert base[key] == ev["overall"][key] == model_metrics(df)[key], key
    closed = [r for r in test if str(r["answer_type"]).strip().upper() == "CLOSED"]
    yes = [r for r in closed if str(r["answer"]).strip().lower() == "yes"]
    assert ev["overall"]["n_closed"] == len(closed)
    assert ev["overall"]["closed_accuracy"] == pytest.approx(len(yes) / len(closed), abs=1e-6)
    assert set(ev["by_organ"]) == {"abdomen", "chest", "head"}  # not ABD / CHEST / HEAD
