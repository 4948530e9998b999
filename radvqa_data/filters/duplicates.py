"""Exact duplicates within one image: the same question asked twice of one picture."""

from __future__ import annotations

import re

from radvqa_data.core.pipeline_records import Candidate
from radvqa_data.filters.base import Filter

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower()).rstrip("?. ")


class ImageDuplicateFilter(Filter):
    """Keep the first of candidates with the same normalized question for one image.

    Two different answers to one question about one image would teach a contradiction; two equal
    ones only weight the pair twice. Both are rejected as `duplicate`. State is per shard.
    """

    name = "duplicates"

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str]] = set()

    def __call__(self, cand: Candidate) -> str | None:
        key = (cand.record.source, cand.record.image_id, _norm(cand.question))
        if key in self._seen:
            return "duplicate"
        self._seen.add(key)
        return None

    def reset(self) -> None:
        """Forget the seen questions (called between shards: images never span shards)."""
        self._seen.clear()
