"""The step contracts: a `Generator` or a `Filter` needs only its one abstract method; the
driver uses the declared members and leaves the caller's config as it was."""

from __future__ import annotations

import copy

import pytest

from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.filters.base import Filter, FilterChain
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.driver import run_synth
from radvqa_data.synth.types import Generator


class OneQuestion(Generator):
    """The smallest generator: one MODALITY question per record, every other member default."""

    name = "one-question"

    def generate(self, records):
        for r in records:
            yield Candidate(
                record=r,
                question="What modality is this?",
                answer=r.modality or "CT",
                answer_type="open",
                question_type="MODALITY",
                generator=self.name,
                template_id="one",
                prompt_version="v1",
                source_field="metadata.modality",
                source_text=r.modality or "CT",
            )


class DropAll(Filter):
    name = "drop_all"

    def __call__(self, cand):
        return "dropped"


def test_minimal_generator_runs_and_config_is_not_mutated(sample_catalog, tmp_path):
    config = SynthConfig(limit=3, shard_size=2, allow_missing_images=True)
    before = copy.deepcopy(config)
    s = run_synth(sample_catalog, tmp_path / "o", config, OneQuestion(), progress=False)
    assert config == before  # the run resolved sources and settings on its own copy
    assert s.images == 3 and s.manifest["generator"] == "one-question"
    assert s.manifest["config"]["sources"]  # ... and the manifest has the resolved ones
    assert s.generator_summary == {}


def test_contracts_need_their_abstract_method():
    with pytest.raises(TypeError):
        Generator()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        Filter()  # type: ignore[abstract]


def test_a_filter_without_state_resets_through_the_default():
    rec = ImageRecord(source="s", image_id="i", case_id=None, split="train", status="ok")
    cand = next(OneQuestion().generate([rec]))
    chain = FilterChain([DropAll()])
    chain.reset()
    assert chain.split([cand]) == ([], [(cand, "dropped")])
    assert chain.rejected == {"dropped": 1}
