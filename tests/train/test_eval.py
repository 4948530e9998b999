"""`eval`: generation with tiny models, scoring predictions files, the VQA-RAD always-yes check."""

from __future__ import annotations

import json

import polars as pl
import pytest

from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import predictions_schema
from radvqa_train.evaluate import evaluate
from radvqa_train.metrics import METRIC_KEYS

#: what eval writes: the one predictions declaration (no judge)
PRED_COLUMNS = predictions_schema(METRIC_KEYS, judge=False).names
OVERALL_KEYS = {
    "closed_accuracy",
    "open_recall",
    "exact_match",
    "token_f1",
    "bleu1",
    "rouge_l",
    "n",
}


@pytest.mark.parametrize("family", ["paligemma", "idefics3", "qwen2_5_vl"])
def test_eval_with_model_writes_predictions_and_metrics(family, tiny_models, toy_data, tmp_path):
    m = evaluate(
        "synthetic:test",
        model=str(tiny_models[family]),
        shards=toy_data["shards"],
        catalog=toy_data["catalog"],
        out=tmp_path,
        max_new_tokens=4,
        progress=False,
    )
    preds = pl.read_parquet(tmp_path / "predictions.parquet")
    assert preds.columns == PRED_COLUMNS
    assert preds.height == 12 and preds["split"].unique().to_list() == ["test"]
    assert preds["prediction"].str.len_chars().sum() > 0  # the model produced text
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert OVERALL_KEYS <= set(saved["overall"]) and saved["overall"]["n"] == 12
    assert set(saved["by_answer_type"]) == {"closed", "open"}
    assert saved["by_question_type"]["MODALITY"]["n"] == 6
    assert "overall" in (tmp_path / "metrics.txt").read_text()
    assert m["overall"] == saved["overall"]


def test_predictions_file_scores_without_model(toy_data, tmp_path):
    # toy vqa-rad test: images 18..23; 'Is the image bright?' answers yes for even i
    preds = [{"id": f"q{i}", "prediction": "Yes."} for i in range(18, 24)]
    preds += [{"id": f"q{i}b", "prediction": "CT"} for i in range(18, 24)]
    preds.append({"id": "not-in-data", "prediction": "yes"})
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in preds))
    m = evaluate(
        "vqa-rad:test",
        predictions=f,
        catalog=toy_data["catalog"],
        out=tmp_path / "o",
        progress=False,
    )
    assert m["overall"]["closed_accuracy"] == 0.5  # 3 of 6 bright
    assert m["overall"]["open_recall"] == 0.5  # CT for the 3 bright ones
    assert m["unmatched_predictions"] == 1 and m["missing_predictions"] == 0
    csv = tmp_path / "p.csv"
    pl.DataFrame(preds[:6]).write_csv(csv)
    m2 = evaluate(
        "vqa-rad:test",
        predictions=csv,
        catalog=toy_data["catalog"],
        out=tmp_path / "c",
        progress=False,
    )
    assert (
        m2["missing_predictions"] == 6 and m2["by_answer_type"]["closed"]["closed_accuracy"] == 0.5
    )


def test_bad_predictions_file_is_one_line_error(toy_data, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"qid": 1, "answer": "yes"}\n')
    with pytest.raises(InputError, match="expected columns 'id' and 'prediction'"):
        evaluate(
            "vqa-rad:test", predictions=f, catalog=toy_data["catalog"], out=tmp_path, progress=False
        )
    with pytest.raises(InputError, match="exactly one"):
        evaluate("vqa-rad:test", catalog=toy_data["catalog"], out=tmp_path, progress=False)


def test_always_yes_on_vqa_rad_test_matches_the_json(real_catalog, shared_data, tmp_path):
    """Closed accuracy of answering "yes" to everything, computed independently from the raw
    JSON."""
    raw = json.loads((shared_data / "vqa-rad" / "VQA_RAD Dataset Public.json").read_text())
    test = [r for r in raw if str(r["phrase_type"]).startswith("test")]
    closed = [r for r in test if str(r["answer_type"]).strip().upper() == "CLOSED"]
    expected = sum(str(r["answer"]).strip().lower() == "yes" for r in closed) / len(closed)

    f = tmp_path / "yes.jsonl"
    f.write_text(
        "".join(json.dumps({"id": str(r["qid"]), "prediction": "yes"}) + "\n" for r in test)
    )
    m = evaluate(
        "vqa-rad:test", predictions=f, catalog=real_catalog, out=tmp_path / "o", progress=False
    )
    assert m["overall"]["n_closed"] == len(closed)
    assert m["overall"]["closed_accuracy"] == pytest.approx(expected, abs=1e-6)
    yesno = [r for r in test if str(r["answer"]).strip().lower() in ("yes", "no")]
    assert m["overall"]["n_yesno"] == len(yesno) == 251
    assert m["overall"]["closed_accuracy_yesno"] == pytest.approx(118 / 251, abs=1e-6)
    assert m["missing_predictions"] == 0


def test_image_ablation_rows_blank_and_deranged():
    from radvqa_train.evaluate import ablate

    rows = [{"id": str(i), "image_path": f"img{i}.png"} for i in range(7)]
    assert all(r["image_path"] is None for r in ablate(rows, "blank"))
    shuffled = ablate(rows, "shuffle", seed=3)
    assert sorted(r["image_path"] for r in shuffled) == sorted(r["image_path"] for r in rows)
    assert all(a["image_path"] != b["image_path"] for a, b in zip(rows, shuffled, strict=True))
    assert ablate(rows, None) is rows
    with pytest.raises(InputError, match="blank, shuffle"):
        ablate(rows, "noise")


def test_eval_image_ablation_scores_a_model_on_blank_pictures(tiny_models, toy_data, tmp_path):
    m = evaluate(
        "synthetic:test",
        model=str(tiny_models["paligemma"]),
        shards=toy_data["shards"],
        catalog=toy_data["catalog"],
        out=tmp_path,
        max_new_tokens=2,
        progress=False,
        image_ablation="blank",
    )
    assert m["image_ablation"] == "blank" and m["overall"]["n"] == 12
    with pytest.raises(InputError, match="needs --model"):
        evaluate(
            "synthetic:test",
            predictions=tmp_path / "x.jsonl",
            shards=toy_data["shards"],
            catalog=toy_data["catalog"],
            out=tmp_path / "p",
            image_ablation="blank",
        )


def test_eval_grounding_scores_blank_and_shuffled_pictures(tiny_models, toy_data, tmp_path):
    m = evaluate(
        "synthetic:test",
        model=str(tiny_models["paligemma"]),
        shards=toy_data["shards"],
        catalog=toy_data["catalog"],
        out=tmp_path,
        max_new_tokens=2,
        progress=False,
        grounding=True,
    )
    g = m["grounding"]
    assert set(g["subsets"]) == {"all", "closed", "image_determined"}
    cell = g["subsets"]["all"]
    assert cell["n"] == m["overall"]["n"] == 12
    for mode in ("blank", "shuffle"):
        assert 0.0 <= cell[mode]["accuracy"] <= 1.0
        lo, hi = cell[mode]["drop"]["ci95"]
        assert lo <= cell[mode]["drop"]["diff"] <= hi
        assert 0.0 <= cell[mode]["sensitivity"]["share"] <= 1.0
        blank = pl.read_parquet(tmp_path / f"predictions-{mode}.parquet")
        assert blank.height == 12 and list(blank.columns) == list(PRED_COLUMNS)
    # the drop is real accuracy minus blank accuracy, over the same questions
    assert cell["blank"]["drop"]["diff"] == pytest.approx(
        cell["accuracy"] - cell["blank"]["accuracy"], abs=1e-6
    )
    assert set(m["subsets"]) == {"closed", "image_determined"}
    assert "-- grounding" in (tmp_path / "metrics.txt").read_text()
    with pytest.raises(InputError, match="not both"):
        evaluate(
            "synthetic:test",
            model=str(tiny_models["paligemma"]),
            shards=toy_data["shards"],
            catalog=toy_data["catalog"],
            out=tmp_path / "both",
            grounding=True,
            image_ablation="blank",
        )
