"""Response parsing against a corpus of realistic raw model replies (tests/data/llm_corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from radvqa_data.llm.parse import parse_response

CORPUS = Path(__file__).parent / "llm_corpus"
EXPECTED = {
    k: v
    for k, v in json.loads((CORPUS / "expected.json").read_text()).items()
    if not k.startswith("_")
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_reply_parses_to_expected_pairs(name: str) -> None:
    want = EXPECTED[name]
    result = parse_response((CORPUS / "responses" / name).read_text(encoding="utf-8"))
    assert [[i.question, i.answer] for i in result.items] == want.get("pairs", [])
    assert result.reject_reason == want.get("reject_reason")
    assert result.skipped == want.get("skipped", 0)


def test_corpus_covers_every_format_and_all_pairs_are_extracted() -> None:
    files = {p.name for p in (CORPUS / "responses").glob("*.txt")}
    assert files == set(EXPECTED), "every corpus file needs an expected entry"
    prefixes = {n.split("_")[0] for n in files}
    assert {"json", "qa", "question", "markdown", "numbered", "garbage"} <= prefixes
    expected_pairs = sum(len(v.get("pairs", [])) for v in EXPECTED.values())
    got = sum(len(parse_response((CORPUS / "responses" / n).read_text()).items) for n in files)
    assert got == expected_pairs  # extraction rate 100% of well-formed pairs


def test_json_typed_fields_are_normalized() -> None:
    text = (
        '{"pairs": [{"Question": "Is it enlarged?", "Answer": "Yes.", "answer_type": "CLOSED", '
        '"question_type": "size"}]}'
    )
    (item,) = parse_response(text).items
    assert (item.answer, item.answer_type, item.question_type) == ("Yes", "closed", "SIZE")


def test_invalid_question_type_is_dropped_not_invented() -> None:
    (item,) = parse_response(
        '[{"question": "What is it?", "answer": "cyst", "question_type": "DIAGNOSIS"}]'
    ).items
    assert item.question_type is None


def _run_cli(path: Path) -> Any:
    """`radvqa-data parse-responses PATH` on the real app, in-process."""
    from radvqa_data.cli import app

    return CliRunner().invoke(app, ["parse-responses", str(path)])


def test_parse_responses_cli_jsonl_and_json_list(tmp_path: Path) -> None:
    texts = {n: (CORPUS / "responses" / n).read_text() for n in sorted(EXPECTED)}
    jsonl = tmp_path / "replies.jsonl"
    rows = []
    for i, (name, text) in enumerate(texts.items()):
        # Mixed shapes, as people save them: a bare string, {"text"}, {"response"}, an OpenAI reply.
        shape = i % 4
        if shape == 0:
            rows.append(json.dumps(text))
        elif shape == 1:
            rows.append(json.dumps({"id": name, "text": text}))
        elif shape == 2:
            rows.append(json.dumps({"id": name, "response": text}))
        else:
            rows.append(
                json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})
            )
    jsonl.write_text("\n".join(rows) + "\n")
    as_list = tmp_path / "replies.json"
    as_list.write_text(json.dumps(list(texts.values())))
    expected_pairs = sum(len(v.get("pairs", [])) for v in EXPECTED.values())
    for path in (jsonl, as_list):
        proc = _run_cli(path)
        assert proc.exit_code == 0, proc.output
        pairs = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(pairs) == expected_pairs
        assert {
            "question",
            "answer",
            "answer_type",
            "question_type",
            "response_id",
            "format",
        } <= set(pairs[0])
        assert (
            f"{len(texts)} responses" in proc.stderr
            and f"{expected_pairs} pairs extracted" in proc.stderr
        )
        assert "unparseable_response" in proc.stderr


def test_parse_responses_cli_bad_input_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"ok"\nthis is not json\n')
    proc = _run_cli(bad)
    assert proc.exit_code == 1
    assert proc.stderr.strip().startswith("Error:") and "bad.jsonl:2" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = _run_cli(tmp_path / "nope.jsonl")
    assert missing.exit_code == 1 and "file not found" in missing.stderr


def test_shipped_replies_jsonl_matches_the_corpus() -> None:
    # replies.jsonl is the corpus as one file, for `radvqa-data parse-responses` demos.
    rows = [
        json.loads(line)
        for line in (CORPUS / "replies.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert {r["id"]: r["text"] for r in rows} == {
        n: (CORPUS / "responses" / n).read_text(encoding="utf-8") for n in EXPECTED
    }
