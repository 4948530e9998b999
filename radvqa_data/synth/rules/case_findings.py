"""Rows from the case's findings text, anchored to a picture (v7, issue 20).

A MedPix case's `Findings` describe its studies in more words than the captions ("CT of the
chest reveals an obstructing 4 cm left upper lobe mass"), but they are about the case, not about
one picture. A findings sentence gives rows on an image only when all of these hold:

- the image is an ordinary slice or radiograph (`CROSS_SECTION_VIEWS`, kind scan);
- the sentence is about this image's study, read as the case-level negations are
  (`negation._same_study`: its paragraph up to the sentence end names exactly the image's
  modality, no anatomy outside the image's region, no side the image does not state), it is not
  about another time point or image (`scope.other_image`) and the finding is not under an
  exclusion cue (`scope.excluded`);
- **the image's own caption affirms a finding of the same class** (a caption "mass" and a
  findings "4 cm left upper lobe mass"): the caption says this picture shows it. Where both the
  caption and the findings place the finding (an anatomy word of its phrase), the places share a
  norm;
- the finding is affirmed in the sentence and is read like a caption's (not uncertain, an
  alternative, treated, gone, a device, a landmark, a change without its structure).

Rows: the POS, SIZE, ATTRIB and COUNT questions of those findings (`modifiers.finding_questions`,
the same rules as for a caption), citing the findings span (`source_field` `findings`), with
what the caption states itself left to the caption (`_told`), and `FindingsReading.
specific_name`: the name the findings give a caption's generic "mass"/"lesion" where both place
it in a common structure.

Measured (docs/synth.md, rules v7): 24/38 correct on the draft (`findings7`, before tuning),
26/36 on every row of the tuned source outside that slice (`findings7b`, never tuned on):
anchoring by finding *class* cannot tell the caption's finding from another of its class, nor
another image of the same study. So `--case-findings` is off by default.

Written once per case: a sentence's rows go to one image, the first by id among the images of
the case with this modality whose caption affirms a finding of that class (`Sibling.
caption_findings`); the others get nothing from it (no copies on siblings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom
from radvqa_data.synth.rules.evidence import finding_group, region_allows
from radvqa_data.synth.rules.finding_frames import STRUCTURE_CHANGES, CaptionReading
from radvqa_data.synth.rules.finding_phrases import side_of
from radvqa_data.synth.rules.frame import Frame
from radvqa_data.synth.rules.modifiers import _is_plural, finding_questions
from radvqa_data.synth.rules.negation import (
    CROSS_SECTION_VIEWS,
    _anatomy_fits,
    _image_sides,
    _same_study,
    _sides_named,
)
from radvqa_data.synth.rules.scope import excluded, other_image
from radvqa_data.synth.rules.sentence_units import sentence_of

#: ABN answers that say nothing a prior would not guess; the findings' name replaces them.
GENERIC_ABN = frozenset({"mass", "lesion", "tumor"})
#: At most this many findings (distinct norms) per image give POS/SIZE/ATTRIB/COUNT rows.
MAX_FINDINGS_PER_IMAGE = 3


class FindingsReading:
    """What an image may take from its case's findings text: the anchored finding frames."""

    def __init__(self, rec: ImageRecord, caption_frames: dict[Entity, Frame]) -> None:
        self.rec = rec
        self.frames: list[Frame] = []  # anchored, usable, heading their phrase
        self.cap: CaptionReading | None = None
        self.anchor_of: dict[Entity, list[Frame]] = {}
        #: the MR sequences the caption names: the picture is one of those
        cap_sequences = {
            e.norm for e in rec.entities if e.field == "caption" and e.label == "SEQUENCE"
        }
        # a caption with a measurement of its own: the findings' could be another finding's
        measured = bool(_MEASURE.search(rec.texts.get("caption") or ""))
        text = rec.texts.get("findings") or ""
        if not text or rec.plane not in CROSS_SECTION_VIEWS or rec.kind not in (None, "scan"):
            return
        if not rec.modality:
            return
        anchors = _caption_anchors(rec, caption_frames)
        if not anchors:
            return
        cap = CaptionReading(rec, text, field="findings")
        from radvqa_data.synth.rules.evidence import image_regions

        regions = image_regions(rec)
        if not regions:
            return
        sides = _image_sides(rec)
        self.cap = cap
        # a findings text that names no modality, in a case whose images are all of this one:
        # the one study the case shows
        one_study = not any(x.label == "MODALITY" for x in cap.ents) and all(
            s.modality == rec.modality for s in rec.siblings
        )
        for e, fr in cap.frames.items():
            group = finding_group(e.norm)
            if group not in anchors or e.negated or e.uncertain or not fr.head:
                continue
            if fr.alternative or fr.treated or fr.past or fr.device or fr.landmark or fr.legend:
                continue
            if fr.secondary or fr.modifies_finding or e.norm in STRUCTURE_CHANGES:
                continue
            if not region_allows(e.norm, regions):
                continue
            if excluded(cap.text, cap.bounds, e):
                continue
            if other_image(rec, cap.text, cap.bounds, cap.ents, e):
                continue
            if not (
                _same_study(rec, cap.text, cap.bounds, cap.ents, e, regions, sides)
                or (one_study and _fits_image(rec, cap, e, regions, sides))
            ):
                continue
            if not _places_agree(anchors[group], fr):
                continue
            told = _told(anchors[group], fr, cap_sequences, measured)
            if told is None or not _owner(rec, group):
                continue
            self.frames.append(told)
            self.anchor_of[told.finding] = anchors[group]

    def specific_name(self) -> Entity | None:
        """The one specific name (not "mass"/"lesion"/"tumor") the anchored findings give a
        finding of the mass class, placed where the caption places its mass (both name a place,
        and a common one: "mass arising from the left adrenal gland" and "benign adrenal
        adenoma"), or None when they give none or several. (v7 draft: without the place, 1 of 4
        read true: an optic glioma named for a cervical fusion mass, the liver's carcinoma for a
        vertebral lesion.)"""
        named = {fr.finding.norm: fr for fr in self.frames}
        specific = [
            fr.finding
            for n, fr in named.items()
            if n not in GENERIC_ABN
            and n not in _NOT_NAMES
            and fr.locations
            and _places_shared(self.anchor_of[fr.finding], fr)
        ]
        groups = {finding_group(n) for n in named}
        if len(specific) != 1 or groups != {"mass"}:
            return None
        return specific[0]


def findings_rows(
    rec: ImageRecord, rng: QuestionRandom, reading: FindingsReading
) -> Iterator[Candidate]:
    """POS, SIZE, ATTRIB and COUNT rows of the anchored findings (the first
    `MAX_FINDINGS_PER_IMAGE` distinct norms)."""
    if reading.cap is None:
        return
    by_norm: dict[str, list[Frame]] = {}
    for fr in reading.frames:
        by_norm.setdefault(fr.finding.norm, []).append(fr)
    for norm in list(by_norm)[:MAX_FINDINGS_PER_IMAGE]:
        same = by_norm[norm]
        yield from finding_questions(rec, rng, reading.cap, same[0].finding, same)


def _caption_anchors(rec: ImageRecord, frames: dict[Entity, Frame]) -> dict[str, list[Frame]]:
    """Finding class -> the caption's frames that affirm a finding of it about this picture."""
    out: dict[str, list[Frame]] = {}
    for e, fr in frames.items():
        if e.negated or e.uncertain or fr.alternative or fr.past or fr.device or fr.landmark:
            continue
        out.setdefault(finding_group(e.norm), []).append(fr)
    return out


_MEASURE = re.compile(r"\d\s*(?:mm|cm)\b", re.IGNORECASE)
#: Mass-class findings that are no name for a mass ("lymphadenopathy" beside "masses").
_NOT_NAMES = frozenset({"lymphadenopathy", "cyst", "nodule", "nodules"})
#: Finding classes whose findings rows are not asked (a catheter's place is no finding).
_NOT_ASKED = frozenset({"device"})


def _sides(frames: list[Frame]) -> set[str]:
    """The sides the frames state: a side word, or a place that starts with one."""
    out = {side_of(u) for fr in frames for u in fr.sides}
    for fr in frames:
        for u in fr.locations:
            first = u.low.split()[0] if u.low else ""
            if first in ("left", "right"):
                out.add(first)
            elif u.ent is not None and u.ent.norm.split()[0] in ("left", "right"):
                out.add(u.ent.norm.split()[0])  # "RPA": right pulmonary artery
    return out


def _told(anchors: list[Frame], fr: Frame, cap_sequences: set[str], measured: bool) -> Frame | None:
    """The findings frame `fr` with what it may add to the caption's picture, or None when it
    may add nothing (v7 tuning, read from the `findings7` slice's misses):

    - the caption's mentions of the class state several sides ("right adrenal mass ... left
      kidney ... mass"): which the findings describe is not known;
    - the findings state a side the caption does not ("catheter fragment in RPA" against "left
      pulmonary artery"), or the number differs ("a few small renal cysts" against one cyst,
      "a lytic lesion" against the liver's "multiple lesions");
    - a device (its place is no finding).

    The caption's own measurement anywhere ("... 5x5x8cm / Left kidney ... mass 2x2x2cm") leaves
    the findings' measurements out (a CT's 3x2x2 cm of the left kidney mass is another study's).

    What the caption states itself (a place, a size word, a measurement) is left to the caption:
    the findings' place, size or measurement could be another of several ("bilateral hilar
    and mediastinal adenopathy" against "mediastinal"). A signal attribute is kept only when it
    is bound to an MR sequence the caption names (a T2 signal asked of the T1 picture cannot be
    read from it)."""
    if finding_group(fr.finding.norm) in _NOT_ASKED:
        return None
    said = _sides(anchors)
    if len(said) > 1 and "bilateral" not in said:
        return None
    here = _sides([fr])
    if here and said and here != said:
        return None
    plural = {_is_plural(a.finding) for a in anchors}
    if len(plural) != 1 or plural != {_is_plural(fr.finding)}:
        return None
    keep = [
        (a, q)
        for a, q in fr.attributes
        if a.group != "signal"
        or (q is not None and q.ent is not None and q.ent.norm in cap_sequences)
    ]
    return replace(
        fr,
        attributes=keep,
        locations=[] if any(a.locations for a in anchors) else fr.locations,
        sizes=[] if any(a.sizes for a in anchors) else fr.sizes,
        measures=[] if measured or any(a.measures for a in anchors) else fr.measures,
        count=None if any(a.count is not None for a in anchors) else fr.count,
    )


def _places_shared(anchors: list[Frame], fr: Frame) -> bool:
    """True when the caption and the findings both place the finding, in a common place."""
    said = {u.ent.norm for a in anchors for u in a.locations if u.ent is not None}
    here = {u.ent.norm for u in fr.locations if u.ent is not None}
    return bool(said & here)


def _places_agree(anchors: list[Frame], fr: Frame) -> bool:
    """False when the caption and the findings both place the finding, in no common place."""
    said = {u.ent.norm for a in anchors for u in a.locations if u.ent is not None}
    here = {u.ent.norm for u in fr.locations if u.ent is not None}
    return not said or not here or bool(said & here)


def _fits_image(
    rec: ImageRecord,
    cap: CaptionReading,
    e: Entity,
    regions: frozenset[str],
    sides: set[str],
) -> bool:
    """True when the paragraph up to mention `e`'s sentence end names nothing outside the image's
    region and no side the image does not state (the study check without a modality)."""
    lo, hi = sentence_of(cap.bounds, e.start)
    para = cap.text.rfind("\n", 0, lo) + 1
    context = [x for x in cap.ents if para <= x.start and x.end <= hi]
    if any(x.label == "ANATOMY" and not _anatomy_fits(x.norm, regions) for x in context):
        return False
    return not sides or _sides_named(context) <= sides


def _owner(rec: ImageRecord, group: str) -> bool:
    """True when this image is the first (by id) of its case with its modality whose caption
    affirms a finding of `group`: the one that writes the findings rows of that class."""
    for s in rec.siblings:
        if s.modality != rec.modality or s.image_id > rec.image_id:
            continue
        if any(finding_group(n) == group for n in s.caption_findings):
            return False
    return True
