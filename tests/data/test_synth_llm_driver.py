"""The synth driver with LLM generators: run fingerprint of the generator's settings, per-image
progress, the entities warning, and the backend counters in the manifest and the summary.

The LLM runs use the real `transformers` backend with a tiny random-weight model built here.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radvqa_data.cli import app
from radvqa_data.core.errors import ConfigError
from radvqa_data.llm.factory import make_generator
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.driver import run_synth
from radvqa_data.synth.rules.generator import RulesGenerator
from radvqa_data.synth.types import Generator
from tests.conftest import dataset
from tests.helpers.synth_data import insert_catalog, medpix_records


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from radvqa_data.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm") / "model")


@pytest.fixture()
def small_catalog(tmp_path: Path, shared_data: Path) -> Path:
    """Four real MedPix 2.0 records (captions, no entities yet)."""
    return insert_catalog(tmp_path / "c.duckdb", medpix_records(dataset(shared_data, "medpix2"), 4))


def llm(model: Path, **kw):
    return make_generator("transformers", model=str(model), max_new_tokens=8, seed=0, **kw)


def config(**kw) -> SynthConfig:
    return SynthConfig(
        **{"backend": "transformers", "allow_missing_images": True, "shard_size": 2, **kw}
    )


class VersionedGenerator(Generator):
    """A minimal Generator whose settings carry a prompt version (what a v2 template would
    change)."""

    name = "openai"

    def __init__(self, version: str) -> None:
        self.version = version

    @property
    def settings(self) -> dict:
        v = self.version
        return {"templates": {"open": f"open_qa.{v}.jinja"}, "prompt_versions": {"open": v}}

    def generate(self, records):
        yield from ()


def test_changed_generator_settings_refuse_to_resume_naming_the_change(
    small_catalog, tiny_model, tmp_path
):
    out = tmp_path / "o"
    first = run_synth(small_catalog, out, config(), llm(tiny_model), progress=False)
    assert first.manifest["config"]["generator_settings"]["prompt_versions"] == {
        "open": "v1",
        "closed": "v1",
    }
    again = run_synth(small_catalog, out, config(), llm(tiny_model), progress=False)
    assert again.shards_skipped == again.shards_total == 2  # same settings: resumes

    other_model = shutil.copytree(tiny_model, tmp_path / "other-model")
    with pytest.raises(ConfigError) as err:
        run_synth(small_catalog, out, config(), llm(other_model), progress=False)
    msg = str(err.value)
    assert "generator_settings.model" in msg and str(other_model) in msg and "--overwrite" in msg
    assert "\n" not in msg
    with pytest.raises(
        ConfigError,
        match=r"generator_settings\.templates\.closed: \"closed_qa\.v1\.jinja\" -> null",
    ):
        run_synth(
            small_catalog,
            out,
            config(),
            llm(tiny_model, templates={"open": "open_qa.v1.jinja"}),
            progress=False,
        )
    with pytest.raises(ConfigError, match="generator_settings.sampling.max_new_tokens: 8 -> 9"):
        run_synth(
            small_catalog,
            out,
            config(),
            make_generator("transformers", model=str(tiny_model), max_new_tokens=9, seed=0),
            progress=False,
        )
    # --overwrite starts afresh under the new settings
    fresh = run_synth(
        small_catalog, out, config(), llm(other_model), overwrite=True, progress=False
    )
    assert fresh.shards_skipped == 0 and fresh.manifest["config"]["generator_settings"][
        "model"
    ] == str(other_model)


def test_prompt_version_bump_is_a_different_run(small_catalog, tmp_path):
    out = tmp_path / "o"
    run_synth(
        small_catalog, out, config(backend="openai"), VersionedGenerator("v1"), progress=False
    )
    with pytest.raises(
        ConfigError, match=r'generator_settings\.prompt_versions\.open: "v1" -> "v2"'
    ):
        run_synth(
            small_catalog, out, config(backend="openai"), VersionedGenerator("v2"), progress=False
        )


def test_edited_template_text_changes_the_settings(tiny_model, monkeypatch):
    import jinja2

    from radvqa_data.llm import prompting

    before = llm(tiny_model).settings["prompt_digest"]
    env = prompting._env()
    files = {n: env.loader.get_source(env, n)[0] for n in env.list_templates()}
    files["_context.jinja"] += (
        "\nAlso list the devices."  # an edit of the shared, unversioned partial
    )
    monkeypatch.setattr(
        prompting, "_env", lambda: jinja2.Environment(loader=jinja2.DictLoader(files))
    )
    assert llm(tiny_model).settings["prompt_digest"] != before


@contextlib.contextmanager
def recording_bar(calls: list):
    """Stands in for the rich bar: records every advance the driver makes."""

    @contextlib.contextmanager
    def bar(label, total, unit, enabled=True):
        calls.append(("total", total))
        yield lambda n: calls.append(n)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("radvqa_data.synth.driver.progress_bar", bar)
        yield


def test_progress_moves_within_a_shard(small_catalog, tiny_model, tmp_path):
    calls: list = []
    with recording_bar(calls):
        run_synth(
            small_catalog,
            tmp_path / "rules",
            config(backend="rules", shard_size=4),
            RulesGenerator(0),
        )
    assert calls == [("total", 4), 1, 1, 1, 1]  # one image at a time, one shard of 4

    calls.clear()
    gen = llm(tiny_model, backend_options={"batch_size": 1})
    with recording_bar(calls):
        s = run_synth(small_catalog, tmp_path / "llm", config(shard_size=4), gen)
    steps = calls[1:]
    assert calls[0] == ("total", 4) and sum(steps) == pytest.approx(4)
    assert (
        len(steps) >= 8
    )  # 4 images x 2 templates: one step per finished request, not one per shard
    assert gen.on_progress is None and gen.backend.on_done is None  # hooks removed after the run
    assert s.manifest["images"] == 4


def test_llm_progress_with_verify_reports_every_image(tiny_model):
    from tests.helpers.llm import make_record

    gen = llm(tiny_model, verify=True, backend_options={"batch_size": 1})
    steps: list[float] = []
    gen.on_progress = steps.append
    records = [make_record(f"img{i}") for i in range(3)]
    cands = list(gen.generate(records))
    assert cands and sum(steps) == pytest.approx(3) and len(steps) >= 6


def test_entities_warning_is_worded_for_the_backend(small_catalog, tiny_model, tmp_path):
    s = run_synth(small_catalog, tmp_path / "llm", config(), llm(tiny_model), progress=False)
    assert len(s.warnings) == 1
    assert (
        "metadata questions only" not in s.warnings[0]
        and "prompts list no entities" in s.warnings[0]
    )
    r = run_synth(
        small_catalog,
        tmp_path / "rules",
        config(backend="rules"),
        RulesGenerator(0),
        progress=False,
    )
    assert "metadata questions only" in r.warnings[0]


def test_backend_counters_in_manifest_and_summary(small_catalog, tiny_model, tmp_path):
    out = tmp_path / "o"
    gen = llm(tiny_model)
    first = run_synth(small_catalog, out, config(), gen, progress=False)
    counters = first.manifest["backend_counters"]
    assert (
        counters["requests"] == 8 == first.generator_summary["backend"]["requests"]
    )  # 4 images x 2 templates
    assert counters["completion_tokens"] == gen.backend.stats.completion_tokens > 0
    assert counters["prompt_tokens"] > 0 and counters["retries"] == 0 and counters["timeouts"] == 0
    # An unfinished shard is redone on resume: the manifest counts each finished shard once.
    (out / "_state" / "part-00001.json").unlink()
    resumed = run_synth(small_catalog, out, config(), llm(tiny_model), progress=False)
    assert (
        resumed.generator_summary["backend"]["requests"] == 4
        and resumed.manifest["backend_counters"]["requests"] == 8
    )
    rules = run_synth(
        small_catalog,
        tmp_path / "rules",
        config(backend="rules"),
        RulesGenerator(0),
        progress=False,
    )
    assert rules.manifest["backend_counters"] == {}


def test_cli_summary_shows_backend_counters_and_verify_help(small_catalog, tiny_model, tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "synth",
            "--catalog",
            str(small_catalog),
            "--out",
            str(tmp_path / "o"),
            "--backend",
            "transformers",
            "--model",
            str(tiny_model),
            "--max-new-tokens",
            "8",
            "--allow-missing-images",
            "--no-progress",
            "--allow-empty",  # a tiny random LLM's replies: every row may be a reject
        ],
    )
    assert r.exit_code == 0, r.output
    for label in (
        "backend",
        "requests",
        "retries",
        "timeouts",
        "completion tokens",
        "this run",
        "all shards",
    ):
        assert label in r.output
    assert "metadata questions only" not in r.output
    import typer.main

    synth = typer.main.get_command(app).commands["synth"]
    verify_help = next(p.help for p in synth.params if p.name == "verify")
    assert "every generated pair" in verify_help and "yes/no answers" not in verify_help
