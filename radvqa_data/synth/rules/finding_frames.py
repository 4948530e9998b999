"""Which modifiers belong to which finding: a *frame* per finding mention of a caption.

A size, side, count, location or attribute is attached to a finding only when it modifies that
finding in the text, read with pattern rules over the sentence's units (`sentence_units`):

- before the finding, its noun phrase back to a determiner or a function word ("a large
  lobulated left renal mass": large, lobulated, left, kidney), read here;
- after it, a location, a measurement, a side or a predicate (`finding_phrases.read_after`).

So in "large retroperitoneal mass with central calcifications" the calcifications are neither
large nor retroperitoneal, and are a secondary feature of the mass. A signal attribute keeps the
MR sequence written next to it ("T1 hyperintense", "hyperintense on T2"). `CaptionReading` reads
a whole caption once: its sentences, units and frames.
"""

from __future__ import annotations

from radvqa_data.core.pipeline_records import Entity, ImageRecord
from radvqa_data.synth.rules.finding_phrases import (
    REGION_WORDS,
    TISSUE_SURFACES,
    add_attributes,
    is_side,
    read_after,
)
from radvqa_data.synth.rules.frame import Frame
from radvqa_data.synth.rules.sentence_units import (
    CLAUSE_VERBS,
    DETERMINERS,
    MODIFIER_WORDS,
    Unit,
    ends_noun_phrase,
    is_adjective_like,
    is_adverb,
    sentence_bounds,
    units,
)

#: Finding surfaces that are adjectives: they describe the noun after them ("calcified cyst").
ADJECTIVE_FINDINGS = frozenset(
    "calcified hemorrhagic ischemic infarcted aneurysmal thrombosed stenotic occluded obstructed "
    "fractured dislocated subluxed edematous swollen consolidative atelectatic collapsed cavitary "
    "cavitating emphysematous bullous dilated distended herniated atrophic inflamed hypoplastic "
    "hypertrophied demyelinating necrotic thickened".split()
)
#: Findings that are a change of a structure: without the structure ("Is there enlargement?",
#: "Which side is the enlargement on?") the question is unclear and the answer a fragment, so
#: they are not asked at all (v4); they still count as findings of the caption.
STRUCTURE_CHANGES = frozenset(
    {
        "thickening",
        "dilation",
        "enlargement",
        "narrowing",
        "distension",
        "collapse",
        "atrophy",
        "hypertrophy",
        "degeneration",
    }
)
_ORDINALS = frozenset("first second third fourth fifth sixth".split())
_PRE_LABELS = frozenset({"SIZE", "ATTRIBUTE", "LATERALITY", "ANATOMY", "SEQUENCE", "FINDING"})
_SECONDARY_LEAD = frozenset("with containing causing producing".split())
_SECONDARY_WORDS = frozenset("associated surrounding adjacent accompanying underlying".split())
#: Nouns that name the picture or the patient, not a thing in it: "CT image with a hematoma",
#: "patient with a mass" are about the hematoma and the mass.
_NOT_SUBJECTS = frozenset(
    "image images scan scans view views radiograph radiographs film films section sections slice "
    "slices study studies figure picture photograph angiogram angiography cholangiogram patient "
    "patients man men woman women boy boys girl girls child children infant infants male female "
    "case".split()
)
#: Nouns that end a device's name: a finding word before one names the device, not a finding
#: ("patent foramen ovale occlusion device", "obstruction catheter").
DEVICE_WORDS = frozenset(
    "device devices occluder occluders plug plugs coil coils balloon balloons "
    "drain drains tube tubes wire wires filter filters system".split()
)
#: "a treated case of renal cell carcinoma": the diagnosis of the patient's history, treated.
_TREATED_CASE = frozenset("treated operated resected irradiated excised".split())
#: Punctuation that joins an abbreviation to its meaning in a figure legend ("A – ascites").
_LEGEND_MARKS = frozenset({"\u2013", "\u2014", "-", "=", ":"})
#: "consistent with dissection": what follows names the diagnosis, not a feature of it.
_DIAGNOSIS_LEAD = frozenset(
    "consistent compatible keeping diagnostic typical characteristic concordant".split()
)
#: Generic nouns a finding may precede and still name the abnormality ("fracture line").
GENERIC_NOUNS = frozenset(
    "line lines formation component components site focus foci area areas "
    "pattern appearance process fragment fragments deformity".split()
)
#: Procedures: "stone extraction", "drainage of the abscess" do not say that the finding is in
#: the picture (it may be gone, or the picture may precede or follow the procedure).
PROCEDURE_NOUNS = frozenset(
    "extraction extractor removal resection excision drainage aspiration "
    "repair clip clipping coiling embolization ablation fixation retrieval "
    "evacuation".split()
)
#: Words in a finding's noun phrase that say it is no longer there ("resolved aneurysm").
PAST_WORDS = frozenset("resolved former removed resected excised evacuated extracted".split())
#: Words with an anatomical adjective's ending that judge a finding instead of naming a structure
#: ("abnormal thickening" is still just thickening; "septal thickening" is not).
_EVALUATIVE = frozenset(
    "abnormal normal irregular regular typical atypical unusual circular global general central "
    "peripheral marginal minimal eccentric concentric symmetric asymmetric idiopathic organic "
    "dynamic classic characteristic dramatic massive similar particular".split()
)
_STRUCTURE_ENDINGS = ("al", "ar", "ary", "ic")
#: Verbs after a finding that say it has gone ("the mass has largely disappeared").
GONE_VERBS = frozenset("disappeared resolved regressed vanished gone".split())
_GONE_LINKS = frozenset("has have had is are was were now since then".split())
#: Findings whose anatomy modifier names the part that moved, not where the finding is
#: ("cerebellar tonsillar herniation" is a herniation of the tonsils through the foramen magnum;
#: in "herniation of bowel into the chest" the bowel is what herniates).
MOVED_PART_FINDINGS = frozenset({"herniation"})
#: Relations that make a finding a landmark for something else ("duct seen distal to the
#: pancreatic mass"): the finding is there, but the caption is about the other thing.
_LANDMARK_WORDS = frozenset(
    "distal proximal adjacent lateral medial anterior posterior superior "
    "inferior next close cranial caudal".split()
)
_LANDMARK_PREPS = frozenset("near beside abutting".split())
#: Verbs that open what a picture shows: a "with" phrase after their object is about the object
#: ("shows a focal scar ... with dilatation of the renal pelvis").
_SHOW_VERBS = frozenset(
    "shows show showing demonstrates demonstrating reveals revealing depicts "
    "depicting there".split()
)
#: Entities that may follow a finding that heads its phrase ("mass T2 hyperintense", "bleed CT").
_AFTER_HEAD = frozenset({"SEQUENCE", "ATTRIBUTE", "MODALITY", "PLANE", "CONTRAST"})


class CaptionReading:
    """A caption's findings read once: units and frames per sentence, the MR sequences named.
    `field` reads another text of the record the same way (v7: the case's findings text)."""

    def __init__(self, rec: ImageRecord, caption: str, field: str = "caption") -> None:
        self.rec, self.text, self.field = rec, caption, field
        self.ents = [e for e in rec.entities if e.field == field]
        self.bounds = sentence_bounds(caption)
        self.frames: dict[Entity, Frame] = {}
        self.sentences: list[list[Unit]] = []
        self.sentence_of: dict[Entity, list[Unit]] = {}
        for lo, hi in self.bounds:
            sent = [e for e in self.ents if lo <= e.start and e.end <= hi]
            if any(e.label in ("FINDING", "SIZE") for e in sent):
                us = units(caption, lo, hi, sent)
                self.sentences.append(us)
                for fr in frames(us):
                    self.frames[fr.finding] = fr
                    self.sentence_of[fr.finding] = us
        self.sequences = {e.norm for e in self.ents if e.label == "SEQUENCE"}


def frames(us: list[Unit]) -> list[Frame]:
    """A frame for every FINDING unit of one sentence's units `us`. A finding listed after a
    secondary one shares its role ("elevation of the hemidiaphragm associated with basal
    atelectasis of the right lower lobe and pleural effusion": both accompany the elevation)."""
    out: list[Frame] = []
    last = -1
    for i, u in enumerate(us):
        if u.kind == "FINDING" and u.ent is not None:
            frame = _frame(us, i)
            if out and out[-1].secondary and not frame.secondary and _listed_after(us, last, i):
                frame.secondary = True
            out.append(frame)
            last = i
    return out


def _listed_after(us: list[Unit], prev: int, i: int) -> bool:
    """True when finding `i` is the next item of a list after finding `prev` (joined by "and",
    "or" or a comma, with no clause verb or clause break between them)."""
    j = i - 1
    while j > prev and (
        us[j].kind in _PRE_LABELS
        or us[j].low in DETERMINERS
        or is_adjective_like(us[j])
        or is_adverb(us[j])
    ):
        j -= 1
    if j <= prev or us[j].low not in ("and", "or", ","):
        return False
    return not any(u.low in CLAUSE_VERBS or u.low in (";", ":") for u in us[prev + 1 : j])


def _frame(us: list[Unit], i: int) -> Frame:
    f = us[i]
    nxt = us[i + 1] if i + 1 < len(us) else None
    adjectival = f.low in ADJECTIVE_FINDINGS
    after = us[i + 2] if i + 2 < len(us) else None
    head = not adjectival and (
        ends_noun_phrase(nxt)
        or (nxt is not None and nxt.kind in _AFTER_HEAD)
        or (nxt is not None and nxt.low in GENERIC_NOUNS)
        or (after is not None and after.low == "to")
    )  # "lesion adjacent to"
    assert f.ent is not None
    frame = Frame(f.ent, head)
    frame.alternative = _alternative(us, i)
    frame.treated = (nxt is not None and nxt.low in PROCEDURE_NOUNS) or _procedure_of(us, i)
    frame.past = _past(us, i)
    frame.landmark = _landmark(us, i)
    frame.device = nxt is not None and (
        nxt.low in DEVICE_WORDS or (nxt.kind == "FINDING" and nxt.group == "device")
    )
    frame.legend = _legend(us, i)
    frame.treated = frame.treated or _treated_case(us, i)
    if not head:
        frame.modifies_finding = _phrase_head_is_finding(us, i)
        return frame
    chain_start = _pre_chain(us, i, frame)
    _secondary(us, i, chain_start, frame)
    read_after(us, i, frame)
    if f.ent.norm in MOVED_PART_FINDINGS:
        frame.locations.clear()  # before it or after it ("of bowel"), the place is what moved
    return frame


def _legend(us: list[Unit], i: int) -> bool:
    """ "PV – portal vein, A – ascites": the finding explains a label of the picture (a
    dash or equals sign set apart by spaces after a short token), so it is marked, not described."""
    if i < 2 or us[i - 1].low not in _LEGEND_MARKS:
        return False
    mark, label = us[i - 1], us[i - 2]
    return (
        len(label.low) <= 4
        and mark.start > label.end
        and (mark.low != "-" or us[i].start > mark.end)
    )


def _treated_case(us: list[Unit], i: int) -> bool:
    """ "in a treated case of renal cell carcinoma": the finding is the patient's treated
    diagnosis, not what the picture shows."""
    j = i - 1
    while (
        j >= 0
        and i - j <= 5
        and us[j].low != "of"
        and us[j].kind != "PUNCT"
        and us[j].low not in CLAUSE_VERBS
    ):
        j -= 1
    return (
        j >= 2
        and us[j].low == "of"
        and us[j - 1].low in ("case", "cases")
        and us[j - 2].low in _TREATED_CASE
    )


def _past(us: list[Unit], i: int) -> bool:
    """ "resolved aneurysm", "the mass has (largely) disappeared", "is no longer seen"."""
    j = i - 1
    while j >= 0 and (us[j].kind == "WORD" and (is_adjective_like(us[j]) or is_adverb(us[j]))):
        if us[j].low in PAST_WORDS:
            return True
        j -= 1
    j = i + 1
    while j < len(us) and (us[j].low in _GONE_LINKS or is_adverb(us[j])):
        j += 1
    if j + 1 < len(us) and us[j].low == "no" and us[j + 1].low == "longer":
        return True
    return j < len(us) and us[j].low in GONE_VERBS and j > i + 1


def _landmark(us: list[Unit], i: int) -> bool:
    """ "distal to the (pancreatic) mass", "near the lesion": the finding locates another (a
    determiner follows the relation; "a near total occlusion" is no landmark)."""
    j = i - 1
    while j >= 0 and (
        us[j].kind in ("ANATOMY", "LATERALITY", "SIZE")
        or is_adjective_like(us[j])
        or is_adverb(us[j])
    ):
        j -= 1
    if j < 1 or us[j].low not in DETERMINERS:
        return False
    j -= 1
    if us[j].low in _LANDMARK_PREPS:
        return True
    return j >= 1 and us[j].low == "to" and us[j - 1].low in _LANDMARK_WORDS


def _pre_chain(us: list[Unit], i: int, frame: Frame) -> int:
    """Collect the modifiers before the finding; return the index where its noun phrase starts."""
    j = i - 1
    while j >= 0:
        u = us[j]
        if u.kind in _PRE_LABELS or u.kind == "MEASURE" or is_adverb(u) or is_adjective_like(u):
            pass
        elif u.kind == "NUM":
            before = us[j - 1] if j > 0 else None
            if before is not None and before.kind == "WORD" and len(before.low) == 1:
                break  # "T10", "C5": a level, not a count
        elif u.low == "-" or (u.low in (",", "and") and j > 0 and _describes(us[j - 1])):
            pass
        else:
            break
        j -= 1
    start = j + 1
    for u in us[start:i]:
        _collect(u, frame)
    add_attributes(us, [k for k in range(start, i) if us[k].kind == "ATTRIBUTE"], frame)
    before = us[start - 1].low if start > 0 else ""
    coordinated_before = (
        before in ("and", "or", ",")
        and start > 1
        and (us[start - 2].kind in ("ANATOMY", "LATERALITY") or _place_noun(us, start - 2))
    )
    if any(u.low in ("and", "or") for u in us[start:i]) or coordinated_before:
        # "right parietal and bilateral frontal lobe lesions", "mediastinal and left hilar
        # adenopathy": the places and sides are shared out among coordinated heads
        frame.sides.clear()
        frame.locations.clear()
    frame.qualifiers = [
        u
        for u in us[start:i]
        if u.kind == "WORD"
        and is_adjective_like(u)
        and u.low.endswith(_STRUCTURE_ENDINGS)
        and u.low not in MODIFIER_WORDS
        and u.low not in _EVALUATIVE
    ]
    first = next((u for u in us[start:i] if u.low not in DETERMINERS), None)
    if first is not None and first.kind == "NUM":
        frame.count = first
    elif first is not None and first.kind == "ATTRIBUTE" and first.group == "count":
        frame.count = first
    return start


def _phrase_head(us: list[Unit], k: int) -> bool:
    """A plain word that ends its noun phrase, so heads it ("ramus" in "pubic ramus and
    acetabulum lesion", "scar" in "a focal cortical scar in the kidney")."""
    u = us[k]
    return (
        u.kind == "WORD"
        and u.low not in DETERMINERS
        and not ends_noun_phrase(u)
        and not is_adverb(u)
        and ends_noun_phrase(us[k + 1] if k + 1 < len(us) else None)
    )


def _place_noun(us: list[Unit], k: int) -> bool:
    """A noun the lexicon lacks whose phrase holds a side or position word (and no anatomy): a
    body part ("right superior pubic ramus and acetabulum lesion"), not a finding
    ("bronchiectasis and bronchial wall thickening", "pulmonary congestion and bilateral
    infiltrates")."""
    if not _phrase_head(us, k):
        return False
    j = k - 1
    while j >= 0 and (us[j].kind == "LATERALITY" or is_adjective_like(us[j])):
        if us[j].kind == "LATERALITY":
            return True
        j -= 1
    return False


def _procedure_of(us: list[Unit], i: int) -> bool:
    """ "resection of the (large) tumor": the finding is the object of a procedure noun."""
    j = i - 1
    while j >= 0 and (
        us[j].low in DETERMINERS
        or is_adjective_like(us[j])
        or us[j].low in _ORDINALS
        or us[j].kind in _PRE_LABELS
    ):
        j -= 1
    return j >= 1 and us[j].low == "of" and us[j - 1].low in PROCEDURE_NOUNS


def _describes(u: Unit) -> bool:
    return u.kind in ("ATTRIBUTE", "SIZE") or is_adjective_like(u) or is_adverb(u)


def _collect(u: Unit, frame: Frame) -> None:
    if u.kind == "SIZE":
        frame.sizes.append(u)
    elif u.kind == "MEASURE":
        frame.measures.append(u)
    elif u.kind == "ANATOMY":
        if u.low not in TISSUE_SURFACES and (u.ent is None or u.ent.norm not in REGION_WORDS):
            frame.locations.append(u)
        if is_side(u):
            frame.sides.append(u)
    elif u.kind == "LATERALITY" and is_side(u):
        frame.sides.append(u)


def _phrase_head_is_finding(us: list[Unit], i: int) -> bool:
    j = i + 1
    while j < len(us) and (
        us[j].kind in ("ATTRIBUTE", "SIZE", "LATERALITY", "ANATOMY")
        or us[j].low == "-"
        or is_adjective_like(us[j])
        or is_adverb(us[j])
    ):
        j += 1
    return j < len(us) and us[j].kind == "FINDING"


def _alternative(us: list[Unit], i: int) -> bool:
    """ "cyst or abscess", "abscess versus tumor": either finding is only one possibility. (A
    slash is not read as one: "edema/inflammation" names both.)"""
    for step in (1, -1):
        j = i + step
        while 0 <= j < len(us) and (
            us[j].kind in ("ATTRIBUTE", "SIZE") or is_adjective_like(us[j])
        ):
            j += step
        if 0 <= j < len(us) and us[j].low in ("or", "versus", "vs"):
            j += step
            while 0 <= j < len(us) and (
                us[j].kind in ("ATTRIBUTE", "SIZE", "ANATOMY")
                or us[j].low in DETERMINERS
                or is_adjective_like(us[j])
            ):
                j += step
            if 0 <= j < len(us) and us[j].kind == "FINDING":
                return True
    return False


def _secondary(us: list[Unit], i: int, start: int, frame: Frame) -> None:
    if any(u.low in _SECONDARY_WORDS for u in us[start:i]):
        frame.of_unnamed = not any(u.kind == "FINDING" for u in us[:start]) and _subject_before(
            us, start
        )
        frame.secondary = frame.of_unnamed or any(u.kind == "FINDING" for u in us[:start])
        return
    j = start - 1
    while j >= 0 and us[j].low in DETERMINERS:
        j -= 1
    diagnosis = j > 0 and us[j - 1].low in _DIAGNOSIS_LEAD
    if j >= 0 and us[j].low in _SECONDARY_LEAD and not diagnosis:
        frame.secondary = any(u.kind == "FINDING" for u in us[:j]) or _object_before(us, j)
        frame.of_unnamed = not frame.secondary and _subject_before(us, j)
        frame.secondary = frame.secondary or frame.of_unnamed


def _object_before(us: list[Unit], j: int) -> bool:
    """True when a show verb and then an indefinite noun phrase the lexicon does not know come
    before the "with" at `j`: "shows a focal scar (arrow) ... with dilatation" describes the scar
    (a finding the lexicon lacks). "shows the liver with a cyst" is about the cyst."""
    verb = next((k for k in range(j) if us[k].low in _SHOW_VERBS), None)
    if verb is None:
        return False
    article = next((k for k in range(verb + 1, j) if us[k].low in ("a", "an")), None)
    return article is not None and any(
        _phrase_head(us, k) and us[k].low not in GENERIC_NOUNS for k in range(article + 1, j)
    )


def _subject_before(us: list[Unit], j: int) -> bool:
    """True when the sentence opens, with no verb before `j`, on a noun phrase the lexicon lacks
    ("Skull cap in left anterior abdominal wall with underlying liquified hematoma"): the "with"
    phrase describes that thing, which is the caption's subject. Pictures and patients ("CT image
    with ...", "patient with ...") are not subjects."""
    if any(u.low in CLAUSE_VERBS or u.low in _SHOW_VERBS for u in us[:j]):
        return False
    return any(
        _phrase_head(us, k) and us[k].low not in GENERIC_NOUNS and us[k].low not in _NOT_SUBJECTS
        for k in range(j)
    )
