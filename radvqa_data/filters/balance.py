"""Yes/no balance per question type: a model must not learn "always answer yes"."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from radvqa_data.core.answers import CLOSED
from radvqa_data.core.pipeline_records import Candidate

#: What the balancer does with a type's surplus majority rows (`synth --balance`).
BALANCE_MODES = ("reject", "weight", "off")


class YesNoBalancer:
    """Trim the majority answer of each question type's yes/no rows to at most `max_share`.

    `mode` (issue 20): `reject` drops the surplus (default; the rows are true, so the manifest
    counts them per type); `weight` keeps every row and gives each majority row the
    `sample_weight` that brings the type's weighted share to `max_share` (others 1.0), for a
    trainer that honours it; `off` keeps every row unweighted.

    Runs per shard after the filters (shards are deterministic, so the result is too). The
    trimmed rows are returned with reason `yes_no_balance` and written as rejects. Which rows go
    is decided by a hash of their id, not their order, so no template or image is favoured.
    """

    name = "yes_no_balance"

    def __init__(self, max_share: float = 0.55, mode: str = "reject") -> None:
        self.max_share = max_share  # 0.5: exact balance, more rows trimmed
        self.mode = mode

    def balance(
        self, kept: list[tuple[str, Candidate]]
    ) -> tuple[list[tuple[str, Candidate]], list[tuple[str, Candidate]]]:
        """Split (row_id, candidate) pairs into (kept, trimmed)."""
        groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"yes": [], "no": []})
        for i, (_, c) in enumerate(kept):
            a = c.answer.strip().lower()
            if c.answer_type == CLOSED and a in ("yes", "no"):
                groups[c.question_type][a].append(i)
        drop: set[int] = set()
        if self.mode == "off":
            return kept, []
        for by_answer in groups.values():
            yes, no = by_answer["yes"], by_answer["no"]
            major, minor = (yes, no) if len(yes) >= len(no) else (no, yes)
            allowed = int(len(minor) * self.max_share / (1 - self.max_share))
            if self.mode == "weight":
                # weighted share of the majority = max_share (a type with no minority: kept whole)
                w = allowed / len(major) if minor and len(major) > allowed else 1.0
                for i in major:
                    kept[i][1].sample_weight = round(w, 6)
                for i in minor:
                    kept[i][1].sample_weight = 1.0
                continue
            if len(major) > allowed:
                ranked = sorted(major, key=lambda i: hashlib.sha1(kept[i][0].encode()).hexdigest())
                drop.update(ranked[allowed:])
        keep = [row for i, row in enumerate(kept) if i not in drop]
        trimmed = [row for i, row in enumerate(kept) if i in drop]
        return keep, trimmed
