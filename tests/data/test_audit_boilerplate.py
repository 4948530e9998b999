"""qa_boilerplate: long answers recurring across cases that no text of the row supports.

The real test builds a table in the published peer layout (image_id, case_id, question, answer,
split) from the MedPix 2.0 texts, the way a short-answer QA set is made from them (templated
sentences around the case fields), plants generation artefacts in it and audits it through the
CLI with `--columns`."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from radvqa_data.audit.boilerplate import BoilerplateConfig, boilerplate
from radvqa_data.audit.normalize import normalize_text
from radvqa_data.audit.peer_table import PLANTED, peer_table
from radvqa_data.audit.qa_checks import prepare
from radvqa_data.cli import app
from tests.conftest import dataset

runner = CliRunner()

#: artefacts MedPix 2.0 itself carries, which the check found in this table unplanted (read in
#: Descriptions.json / Case_topic.json): an authoring template's placeholder caption (21 images
#: of 5 cases), and case differentials whose first line is their heading (7 cases), which a
#: first-line template turns into the very artefact the peer set shows
REAL = (
    "Replace this - DESCRIPTION OF THE IMAGE OR FINDINGS.",
    "The possible diagnosis includes Differential Diagnosis for these findings in this case:.",
)


def test_peer_layout_table_planted_boilerplate_found_and_fixed(
    tmp_path: Path, shared_data: Path
) -> None:
    df, planted = peer_table(dataset(shared_data, "medpix2"))
    csv = tmp_path / "peer.csv"
    df.drop("qid").write_csv(csv)  # the published layout has no row id: rows are numbered
    ids = {str(i): q for i, q in enumerate(df["qid"].to_list())}
    rep, fix = tmp_path / "rep", tmp_path / "fixed"
    res = runner.invoke(
        app,
        [
            "audit",
            str(csv),
            "--columns",
            "question=question,answer=answer,image=image_id,group=case_id,split=split",
            "--only",
            "qa_boilerplate",
            "--report",
            str(rep),
            "--fix",
            str(fix),
            "--fail-on",
            "leakage",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output  # boilerplate is noise, not leakage
    assert (
        "qa_boilerplate" in res.output
        and "possible diagnosis includes differential diagnosis" in res.output
    )
    assert "train" in res.output and "test" in res.output  # rows per split under the check line
    doc = json.loads((rep / "audit.json").read_text())
    flagged = [f for f in doc["findings"] if f["kind"] == "qa_boilerplate"]
    by_answer: dict[str, set[str]] = {}
    for f in flagged:
        by_answer.setdefault(normalize_text(f["a"]["text"].split(" -> ", 1)[1]), set()).add(
            ids[f["a"]["row_id"]]
        )
    expected = {normalize_text(a): qids for a, qids in planted.items()}
    for a in REAL:
        expected[normalize_text(a)] = set(df.filter(pl.col("answer") == a)["qid"].to_list())
    # every planted row and the real artefacts, nothing else: not the label answers ("The modality
    # is CT - noncontrast.", "Reproductive and Urinary System"), not diagnoses shared by 2-4 cases
    assert by_answer == expected
    assert all(f["method"] == "recurs-across-cases" for f in flagged)  # no text column here
    n_bad = sum(len(v) for v in expected.values())
    assert (
        len(planted["The possible diagnosis includes Differential Diagnosis.."]) > 24
    )  # several images a case
    kept = pl.read_parquet(fix / "qa" / "part-00000.parquet")
    assert kept.columns == df.drop("qid").columns and kept.height == df.height - n_bad
    assert not set(kept["answer"].to_list()) & {*PLANTED, *REAL}
    removed = pl.read_parquet(fix / "removed.parquet")
    assert set(removed["kind"]) == {"qa_boilerplate"} and removed.height == n_bad


def _rows(records: list[dict]) -> pl.DataFrame:
    from radvqa_data.audit.inputs import to_canonical

    df = to_canonical(pl.DataFrame(records), {}, origin="t").with_row_index("__k")
    return prepare(df.with_columns(pl.col("__k").cast(pl.Int64)))


def test_a_row_whose_own_text_supports_the_answer_is_not_boilerplate() -> None:
    """One long answer on 6 cases: 3 rows carry a caption that says it, 3 one that does not."""
    answer = "Ring enhancing lesion in the left frontal lobe"
    recs = []
    for i in range(6):
        text = (
            f"Axial T1 post contrast: ring enhancing lesion in the left frontal lobe, case {i}."
            if i < 3
            else f"Normal chest radiograph, case {i}."
        )
        recs.append(
            {
                "image_id": f"img{i}",
                "case_id": f"c{i}",
                "split": "train",
                "question": "What is seen?",
                "answer": answer,
                "source_text": text,
            }
        )
    found = boilerplate(_rows(recs), BoilerplateConfig(min_cases=3, max_cases=50))
    assert {f.a.image_id for f in found} == {"img3", "img4", "img5"}
    assert {f.method for f in found} == {"recurs-unsupported"}
    # below min_cases unsupported cases: nothing
    assert not boilerplate(_rows(recs[:5]), BoilerplateConfig(min_cases=3, max_cases=50))


def test_label_question_answers_and_short_answers_are_not_boilerplate() -> None:
    recs = []
    for i in range(40):  # a closed question: 3 values over 40 rows
        recs.append(
            {
                "image_id": f"img{i}",
                "case_id": f"c{i}",
                "split": "train",
                "question": "Which organ system is shown?",
                "answer": [
                    "Reproductive and Urinary System",
                    "Heart and Great Vessels",
                    "Brain and Neuro",
                ][i % 3],
            }
        )
        recs.append(
            {
                "image_id": f"img{i}",
                "case_id": f"c{i}",
                "split": "test",
                "question": "What modality?",
                "answer": "CT",
            }
        )
    assert not boilerplate(_rows(recs))
    # the same answer under an open question (every other answer distinct) is boilerplate
    recs += [
        {
            "image_id": f"img{i}",
            "case_id": f"c{i}",
            "split": "train",
            "question": "What does the image show?",
            "answer": "Reproductive and Urinary System"
            if i < 6
            else f"finding number {i} on this image",
        }
        for i in range(40)
    ]
    found = boilerplate(_rows(recs))
    assert {f.a.image_id for f in found} == {f"img{i}" for i in range(6)}
    assert all("what does the image show" in f.a.text.lower() for f in found)
