"""The synthesis step's contract: what a generator is. The records it reads and yields are
core types (`radvqa_data.core.records`), re-exported here so that code and pickles naming
`radvqa_data.synth.types.Candidate` (or `ImageRecord`, `Entity`) keep working; new code imports
them from the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from radvqa_data.core.records import Candidate, Entity, ImageRecord

__all__ = ["Candidate", "Entity", "Generator", "ImageRecord"]


class Generator(Protocol):
    """Turns image records into candidate QA pairs (rules, or prompts -> LLM -> parsed pairs)."""

    name: str

    def generate(self, records: Iterable[ImageRecord]) -> Iterator[Candidate]:
        """Yield candidates for `records` (in any order; may batch internally)."""
        ...
