"""The `rules` backend: typed QA pairs from metadata and entities, no model needed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom, reject
from radvqa_data.synth.rules.caption_questions import caption_candidates
from radvqa_data.synth.rules.metadata_questions import metadata_candidates
from radvqa_data.synth.rules.sentence_units import group_of
from radvqa_data.synth.types import Generator

#: `--shared-captions`: `once` writes a caption shared by sibling images on one of them; `all`
#: on every sharer (the behaviour before issue 20).
SHARED_CAPTION_POLICIES = ("once", "all")
#: `--normal-statements`: PRES "no" rows from statements of normality ("The left kidney is
#: normal" -> "Is there a mass in the left kidney? no"; `synth/rules/normality.py`), or none.
NORMAL_STATEMENT_POLICIES = ("on", "off")
#: `--case-findings`: rows from the case's findings sentences about a finding this image's
#: caption affirms (v7, `synth/rules/case_findings.py`), or none.
CASE_FINDINGS_POLICIES = ("on", "off")


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

    def __init__(
        self,
        seed: int = 0,
        label_issues: str = "reject",
        shared_captions: str = "once",
        normal_statements: str = "on",
        case_findings: str = "off",
    ) -> None:
        from radvqa_data.core.errors import ConfigError
        from radvqa_data.synth.rules.metadata_questions import LABEL_ISSUE_POLICIES

        if label_issues not in LABEL_ISSUE_POLICIES:
            raise ConfigError(
                f"--label-issues {label_issues}: expected one of {', '.join(LABEL_ISSUE_POLICIES)}"
            )
        if shared_captions not in SHARED_CAPTION_POLICIES:
            raise ConfigError(
                f"--shared-captions {shared_captions}: expected one of "
                f"{', '.join(SHARED_CAPTION_POLICIES)}"
            )
        if normal_statements not in NORMAL_STATEMENT_POLICIES:
            raise ConfigError(
                f"--normal-statements {normal_statements}: expected one of "
                f"{', '.join(NORMAL_STATEMENT_POLICIES)}"
            )
        if case_findings not in CASE_FINDINGS_POLICIES:
            raise ConfigError(
                f"--case-findings {case_findings}: expected one of "
                f"{', '.join(CASE_FINDINGS_POLICIES)}"
            )
        self.case_findings = case_findings  # on: rows from findings sentences about this picture
        self.seed = seed
        self.label_issues = label_issues  # what a fact flagged by `label-issues` becomes
        self.shared_captions = shared_captions  # once: a shared caption's rows on one image
        self.normal_statements = normal_statements  # on: "no" rows from "the liver is normal"

    @property
    def settings(self) -> dict[str, object]:
        """What shapes the rows (recorded in the manifest and the run fingerprint)."""
        from radvqa_data.synth.rules.templates import RULES_VERSION

        return {
            "backend": "rules",
            "rules_version": RULES_VERSION,
            "seed": self.seed,
            "label_issues": self.label_issues,
            "shared_captions": self.shared_captions,
            "normal_statements": self.normal_statements,
            "case_findings": self.case_findings,
        }

    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Candidates for each record, metadata questions first."""
        for rec in records:
            rng = QuestionRandom(f"{self.seed}:{rec.source}:{rec.image_id}")
            for cand in metadata_candidates(rec, rng, self.label_issues):
                cand.seed = self.seed
                yield cand
            owner, others = caption_owner(rec) if self.shared_captions == "once" else (True, ())
            if not owner:
                yield reject(rec, "OTHER", "caption.shared", "caption_on_sibling", "caption", "")
                continue
            shared = ",".join(others) or None
            for cand in caption_candidates(
                rec, rng, self.normal_statements == "on", self.case_findings == "on"
            ):
                cand.seed = self.seed
                if cand.source_field == "caption" and cand.reject_reason is None:
                    cand.shared_with = shared
                yield cand


def caption_owner(rec: ImageRecord) -> tuple[bool, tuple[str, ...]]:
    """(whether this image writes its caption's rows, the siblings that share the caption).

    A caption shared word for word by several images of a case says nothing about which picture
    shows what it describes (issue 20: a quarter of MedPix caption rows were such copies). Its
    rows are written once: on the one image whose modality and plane the caption names, when
    exactly one sharer fits; otherwise on the first sharer by id. The others are listed in the
    written rows' `shared_with`."""
    sharers = [s for s in rec.siblings if s.same_caption]
    if not sharers:
        return True, ()
    ids = sorted([rec.image_id, *(s.image_id for s in sharers)])
    named_mod = {
        group_of("MODALITY", e.norm) or e.norm
        for e in rec.entities
        if e.field == "caption" and e.label == "MODALITY"
    }
    named_plane = {
        group_of("PLANE", e.norm) or e.norm
        for e in rec.entities
        if e.field == "caption" and e.label == "PLANE"
    }
    everyone = [(rec.image_id, rec.modality, rec.plane)] + [
        (s.image_id, s.modality, s.plane) for s in sharers
    ]
    fits = [
        iid
        for iid, mod, plane in everyone
        if (not named_mod or mod in named_mod) and (not named_plane or plane in named_plane)
    ]
    chosen = fits[0] if len(fits) == 1 and (named_mod or named_plane) else ids[0]
    return rec.image_id == chosen, tuple(i for i in ids if i != rec.image_id)
