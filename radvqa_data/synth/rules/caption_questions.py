"""Rules for the questions a caption answers, built on its entities: PRES and ABN here, the
"no" of PRES in `negation`, POS, SIZE, ATTRIB and COUNT in `modifiers`. Each
candidate cites the exact span that grounds it.

What the rules will not do (each was a measured error source, see docs/synth.md "Correctness"):
- answer "no" from absence: a "no" cites a negation in scope or a contrasting stated fact;
- attach a size, side, count, location or attribute to a finding it does not modify
  (`finding_frames`);
- ask about a finding that is uncertain, one of two alternatives ("cyst or abscess"), or that
  cannot exist in the image's region;
- name a secondary feature ("calcification" of a cyst's rim) as the main finding, or name a main
  finding where the caption describes several (v4: which one is "main" is then a guess);
- ask about a change of a structure ("enlargement", "dilatation") without the structure;
- read a finding word inside a device's name ("occlusion device") as the finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.core.pipeline_records import Candidate, Entity, ImageRecord
from radvqa_data.synth.rules.candidates import QuestionRandom, finding_slots, make, reject, span_of
from radvqa_data.synth.rules.caption_check import source_text_reason
from radvqa_data.synth.rules.case_findings import GENERIC_ABN, FindingsReading, findings_rows
from radvqa_data.synth.rules.evidence import finding_group, image_regions, region_allows
from radvqa_data.synth.rules.finding_frames import GENERIC_NOUNS, STRUCTURE_CHANGES, CaptionReading
from radvqa_data.synth.rules.modifiers import finding_questions, size_of_anatomy
from radvqa_data.synth.rules.negation import pres_no
from radvqa_data.synth.rules.normality import case_normality_no, normality_no
from radvqa_data.synth.rules.scope import excluded, other_image
from radvqa_data.synth.rules.sentence_units import (
    DETERMINERS,
    Unit,
    ends_noun_phrase,
    group_of,
    is_adjective_like,
    is_adverb,
)

#: Features that usually accompany a main finding: never the answer to "What abnormality is
#: seen?" (where the caption names nothing else, the main finding is usually a diagnosis the
#: lexicon lacks).
SECONDARY_NORMS = frozenset(
    {
        "calcification",
        "edema",
        "mass effect",
        "midline shift",
        "necrosis",
        "fat stranding",
        "swelling",
        "volume loss",
    }
)
#: Findings named by what happens to a structure: a word of their phrase that the lexicon does not
#: know usually says which ("septal thickening", "ductal dilatation"), so the norm alone is a
#: truncated answer and no ABN is asked.
GENERIC_NORMS = frozenset(
    {
        "thickening",
        "dilation",
        "enlargement",
        "narrowing",
        "opacity",
        "sclerosis",
        "distension",
        "degeneration",
    }
)

#: Attributes written as nouns: a sentence can name one as its abnormality ("Enhancement at ...").
_ATTRIBUTE_NOUNS = frozenset(
    {
        "enhancement",
        "rim enhancement",
        "ring enhancement",
        "hyperintensity",
        "hyperintensities",
        "hypointensity",
        "hypointensities",
        "hyperdensity",
        "hypodensity",
        "high signal",
        "increased signal",
        "low signal",
        "decreased signal",
    }
)


def caption_candidates(
    rec: ImageRecord,
    rng: QuestionRandom,
    normal_statements: bool = True,
    case_findings: bool = False,
) -> Iterator[Candidate]:
    """PRES, ABN, POS, SIZE, ATTRIB and COUNT candidates from the caption and its entities
    (with `normal_statements`, also the PRES "no" of a structure stated normal; with
    `case_findings`, the rows of the case findings' sentences anchored to this picture,
    `case_findings.py`)."""
    caption = rec.texts.get("caption")
    reason = source_text_reason(caption)
    if reason is not None:
        yield reject(rec, "OTHER", "caption.check", reason, "caption", caption)
        return
    assert caption is not None
    cap = CaptionReading(rec, caption)
    regions = image_regions(rec)
    findings = [e for e in cap.ents if e.label == "FINDING"]
    usable, changes = [], []
    for e in findings:
        fr = cap.frames.get(e)
        if excluded(cap.text, cap.bounds, e):
            yield reject(rec, "PRES", "pres.yesno", "excluded_differential", "caption", e.text)
        elif other_image(rec, cap.text, cap.bounds, cap.ents, e):
            yield reject(rec, "PRES", "pres.yesno", "other_image_sentence", "caption", e.text)
        elif fr is not None and fr.device:
            yield reject(rec, "PRES", "pres.yesno", "device_name", "caption", e.text)
        elif e.uncertain:
            yield reject(rec, "PRES", "pres.yesno", "uncertain_finding", "caption", e.text)
        elif not region_allows(e.norm, regions):
            yield reject(rec, "PRES", "pres.yesno", "region_mismatch", "caption", e.text)
        elif not e.negated and fr is not None and fr.alternative:
            yield reject(rec, "PRES", "pres.yesno", "alternative_finding", "caption", e.text)
        elif not e.negated and fr is not None and fr.treated:
            yield reject(rec, "PRES", "pres.yesno", "treated_finding", "caption", e.text)
        elif not e.negated and fr is not None and fr.past:
            yield reject(rec, "PRES", "pres.yesno", "past_finding", "caption", e.text)
        elif e.norm in STRUCTURE_CHANGES:
            yield reject(rec, "PRES", "pres.yesno", "change_without_structure", "caption", e.text)
            changes.append(e)
        else:
            usable.append(e)
    affirmed = list({e.norm: e for e in reversed(usable) if not e.negated}.values())[::-1]
    if affirmed:
        e = rng.fork("pres.yes").choice(affirmed)
        yield make(
            rec,
            rng,
            "PRES",
            "pres.yesno",
            "yes",
            CLOSED,
            "caption",
            e.text,
            finding_slots(e.norm),
            **span_of(e),
        )
    yield from pres_no(rec, rng, cap, usable, regions)
    if normal_statements:
        taken: set[str] = set()
        yield from normality_no(rec, rng, cap.text, cap.bounds, cap.ents, regions, taken)
        yield from case_normality_no(rec, rng, regions, taken)
    if not affirmed:
        return
    main = _main_finding(
        cap, [e for e in usable if not e.negated], [e for e in changes if not e.negated]
    )
    reading = FindingsReading(rec, cap.frames) if case_findings else None
    specific = reading.specific_name() if reading is not None else None
    if main is not None and _studies_named(cap) > 1:
        yield reject(rec, "ABN", "abn.open", "caption_of_several_studies", "caption", caption)
    elif main is not None and main.norm in GENERIC_ABN and specific is not None:
        # v7: the case findings name what the caption calls a mass ("meningioma")
        assert reading is not None and reading.cap is not None
        yield make(
            rec, rng, "ABN", "abn.open", specific.norm, OPEN, "findings", specific.text, {},
            **span_of(specific),
        )  # fmt: skip
    elif main is not None:
        yield make(
            rec,
            rng,
            "ABN",
            "abn.open",
            main.norm,
            OPEN,
            "caption",
            main.text,
            {},
            **span_of(main),
        )
    heads = [e for e in affirmed if cap.frames.get(e) is not None and cap.frames[e].head]
    for e in heads[:3]:
        same = [
            cap.frames[x]
            for x in usable
            if x.norm == e.norm and not x.negated and x in cap.frames and cap.frames[x].head
        ]
        yield from finding_questions(rec, rng, cap, e, same)
    yield from size_of_anatomy(rec, rng, cap)
    if reading is not None:
        yield from findings_rows(rec, rng, reading)


def _main_finding(
    cap: CaptionReading, mentions: list[Entity], changes: list[Entity]
) -> Entity | None:
    """The finding "What abnormality is seen?" names: the first mention in the caption of a
    finding heading its phrase that is not a feature of another (a cyst, not the calcification of
    its rim), nor a device; and only when it is the one finding of its caption (v4): every other
    affirmed finding that is not a feature of another (`_independent`) is of its class."""
    ranked = []
    for pos, e in enumerate(mentions):
        fr = cap.frames.get(e)
        if not _independent(cap, e):
            continue
        assert fr is not None
        if not fr.head:
            continue  # "necrotic nodes": the adjective names a feature, not the abnormality
        if _opens_with_signal(cap.sentence_of[e], e):
            continue  # "Enhancement at the disc space ... and paraspinal mass": that is the finding
        if e.norm not in SECONDARY_NORMS:  # edema alone: the main finding is likely unnamed
            ranked.append((pos, e))
    if not ranked or any(fr.of_unnamed for fr in cap.frames.values()):
        return None  # nothing, or a thing the lexicon lacks ("Skull cap ... with hematoma")
    main = ranked[0][1]
    if main.norm in GENERIC_NORMS and cap.frames[main].qualifiers:
        return None  # "irregular intralobular septal thickening": not just "thickening"
    if _unnamed_before(cap, main):
        return None
    groups = {
        finding_group(e.norm)
        for e in mentions + changes
        if _independent(cap, e) and e.norm not in SECONDARY_NORMS
    }
    if groups != {finding_group(main.norm)}:
        return None  # several findings: which is the main one, the caption does not say
    return main


def _independent(cap: CaptionReading, e: Entity) -> bool:
    """True when mention `e` names a finding in its own right: not a feature of another finding,
    a device, a landmark, a legend entry, or gone."""
    fr = cap.frames.get(e)
    if fr is None or finding_group(e.norm) == "device" or fr.secondary or fr.modifies_finding:
        return False
    return not (fr.landmark or fr.past or fr.legend or fr.device)


def _unnamed_before(cap: CaptionReading, main: Entity) -> bool:
    """True when a sentence before the main finding's names no finding but sizes something the
    lexicon does not know ("There is a large mucous plug within the right main stem bronchus."):
    the caption's main finding is then most likely that, not a later one."""
    for us in cap.sentences:
        if us and us[0].start >= main.start:
            return False
        if any(u.kind == "FINDING" for u in us):
            continue
        for k, u in enumerate(us):
            if u.kind not in ("SIZE", "MEASURE"):
                continue
            j = k + 1
            while j < len(us) and (
                us[j].kind in ("ATTRIBUTE", "SIZE") or is_adjective_like(us[j]) or is_adverb(us[j])
            ):
                j += 1
            if (
                j < len(us)
                and _unknown_noun(us[j])
                and ends_noun_phrase(us[j + 1] if j + 1 < len(us) else None)
            ):
                return True
    return False


def _unknown_noun(u: Unit) -> bool:
    return (
        u.kind == "WORD"
        and u.low not in DETERMINERS
        and u.low not in GENERIC_NOUNS
        and not ends_noun_phrase(u)
    )


def _studies_named(cap: CaptionReading) -> int:
    """How many studies the caption describes, by the modalities its sentences name: "CT of chest
    shows ... . MRI of thoracic spine shows ..." names two, and which one this picture shows is not
    said. One sentence naming two ("PET CT shows ...") is one hybrid study."""
    per_sentence = set()
    for lo, hi in cap.bounds:
        named = frozenset(
            group_of("MODALITY", e.norm) or e.norm
            for e in cap.ents
            if e.label == "MODALITY" and lo <= e.start < hi
        )
        if named:
            per_sentence.add(named)
    return len(per_sentence)


def _opens_with_signal(us: list[Unit], e: Entity) -> bool:
    """True when the sentence names an enhancement or signal change as a noun before any finding."""
    for u in us:
        if u.kind == "FINDING":
            return False
        if u.kind == "ATTRIBUTE" and u.low in _ATTRIBUTE_NOUNS:
            return True
    return False
