"""The filter step shape and the chain that counts kept/dropped per reason."""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Sequence

from radvqa_data.core.pipeline_records import Candidate


class Filter(abc.ABC):
    """Says keep (None) or drop (a short machine-readable reason) for one candidate.

    Subclass it and implement `__call__`; `FilterChain` uses these members and no others.
    """

    #: The filter's name (the yes/no balancer's rejects carry it as their reason).
    name: str = "filter"

    @abc.abstractmethod
    def __call__(self, cand: Candidate) -> str | None:
        """None to keep `cand`, else why it is dropped (e.g. ``answer_too_long``)."""

    def reset(self) -> None:
        """Clear per-shard state (a stateful filter, such as the duplicate check, overrides
        this); the chain calls it before each shard."""
        return None


class FilterChain:
    """Run filters in order; the first reason wins. Counts every decision.

    A candidate a generator already rejected (`reject_reason` set) keeps that reason and is
    counted like any other reject, so nothing is dropped silently.
    """

    def __init__(self, filters: Sequence[Filter]) -> None:
        self.filters = list(filters)
        self.kept = 0
        self.rejected: Counter[str] = Counter()

    def check(self, cand: Candidate) -> str | None:
        """The reason to reject `cand`, or None to keep it (and count the decision)."""
        reason = cand.reject_reason
        if reason is None:
            for f in self.filters:
                reason = f(cand)
                if reason is not None:
                    break
        if reason is None:
            self.kept += 1
        else:
            self.rejected[reason] += 1
        return reason

    def split(
        self, cands: Iterable[Candidate]
    ) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
        """Partition candidates into (kept, [(rejected, reason)])."""
        kept: list[Candidate] = []
        rejected: list[tuple[Candidate, str]] = []
        for c in cands:
            reason = self.check(c)
            if reason is None:
                kept.append(c)
            else:
                rejected.append((c, reason))
        return kept, rejected

    def reset(self) -> None:
        """Clear per-shard state of stateful filters (duplicates), not the counters."""
        for f in self.filters:
            f.reset()
