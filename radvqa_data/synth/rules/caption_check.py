"""Is a source text (a caption) usable at all? Empty, figure-only, overlong, non-English: no."""

from __future__ import annotations

import re

from radvqa_data.catalog.textcheck import non_english_reason

_FIGURE_ONLY = re.compile(
    r"^\W*(fig(ure)?\.?|image|panel|plate)?\s*\d*[a-z]?[\W\d]*$", re.IGNORECASE
)
MAX_CHARS = 2000  # captions longer than this are whole paragraphs: no single image is described


def source_text_reason(text: str | None, *, max_chars: int = MAX_CHARS) -> str | None:
    """Why a caption cannot ground questions (`text_empty`, `text_figure_only`, `text_too_long`,
    `text_non_english`), or None when it can."""
    if text is None or not text.strip():
        return "text_empty"
    if _FIGURE_ONLY.match(text.strip()):
        return "text_figure_only"
    if len(text) > max_chars:
        return "text_too_long"
    if non_english_reason(text):
        return "text_non_english"
    return None
