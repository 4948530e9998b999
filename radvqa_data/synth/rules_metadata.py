"""Rules for the questions the structured metadata answers: MODALITY (kind, MR sequence,
contrast), PLANE and ORGAN (body region). Every image with the metadata gets them, whether its
pixel file is present or not (text-only rows need `--allow-missing-images`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from radvqa_data.lexicon import load_lexicon
from radvqa_data.synth.rules_common import QuestionRandom, make, pick_polarity
from radvqa_data.synth.types import Candidate, ImageRecord

#: Plausible alternatives for "no" answers and two-way choices (what a reader might confuse).
MODALITY_ALTERNATIVES = {
    "CT": ("MRI", "X-ray"), "MRI": ("CT",), "X-ray": ("CT",), "ultrasound": ("CT", "MRI"),
    "angiography": ("CT", "MRI"), "nuclear": ("CT", "MRI"),
}
PLANE_ALTERNATIVES = {
    "axial": ("coronal", "sagittal"), "coronal": ("axial", "sagittal"),
    "sagittal": ("axial", "coronal"), "frontal": ("lateral",), "lateral": ("frontal",),
}
REGION_ALTERNATIVES = {
    "head": ("chest", "abdomen", "spine"), "neck": ("head", "chest"), "chest": ("abdomen", "head"),
    "abdomen": ("chest", "pelvis"), "pelvis": ("abdomen", "chest"), "spine": ("head", "chest"),
    "extremity": ("chest", "spine"), "breast": ("abdomen", "head"),
}
SEQUENCE_ALTERNATIVES = {
    "T1-weighted": ("T2-weighted", "FLAIR"), "T2-weighted": ("T1-weighted", "FLAIR"),
    "FLAIR": ("T1-weighted", "T2-weighted"), "DWI": ("T1-weighted", "FLAIR"),
    "STIR": ("T1-weighted",), "gradient echo": ("T1-weighted", "T2-weighted"),
}
REGION_NAMES = {"extremity": "extremity", "head": "head", "neck": "neck", "chest": "chest",
                "abdomen": "abdomen", "pelvis": "pelvis", "spine": "spine", "breast": "breast"}
_CONTRAST_WITH = re.compile(r"w/|with|contrast \(|gadolinium|\bgd\b|gi & iv|iv contrast|gi contrast", re.I)
_CONTRAST_WITHOUT = re.compile(r"non-?contrast|without contrast", re.I)


def _sequence_patterns() -> list[tuple[str, re.Pattern[str]]]:
    pats = []
    for e in load_lexicon():
        if e.label == "SEQUENCE" and e.group == "MRI":
            alts = sorted(e.synonyms, key=len, reverse=True)
            pats.append((e.norm, re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(a.lower()) for a in alts) + r")(?![a-z0-9])")))
    return pats


_SEQUENCES = _sequence_patterns()


def mr_sequence(modality_raw: str | None) -> str | None:
    """The MR sequence named by a raw modality string ('MR - T1W w/Gadolinium' -> 'T1-weighted')."""
    if not modality_raw:
        return None
    low = modality_raw.lower()
    hits = [norm for norm, pat in _SEQUENCES if pat.search(low)]
    return hits[0] if len(hits) == 1 else None


def contrast_state(modality_raw: str | None) -> str | None:
    """'with' / 'without' contrast when the raw modality says so, else None."""
    if not modality_raw:
        return None
    if _CONTRAST_WITHOUT.search(modality_raw):
        return "without"
    if _CONTRAST_WITH.search(modality_raw):
        return "with"
    return None


def _three_forms(
    rec: ImageRecord, rng: QuestionRandom, qtype: str, key: str, value: str, alternatives: tuple[str, ...],
    field: str, span: str, slot: str,
) -> Iterator[Candidate]:
    """Yes/no (coin-flipped polarity), two-way choice and open questions about one value."""
    site = rng.fork(key, value)
    other = site.choice(alternatives)
    yes = pick_polarity(site)
    asked = value if yes else other
    yield make(rec, rng, qtype, f"{key}.yesno", "yes" if yes else "no", "closed", field, span, {slot: asked})
    x, y = (value, other) if site.random() < 0.5 else (other, value)
    yield make(rec, rng, qtype, f"{key}.choice", value, "closed", field, span, {"x": x, "y": y})
    yield make(rec, rng, qtype, f"{key}.open", value, "open", field, span, {})


def metadata_candidates(rec: ImageRecord, rng: QuestionRandom) -> Iterator[Candidate]:
    """MODALITY, PLANE and ORGAN candidates from the record's normalized metadata."""
    if rec.modality in MODALITY_ALTERNATIVES:
        yield from _three_forms(rec, rng, "MODALITY", "modality", rec.modality,
                                MODALITY_ALTERNATIVES[rec.modality], "metadata.modality", rec.modality, "m")
    seq = mr_sequence(rec.modality_raw) if rec.modality == "MRI" else None
    if seq in SEQUENCE_ALTERNATIVES:
        site = rng.fork("sequence", seq)
        yes = pick_polarity(site)
        asked = seq if yes else site.choice(SEQUENCE_ALTERNATIVES[seq])
        span = rec.modality_raw or ""
        yield make(rec, rng, "MODALITY", "modality.sequence_yesno", "yes" if yes else "no", "closed",
                   "metadata.modality", span, {"seq": asked})
        yield make(rec, rng, "MODALITY", "modality.sequence_open", seq, "open", "metadata.modality", span, {})
    contrast = contrast_state(rec.modality_raw)
    if contrast is not None:
        yield make(rec, rng, "MODALITY", "modality.contrast_yesno", "yes" if contrast == "with" else "no",
                   "closed", "metadata.modality", rec.modality_raw or "", {})
    if rec.plane in PLANE_ALTERNATIVES:
        yield from _three_forms(rec, rng, "PLANE", "plane", rec.plane, PLANE_ALTERNATIVES[rec.plane],
                                "metadata.plane", rec.plane, "p")
    if rec.region in REGION_ALTERNATIVES:
        yield from _three_forms(rec, rng, "ORGAN", "organ", REGION_NAMES[rec.region],
                                REGION_ALTERNATIVES[rec.region], "metadata.region", rec.region, "r")
