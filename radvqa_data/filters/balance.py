"""Yes/no balance per question type: a model must not learn "always answer yes"."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from radvqa_data.core.answers import CLOSED
from radvqa_data.core.records import Candidate


class YesNoBalancer:
    """Trim the majority answer of each question type's yes/no rows to at most `max_share`.

    Runs per shard after the filters (shards are deterministic, so the result is too). The
    trimmed rows are returned with reason `yes_no_balance` and written as rejects. Which rows go
    is decided by a hash of their id, not their order, so no template or image is favoured.
    """

    name = "yes_no_balance"

    def __init__(self, max_share: float = 0.55) -> None:
        self.max_share = max_share  # 0.5: exact balance, more rows trimmed

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
        for by_answer in groups.values():
            yes, no = by_answer["yes"], by_answer["no"]
            major, minor = (yes, no) if len(yes) >= len(no) else (no, yes)
            allowed = int(len(minor) * self.max_share / (1 - self.max_share))
            if len(major) > allowed:
                ranked = sorted(major, key=lambda i: hashlib.sha1(kept[i][0].encode()).hexdigest())
                drop.update(ranked[allowed:])
        keep = [row for i, row in enumerate(kept) if i not in drop]
        trimmed = [row for i, row in enumerate(kept) if i in drop]
        return keep, trimmed
