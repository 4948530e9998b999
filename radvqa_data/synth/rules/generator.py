"""The `rules` backend: typed QA pairs from metadata and entities, no model needed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from radvqa_data.core.records import Candidate, ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.caption_questions import caption_candidates
from radvqa_data.synth.rules.metadata_questions import metadata_candidates
from radvqa_data.synth.types import Generator


class RulesGenerator(Generator):
    """Yield MODALITY/PLANE/ORGAN questions from metadata and PRES/ABN/POS/SIZE/ATTRIB/COUNT
    questions from the caption's entities.

    Randomness (phrasing, yes/no polarity, alternatives) comes from streams seeded by (seed,
    source, image_id, question site), so a shard's output does not depend on which other images
    run, and one question's wording does not depend on which other questions were asked.
    """

    name = "rules"
    #: The texts the driver loads (with their entities): captions, and MedPix case findings for
    #: case-level negation evidence ("no pneumothorax" in the findings backs a PRES "no").
    text_fields = ("caption", "findings")

    def __init__(self, seed: int = 0, label_issues: str = "reject") -> None:
        from radvqa_data.core.errors import ConfigError
        from radvqa_data.synth.rules.metadata_questions import LABEL_ISSUE_POLICIES

        if label_issues not in LABEL_ISSUE_POLICIES:
            raise ConfigError(
                f"--label-issues {label_issues}: expected one of {', '.join(LABEL_ISSUE_POLICIES)}"
            )
        self.seed = seed
        self.label_issues = label_issues  # what a fact flagged by `label-issues` becomes

    @property
    def settings(self) -> dict[str, object]:
        """What shapes the rows (recorded in the manifest and the run fingerprint)."""
        from radvqa_data.synth.rules.templates import RULES_VERSION

        return {
            "backend": "rules",
            "rules_version": RULES_VERSION,
            "seed": self.seed,
            "label_issues": self.label_issues,
        }

    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Candidates for each record, metadata questions first."""
        for rec in records:
            rng = QuestionRandom(f"{self.seed}:{rec.source}:{rec.image_id}")
            for cand in metadata_candidates(rec, rng, self.label_issues):
                cand.seed = self.seed
                yield cand
            for cand in caption_candidates(rec, rng):
                cand.seed = self.seed
                yield cand
