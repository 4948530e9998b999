"""LLM synthesis end to end with the real transformers backend (a tiny model built here), prompts,
grounding against the shared filters, and the vllm import boundary (no GPU in the default tier)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radvqa_data.core.errors import ConfigError, MissingDependencyError
from radvqa_data.filters import FilterChain, default_filters
from radvqa_data.llm.factory import make_generator
from radvqa_data.llm.generator import guess_question_type
from radvqa_data.llm.prompting import available_templates, qa_prompt, verify_prompt
from radvqa_data.llm.verdict import parse_verdict
from tests.helpers.llm import (
    CAPTION,
    HAND_WRITTEN_REPLY,
    check_synth_output,
    make_record,
    synth_cli,
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from radvqa_data.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm") / "model")


def test_templates_are_versioned_and_render_the_record() -> None:
    assert {"open_qa.v1.jinja", "closed_qa.v1.jinja", "verify.v1.jinja"} <= set(
        available_templates()
    )
    p = qa_prompt(make_record(), "open_qa.v1.jinja", n_pairs=3)
    assert (p.template_id, p.prompt_version) == ("open_qa.v1.jinja", "v1")
    for fact in (
        CAPTION,
        "Acute left subdural hematoma",
        "CT - noncontrast",
        "axial",
        "subdural hematoma (finding)",
        "ABN",
        "up to 3",
    ):
        assert fact in p.user
    assert p.schema["required"] == ["pairs"] and p.messages[0]["role"] == "system"
    v = verify_prompt(make_record(), "Which side is the hematoma on?", "left")
    assert "Proposed answer: left" in v.user and v.schema["properties"]["verdict"]["enum"] == [
        "yes",
        "no",
    ]
    with pytest.raises(ConfigError, match="NAME.vN.jinja"):
        qa_prompt(make_record(), "open_qa.jinja")
    with pytest.raises(ConfigError, match="unknown prompt template"):
        qa_prompt(make_record(), "open_qa.v9.jinja")


def test_transformers_backend_end_to_end_rejects_noise_with_reasons_and_provenance(
    tiny_model: Path,
) -> None:
    gen = make_generator(
        "transformers",
        model=str(tiny_model),
        temperature=0.8,
        top_p=0.9,
        max_new_tokens=24,
        seed=7,
        verify=True,
    )
    records = [make_record(f"img{i}") for i in range(2)] + [make_record("empty", caption="  ")]
    records[-1].texts = {}
    cands = list(gen.generate(records))
    # 2 records x 2 templates = 4 replies; random weights write noise, so each is a reject with a
    # reason.
    assert len(cands) == 5
    assert all(c.reject_reason for c in cands)
    assert {c.reject_reason for c in cands} <= {
        "unparseable_response",
        "no_pairs_in_response",
        "empty_response",
        "no_source_text",
    }
    assert sum(c.reject_reason == "no_source_text" for c in cands) == 1
    for c in cands:
        assert c.generator == "transformers" and c.model == str(tiny_model) and c.seed == 7
        assert c.template_id in ("open_qa.v1.jinja", "closed_qa.v1.jinja")
        assert json.loads(c.sampling) == {
            "temperature": 0.8,
            "top_p": 0.9,
            "max_new_tokens": 24,
            "seed": 7,
        }
    replies = [c for c in cands if c.source_field == "response"]
    assert len(replies) == 4 and all(
        c.source_text for c in replies
    )  # the raw reply is kept on the reject row
    assert {c.template_id for c in replies} == {"open_qa.v1.jinja", "closed_qa.v1.jinja"}
    assert gen.settings["templates"] == {"open": "open_qa.v1.jinja", "closed": "closed_qa.v1.jinja"}
    assert gen.settings["verify_template"] == "verify.v1.jinja" and gen.settings["text_fields"] == [
        "caption",
        "findings",
    ]
    stats = gen.backend.stats
    assert stats.requests == 4 and stats.completion_tokens > 0 and stats.prompt_tokens > 4 * 100
    # Same seed, same records: the same text (sampling is seeded, and the seed is recorded).
    again = make_generator(
        "transformers", model=str(tiny_model), temperature=0.8, top_p=0.9, max_new_tokens=24, seed=7
    )
    assert [c.source_text for c in again.generate(records[:2])] == [c.source_text for c in replies]


def test_hand_written_reply_gives_parsed_grounded_rows(tiny_model: Path) -> None:
    gen = make_generator(
        "transformers", model=str(tiny_model), temperature=0.0, max_new_tokens=8, seed=1
    )
    record = make_record()
    cands = gen.candidates_from_reply(record, "open_qa.v1.jinja", HAND_WRITTEN_REPLY)
    incomplete = [c for c in cands if c.reject_reason]
    assert [c.reject_reason for c in incomplete] == [
        "incomplete_pair"
    ]  # the entry without an answer
    rows = {c.question: c for c in cands if not c.reject_reason}
    assert len(rows) == 7
    acute = rows["Is the hematoma acute?"]  # labelled open by the model, but yes/no is closed
    assert acute.answer_type == "closed" and acute.source_field == "findings"
    ct = rows["What imaging modality was used?"]
    assert (ct.answer, ct.answer_type, ct.question_type, ct.source_field) == (
        "CT",
        "open",
        "MODALITY",
        "caption",
    )
    assert record.texts["caption"][ct.span_start : ct.span_end] == "CT"
    shortened = rows["What abnormality is seen?"]
    assert shortened.answer == "subdural hematoma" and shortened.source_text == "subdural hematoma"
    assert rows["Is there midline shift?"].source_text == "No midline shift"
    assert all(
        c.template_id == "open_qa.v1.jinja"
        and c.prompt_version == "v1"
        and c.generator == "transformers"
        for c in cands
    )
    # The shared filter chain then keeps the grounded ones and rejects the rest with reasons.
    chain = FilterChain(default_filters())
    verdicts = {c.question: chain.check(c) for c in rows.values()}
    assert verdicts == {
        "What imaging modality was used?": None,
        "Which side is the hematoma on?": None,
        "What abnormality is seen?": None,
        "Is there midline shift?": None,
        "What is the patient's history of falls?": "non_visual_history",
        "What is the diagnosis?": "ungrounded",
        "Is the hematoma acute?": None,
    }


def test_unparseable_hand_written_reply_is_one_reject_with_raw_text(tiny_model: Path) -> None:
    gen = make_generator("transformers", model=str(tiny_model), max_new_tokens=8)
    (c,) = gen.candidates_from_reply(
        make_record(), "closed_qa.v1.jinja", "I cannot help with medical images."
    )
    assert c.reject_reason == "unparseable_response" and c.source_text.startswith("I cannot help")


def test_verdicts_and_question_type_guesses() -> None:
    assert parse_verdict('{"verdict": "yes"}') is True
    assert (
        parse_verdict('```json\n{"verdict": "no", "reason": "the caption says right"}\n```')
        is False
    )
    assert parse_verdict("No, the caption does not mention it.") is False
    assert parse_verdict("garbage ###") is None
    assert guess_question_type("What imaging modality is this?") == "MODALITY"
    assert guess_question_type("How many nodules are there?") == "COUNT"
    assert guess_question_type("Where is the lesion located?") == "POS"


def test_option_errors_are_config_errors(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown LLM backend"):
        make_generator("gpt", model="m")
    with pytest.raises(ConfigError, match="needs --base-url"):
        make_generator("openai", model="m")
    with pytest.raises(ConfigError, match="local model directory"):
        make_generator("transformers", model=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="temperature"):
        make_generator("transformers", model=str(tiny_model), temperature=5.0)


def test_vllm_backend_missing_extra_names_the_install_command() -> None:
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - only where vllm is installed (a GPU machine)
        pytest.skip("vllm is installed here: the gpu tier runs it for real")
    with pytest.raises(MissingDependencyError, match="pip install vllm"):
        make_generator("vllm", model="Qwen/Qwen2.5-0.5B-Instruct")


def test_vllm_structured_output_arguments_follow_the_installed_api() -> None:
    # vLLM itself cannot be imported without a GPU build; the version switch is checked against
    # stand-in modules with the two real class names (>= 0.12 and older).
    import types

    from radvqa_data.llm.backends.vllm_local import structured_kwargs

    class StructuredOutputsParams:
        def __init__(self, json: dict) -> None:
            self.json = json

    new = types.SimpleNamespace(
        sampling_params=types.SimpleNamespace(StructuredOutputsParams=StructuredOutputsParams)
    )
    kwargs = structured_kwargs(new, {"type": "object"})
    assert list(kwargs) == ["structured_outputs"] and kwargs["structured_outputs"].json == {
        "type": "object"
    }
    old = types.SimpleNamespace(
        sampling_params=types.SimpleNamespace(GuidedDecodingParams=StructuredOutputsParams)
    )
    assert list(structured_kwargs(old, {"type": "object"})) == ["guided_decoding"]
    assert structured_kwargs(new, {}) == {}


def test_synth_cli_transformers_backend_on_the_shipped_sample(
    tiny_model: Path, sample_catalog: Path, tmp_path: Path
) -> None:
    out = tmp_path / "synth-tf"
    args = [
        "--catalog",
        str(sample_catalog),
        "--out",
        str(out),
        "--backend",
        "transformers",
        "--model",
        str(tiny_model),
        "--max-new-tokens",
        "24",
        "--limit",
        "3",
        "--seed",
        "5",
        "--no-progress",
    ]
    result = synth_cli(args)
    assert result.exit_code == 0, result.output
    check_synth_output(out, "transformers", str(tiny_model), 3)
    # A rerun resumes: the finished shard is skipped, nothing is regenerated.
    again = synth_cli(args)
    assert again.exit_code == 0 and "1 already done" in again.output
