"""Rules for the questions the structured metadata answers: MODALITY (kind, MR sequence,
contrast), PLANE and ORGAN (body region). Every image with the metadata gets them, whether its
pixel file is present or not (text-only rows need `--allow-missing-images`), except where the
picture would make them wrong:

- a file that is not one scan (a montage, 3D rendering, CT scout, photograph, drawing or
  pathology picture: the catalog's `image_kind`) gets no MODALITY and no PLANE questions, and a
  photograph, drawing or pathology picture no ORGAN question either;
- a record whose caption contradicts its modality or plane (`caption_contradicts`: an "Axial CT
  T2 Fat Saturation" filed as CT) gets no question about that field;
- an image whose region signals conflict or leave several regions open (`region_status`) gets
  no ORGAN question.

- an image whose caption the catalog flags as non-English (`non_english_reason`, the catalog's
  own check) gets no metadata question at all: where metadata comes from a caption (ROCO) it was
  read from words in another language.

A fact that `radvqa-data label-issues` found wrong (the catalog's `label_issues`: the pictures
or the caption contradict it) gives no question (reject `label_issue`), or, with
`synth --label-issues use-suggested`, questions about the suggested value instead (their
`source_field` is `label_model.<field>`, not `metadata.<field>`); `ignore` asks as before.

Each skipped type is one reject (`image_is_<kind>`, `caption_contradicts_<field>`,
`region_conflict`, `region_undecided`, `caption_non_english`, `label_issue`), so the counts
show what was left out and why.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from radvqa_data.catalog.textcheck import non_english_reason
from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.core.pipeline_records import Candidate, ImageRecord
from radvqa_data.lexicon import load_lexicon
from radvqa_data.synth.rules.candidates import QuestionRandom, make, pick_polarity, reject

#: Plausible alternatives for "no" answers and two-way choices (what a reader might confuse).
MODALITY_ALTERNATIVES = {
    "CT": ("MRI", "X-ray"),
    "MRI": ("CT",),
    "X-ray": ("CT",),
    "ultrasound": ("CT", "MRI"),
    "angiography": ("CT", "MRI"),
    "nuclear": ("CT", "MRI"),
}
PLANE_ALTERNATIVES = {
    "axial": ("coronal", "sagittal"),
    "coronal": ("axial", "sagittal"),
    "sagittal": ("axial", "coronal"),
    "frontal": ("lateral",),
    "lateral": ("frontal",),
}
#: Regions that never share a picture with the true one: a "no" must stay true for an image
#: that spans two neighbours (an abdomen CT shows the lung bases, a neck CT the skull base, and
#: every chest or abdomen slice a vertebra).
REGION_ALTERNATIVES = {
    "head": ("chest", "abdomen", "pelvis"),
    "neck": ("abdomen", "pelvis"),
    "chest": ("head", "pelvis"),
    "abdomen": ("head", "neck"),
    "pelvis": ("head", "chest"),
    "spine": ("extremity", "breast"),
    "extremity": ("head", "abdomen"),
    "breast": ("head", "pelvis"),
}
SEQUENCE_ALTERNATIVES = {
    "T1-weighted": ("T2-weighted", "FLAIR"),
    "T2-weighted": ("T1-weighted", "FLAIR"),
    # FLAIR is a T2-weighted inversion recovery: "Is this MRI T2-weighted? no" was wrong (v5)
    "FLAIR": ("T1-weighted", "DWI"),
    "DWI": ("T1-weighted", "FLAIR"),
    "STIR": ("T1-weighted",),
    "gradient echo": ("T1-weighted", "FLAIR"),  # T2* gradient echo: not "T2-weighted? no" (v5)
}
REGION_NAMES = {
    "extremity": "extremity",
    "head": "head",
    "neck": "neck",
    "chest": "chest",
    "abdomen": "abdomen",
    "pelvis": "pelvis",
    "spine": "spine",
    "breast": "breast",
}
_CONTRAST_WITH = re.compile(
    r"w/|with|contrast \(|gadolinium|\bgd\b|gi & iv|iv contrast|gi contrast", re.I
)
_CONTRAST_WITHOUT = re.compile(r"non-?contrast|without contrast", re.I)


def _sequence_patterns() -> list[tuple[str, re.Pattern[str]]]:
    pats = []
    for e in load_lexicon():
        if e.label == "SEQUENCE" and e.group == "MRI":
            alts = sorted(e.synonyms, key=len, reverse=True)
            pats.append(
                (
                    e.norm,
                    re.compile(
                        r"(?<![a-z0-9])("
                        + "|".join(re.escape(a.lower()) for a in alts)
                        + r")(?![a-z0-9])"
                    ),
                )
            )
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
    rec: ImageRecord,
    rng: QuestionRandom,
    qtype: str,
    key: str,
    value: str,
    alternatives: tuple[str, ...],
    field: str,
    span: str,
    slot: str,
) -> Iterator[Candidate]:
    """Yes/no (coin-flipped polarity), two-way choice and open questions about one value."""
    site = rng.fork(key, value)
    other = site.choice(alternatives)
    yes = pick_polarity(site)
    asked = value if yes else other
    yield make(
        rec,
        rng,
        qtype,
        f"{key}.yesno",
        "yes" if yes else "no",
        CLOSED,
        field,
        span,
        {slot: asked},
    )
    x, y = (value, other) if site.random() < 0.5 else (other, value)
    yield make(rec, rng, qtype, f"{key}.choice", value, CLOSED, field, span, {"x": x, "y": y})
    yield make(rec, rng, qtype, f"{key}.open", value, OPEN, field, span, {})


#: Image kinds (catalog `image_kind`) that show one scan; None: the source does not say.
SINGLE_SCAN = frozenset({"scan", None})
#: Image kinds whose picture shows a body region as imaged (a montage, 3D rendering or scout
#: does; a photograph, drawing or specimen does not).
REGION_KINDS = frozenset({"scan", "montage", "3d", "scout", None})


#: What a flagged metadata fact becomes (`synth --label-issues`): no question, questions about
#: the suggested value, or questions about the given value as if nothing were flagged.
LABEL_ISSUE_POLICIES = ("reject", "use-suggested", "ignore")
#: label_issues.field -> (question type, template key, the record's raw column)
_ISSUE_FIELDS = {
    "modality": ("MODALITY", "modality", "modality_raw"),
    "plane": ("PLANE", "plane", None),
    "organ": ("ORGAN", "organ", "organ_raw"),
}
_USABLE = {"modality": MODALITY_ALTERNATIVES, "plane": PLANE_ALTERNATIVES}


def _label_issue_view(
    rec: ImageRecord, policy: str
) -> tuple[ImageRecord, list[Candidate], set[str]]:
    """(the record as the rules should read it, `label_issue` rejects, fields now suggested)."""
    if policy == "ignore" or not rec.label_issues:
        return rec, [], set()
    changes: dict[str, str | None] = {}
    rejects: list[Candidate] = []
    suggested: set[str] = set()
    for fld, value in sorted(rec.label_issues.items()):
        if fld not in _ISSUE_FIELDS:
            continue
        qtype, key, raw = _ISSUE_FIELDS[fld]
        usable = _USABLE.get(fld, REGION_ALTERNATIVES)
        given = getattr(rec, fld)
        if policy == "use-suggested" and value in usable:
            changes[fld] = value
            suggested.add(fld)
        else:  # reject, or no usable suggestion
            changes[fld] = None
            rejects.append(reject(rec, qtype, key, "label_issue", f"metadata.{fld}", given))
        if raw is not None:  # a raw value would still describe the old label
            changes[raw] = None
    return dataclasses.replace(rec, **changes), rejects, suggested


def metadata_candidates(
    rec: ImageRecord, rng: QuestionRandom, label_issues: str = "reject"
) -> Iterator[Candidate]:
    """MODALITY, PLANE and ORGAN candidates from the record's normalized metadata.

    `label_issues`: what a fact flagged in the catalog's `label_issues` becomes
    (`LABEL_ISSUE_POLICIES`)."""
    caption = rec.texts.get("caption")
    if caption and non_english_reason(caption):
        for qtype, key, value in (
            ("MODALITY", "modality", rec.modality),
            ("PLANE", "plane", rec.plane),
            ("ORGAN", "organ", rec.organ),
        ):
            if value is not None:
                yield reject(
                    rec, qtype, qtype.lower(), "caption_non_english", f"metadata.{key}", value
                )
        return
    rec, rejects, suggested = _label_issue_view(rec, label_issues)
    yield from rejects
    for cand in _metadata_candidates(rec, rng):
        fld = (cand.source_field or "").removeprefix("metadata.")
        if fld in suggested and cand.reject_reason is None:
            cand.source_field = f"label_model.{fld}"  # provenance: the model's value
        yield cand


def _metadata_candidates(rec: ImageRecord, rng: QuestionRandom) -> Iterator[Candidate]:
    """MODALITY, PLANE and ORGAN candidates of the record as given."""
    if rec.kind not in SINGLE_SCAN:
        reason = f"image_is_{rec.kind}"
        yield reject(rec, "MODALITY", "modality", reason, "metadata.modality", rec.modality_raw)
        yield reject(rec, "PLANE", "plane", reason, "metadata.plane", rec.plane)
    else:
        if "modality" in rec.contradicted:
            yield reject(
                rec,
                "MODALITY",
                "modality",
                "caption_contradicts_modality",
                "metadata.modality",
                rec.modality_raw,
            )
        else:
            yield from _modality(rec, rng)
        if "plane" in rec.contradicted:
            yield reject(
                rec, "PLANE", "plane", "caption_contradicts_plane", "metadata.plane", rec.plane
            )
        elif rec.plane in PLANE_ALTERNATIVES:
            yield from _three_forms(
                rec,
                rng,
                "PLANE",
                "plane",
                rec.plane,
                PLANE_ALTERNATIVES[rec.plane],
                "metadata.plane",
                rec.plane,
                "p",
            )
    if rec.kind not in REGION_KINDS:
        yield reject(rec, "ORGAN", "organ", f"image_is_{rec.kind}", "metadata.organ", rec.organ_raw)
    elif rec.organ in REGION_ALTERNATIVES:
        yield from _three_forms(
            rec,
            rng,
            "ORGAN",
            "organ",
            REGION_NAMES[rec.organ],
            REGION_ALTERNATIVES[rec.organ],
            "metadata.organ",
            rec.organ,
            "r",
        )
    elif rec.region_status in ("conflict", "undecided"):
        yield reject(
            rec, "ORGAN", "organ", f"region_{rec.region_status}", "metadata.organ", rec.organ_raw
        )


def _modality(rec: ImageRecord, rng: QuestionRandom) -> Iterator[Candidate]:
    """MODALITY candidates of a single scan: kind, MR sequence, contrast."""
    if rec.modality in MODALITY_ALTERNATIVES:
        yield from _three_forms(
            rec,
            rng,
            "MODALITY",
            "modality",
            rec.modality,
            MODALITY_ALTERNATIVES[rec.modality],
            "metadata.modality",
            rec.modality,
            "m",
        )
    seq = mr_sequence(rec.modality_raw) if rec.modality == "MRI" else None
    if seq in SEQUENCE_ALTERNATIVES:
        site = rng.fork("sequence", seq)
        yes = pick_polarity(site)
        asked = seq if yes else site.choice(SEQUENCE_ALTERNATIVES[seq])
        span = rec.modality_raw or ""
        yield make(
            rec,
            rng,
            "MODALITY",
            "modality.sequence_yesno",
            "yes" if yes else "no",
            CLOSED,
            "metadata.modality",
            span,
            {"seq": asked},
        )
        yield make(
            rec,
            rng,
            "MODALITY",
            "modality.sequence_open",
            seq,
            OPEN,
            "metadata.modality",
            span,
            {},
        )
    contrast = contrast_state(rec.modality_raw)
    if contrast is not None:
        yield make(
            rec,
            rng,
            "MODALITY",
            "modality.contrast_yesno",
            "yes" if contrast == "with" else "no",
            CLOSED,
            "metadata.modality",
            rec.modality_raw or "",
            {},
        )
