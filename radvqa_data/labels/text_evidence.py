"""PLACEHOLDER (issue-21 pixel side): the text side (branch issue-21-text) owns this module.

Only the interface is here, so that `label-issues` runs in this worktree: the dataclass and the
function signature the text side publishes. At merge, the text side's file replaces this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class TextEvidence:
    """A text contradicting one metadata field of one image."""

    source: str
    image_id: str
    field: str  # modality | plane | region
    given: str | None  # the catalog's normalized value
    suggested: str | None  # the value the text names (None: it names none or several)
    evidence: str  # the quoted text


def text_label_evidence(
    con: duckdb.DuckDBPyConnection, images: list[tuple[str, str]] | None = None
) -> list[TextEvidence]:
    """Placeholder: no text evidence (the text side's implementation replaces this)."""
    return []
