"""Which modifiers belong to which finding: a *frame* per finding mention of a caption.

A size, side, count, location or attribute is attached to a finding only when it modifies that
finding in the text, read with pattern rules over the sentence's units (`caption_units`):

- before the finding, its noun phrase back to a determiner or a function word ("a large
  lobulated left renal mass": large, lobulated, left, kidney);
- after it, a location ("in/of/within/involving the left kidney", "in the upper pole of the
  left kidney"), a measurement ("measuring 3 x 2 cm", "(13 mm)"), a side ("on the right") and a
  predicate ("is T1 hyperintense, T2 hypointense", "with peripheral enhancement").

So in "large retroperitoneal mass with central calcifications" the calcifications are neither
large nor retroperitoneal, and are a secondary feature of the mass. A signal attribute keeps the
MR sequence written next to it ("T1 hyperintense", "hyperintense on T2").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radvqa_data.synth.caption_units import (
    DETERMINERS,
    Unit,
    ends_noun_phrase,
    is_adjective_like,
    is_adverb,
)
from radvqa_data.synth.types import Entity

#: Finding surfaces that are adjectives: they describe the noun after them ("calcified cyst").
ADJECTIVE_FINDINGS = frozenset(
    "calcified hemorrhagic ischemic infarcted aneurysmal thrombosed stenotic occluded obstructed "
    "fractured dislocated subluxed edematous swollen consolidative atelectatic collapsed cavitary "
    "cavitating emphysematous bullous dilated distended herniated atrophic inflamed hypoplastic "
    "hypertrophied demyelinating necrotic thickened".split()
)
SIDES = ("left", "right", "bilateral")
#: Anatomy that is a tissue, not a place: never a location answer ("soft tissue mass").
TISSUE_SURFACES = frozenset(
    "soft tissue|soft tissues|subcutaneous|subcutaneous fat|bone|bones|cortical bone|marrow|"
    "bone marrow|medullary cavity|artery|arteries|vein|veins|vessel|vessels|muscle|muscles|"
    "tendon|ligament|node|nodes|lymph node|lymph nodes|skin".split("|")
)
#: Body-region words: a location only after a preposition ("mass in the neck"), not in a
#: compound ("chest catheter", femoral "neck narrowing").
REGION_WORDS = frozenset({"chest", "abdomen", "pelvis", "neck"})
#: Nouns naming a part of an organ: "in the upper pole of the left kidney" locates in the kidney.
PART_NOUNS = frozenset(
    "lobe lobes pole aspect portion region part wall margin surface segment tip base apex body "
    "tail neck root side level floor roof junction space area compartment territory hemisphere "
    "hemispheres".split()
)
_PRE_LABELS = frozenset({"SIZE", "ATTRIBUTE", "LATERALITY", "ANATOMY", "SEQUENCE", "FINDING"})
_LOCATION_PREPS = frozenset("in within of at involving involves inside throughout along".split())
_LEAD_INS = frozenset("is are was were seen noted present located identified arising originating "
                      "centered situated".split())
_PREDICATE_VERBS = frozenset("is are was were appears appear appearing demonstrates demonstrating "
                             "shows showing exhibits exhibiting with has having".split())
_PREDICATE_WORDS = frozenset("images image weighted sequence sequences signal intensity".split())
_MEASURE_LEAD = frozenset("measuring measures measured measure that which approximately about "
                          "roughly nearly".split())
_SECONDARY_LEAD = frozenset("with containing causing producing".split())
_SECONDARY_WORDS = frozenset("associated surrounding adjacent accompanying".split())
#: Generic nouns a finding may precede and still name the abnormality ("fracture line").
GENERIC_NOUNS = frozenset("line lines formation component components site focus foci area areas "
                          "pattern appearance process fragment fragments deformity".split())
#: Entities that may follow a finding that heads its phrase ("mass T2 hyperintense", "bleed CT").
_AFTER_HEAD = frozenset({"SEQUENCE", "ATTRIBUTE", "MODALITY", "PLANE", "CONTRAST"})


@dataclass
class Frame:
    """What the caption says about one finding mention."""

    finding: Entity
    head: bool  # heads its noun phrase (not "calcified" in "calcified cyst", not "fracture line")
    modifies_finding: bool = False  # describes another finding ("calcified" cyst, "mass" lesion)
    secondary: bool = False  # a feature of an earlier finding ("with central calcifications")
    alternative: bool = False  # one of two possibilities ("cyst or abscess")
    sides: list[Unit] = field(default_factory=list)
    locations: list[Unit] = field(default_factory=list)
    sizes: list[Unit] = field(default_factory=list)
    measures: list[Unit] = field(default_factory=list)
    attributes: list[tuple[Unit, Unit | None]] = field(default_factory=list)  # (attribute, sequence)
    count: Unit | None = None

    def side(self) -> Unit | None:
        """The one side stated for this finding, or None when none or two differ."""
        norms = {side_of(u) for u in self.sides}
        return self.sides[0] if len(norms) == 1 else None

    def location(self) -> Unit | None:
        """The one anatomical place stated for this finding, or None when none or two differ."""
        norms = {u.ent.norm for u in self.locations if u.ent is not None}
        return self.locations[0] if len(norms) == 1 else None


def side_of(u: Unit) -> str:
    """left, right or bilateral: the side a side unit states."""
    if u.kind == "LATERALITY" and u.ent is not None:
        return u.ent.norm
    return u.low.split()[0]


def _is_side(u: Unit) -> bool:
    """A left/right/bilateral word, or an anatomy phrase that starts with its side ("left upper
    lobe"; not "LUL": an abbreviation does not ground the answer "left")."""
    if u.kind == "LATERALITY":
        return u.ent is not None and u.ent.norm in SIDES
    return u.kind == "ANATOMY" and u.low.split()[0] in ("left", "right")


def frames(us: list[Unit]) -> list[Frame]:
    """A frame for every FINDING unit of one sentence's units `us`."""
    out = []
    for i, u in enumerate(us):
        if u.kind == "FINDING" and u.ent is not None:
            out.append(_frame(us, i))
    return out


def _frame(us: list[Unit], i: int) -> Frame:
    f = us[i]
    nxt = us[i + 1] if i + 1 < len(us) else None
    adjectival = f.low in ADJECTIVE_FINDINGS
    after = us[i + 2] if i + 2 < len(us) else None
    head = not adjectival and (ends_noun_phrase(nxt) or (nxt is not None and nxt.kind in _AFTER_HEAD)
                               or (nxt is not None and nxt.low in GENERIC_NOUNS)
                               or (after is not None and after.low == "to"))  # "lesion adjacent to"
    assert f.ent is not None
    frame = Frame(f.ent, head)
    frame.alternative = _alternative(us, i)
    if not head:
        frame.modifies_finding = _phrase_head_is_finding(us, i)
        return frame
    chain_start = _pre_chain(us, i, frame)
    _secondary(us, i, chain_start, frame)
    _post(us, i, frame)
    return frame


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
    _add_attributes(us, [k for k in range(start, i) if us[k].kind == "ATTRIBUTE"], frame)
    before = us[start - 1].low if start > 0 else ""
    if any(u.low in ("and", "or") for u in us[start:i]) or (before in ("and", "or", ",") and start > 1
                                                             and us[start - 2].kind in ("ANATOMY", "LATERALITY")):
        # "right parietal and bilateral frontal lobe lesions", "mediastinal and left hilar
        # adenopathy": the places and sides are shared out among coordinated heads
        frame.sides.clear()
        frame.locations.clear()
    first = next((u for u in us[start:i] if u.low not in DETERMINERS), None)
    if first is not None and first.kind == "NUM":
        frame.count = first
    elif first is not None and first.kind == "ATTRIBUTE" and first.group == "count":
        frame.count = first
    return start


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
        if _is_side(u):
            frame.sides.append(u)
    elif u.kind == "LATERALITY" and _is_side(u):
        frame.sides.append(u)


def _sequence_before(us: list[Unit], k: int) -> Unit | None:
    """The MR sequence written right before attribute `k` ("T1 hyperintense", "T2-hyperintense")."""
    j = k - 1
    while j >= 0 and us[j].low in ("-", "weighted"):
        j -= 1
    return us[j] if j >= 0 and us[j].kind == "SEQUENCE" else None


def _sequence_after(us: list[Unit], k: int) -> Unit | None:
    """The MR sequence after attribute `k` ("hyperintense on T2", "on the T2-weighted images")."""
    j = k + 1
    if j < len(us) and us[j].low == "on":
        j += 1
        while j < len(us) and us[j].low in DETERMINERS:
            j += 1
        if j < len(us) and us[j].kind == "SEQUENCE":
            return us[j]
    return None


def _add_attributes(us: list[Unit], idx: list[int], frame: Frame) -> None:
    for k in idx:
        frame.attributes.append((us[k], _sequence_before(us, k) or _sequence_after(us, k)))


def _phrase_head_is_finding(us: list[Unit], i: int) -> bool:
    j = i + 1
    while j < len(us) and (us[j].kind in ("ATTRIBUTE", "SIZE", "LATERALITY", "ANATOMY") or us[j].low == "-"
                           or is_adjective_like(us[j]) or is_adverb(us[j])):
        j += 1
    return j < len(us) and us[j].kind == "FINDING"


def _alternative(us: list[Unit], i: int) -> bool:
    """"cyst or abscess", "abscess versus tumor": either finding is only one possibility. (A
    slash is not read as one: "edema/inflammation" names both.)"""
    for step in (1, -1):
        j = i + step
        while 0 <= j < len(us) and (us[j].kind in ("ATTRIBUTE", "SIZE") or is_adjective_like(us[j])):
            j += step
        if 0 <= j < len(us) and us[j].low in ("or", "versus", "vs"):
            j += step
            while 0 <= j < len(us) and (us[j].kind in ("ATTRIBUTE", "SIZE", "ANATOMY") or us[j].low in DETERMINERS
                                        or is_adjective_like(us[j])):
                j += step
            if 0 <= j < len(us) and us[j].kind == "FINDING":
                return True
    return False


def _secondary(us: list[Unit], i: int, start: int, frame: Frame) -> None:
    if any(u.low in _SECONDARY_WORDS for u in us[start:i]):
        frame.secondary = any(u.kind == "FINDING" for u in us[:start])
        return
    j = start - 1
    while j >= 0 and us[j].low in DETERMINERS:
        j -= 1
    if j >= 0 and us[j].low in _SECONDARY_LEAD:
        frame.secondary = any(u.kind == "FINDING" for u in us[:j])


def _post(us: list[Unit], i: int, frame: Frame) -> None:
    """Location, measurement, side and predicate after the finding."""
    j = i + 1
    n = len(us)
    if j + 2 < n and us[j].low == "(" and us[j + 1].kind == "MEASURE" and us[j + 2].low == ")":
        frame.measures.append(us[j + 1])
        j += 3
    if j < n and us[j].low == ",":
        j += 1
        if j < n and us[j].kind == "MEASURE":  # "the tumor, 10 mm in diameter"
            frame.measures.append(us[j])
            return
    if _measure_after(us, j, frame) or _side_phrase(us, j, frame):
        return
    end = _location(us, j, frame)
    if end is not None:  # "mass arising from the left adrenal gland measuring 9 x 8 cm"
        _measure_after(us, end, frame)
        return
    _predicate(us, j, frame)


def _measure_after(us: list[Unit], j: int, frame: Frame) -> bool:
    """"(,) measuring (approximately) 3 x 2 cm", "of 3 cm"; not a range ("up to 3 cm")."""
    n = len(us)
    if j < n and us[j].low == ",":
        j += 1
    k = j
    while k < n and us[k].low in _MEASURE_LEAD:
        k += 1
    if k > j and k < n and us[k].kind == "MEASURE" and us[k - 1].low != "to":
        frame.measures.append(us[k])
        return True
    if j + 1 < n and us[j].low == "of" and us[j + 1].kind == "MEASURE":
        frame.measures.append(us[j + 1])
        return True
    return False


def _side_phrase(us: list[Unit], j: int, frame: Frame) -> bool:
    """"(located) on the right (side)"."""
    if j < len(us) and us[j].low == "located":
        j += 1
    if j + 2 < len(us) and us[j].low == "on" and us[j + 1].low == "the" and _is_side(us[j + 2]) \
            and us[j + 2].kind == "LATERALITY":
        frame.sides.append(us[j + 2])
        return True
    return False


def _location(us: list[Unit], j: int, frame: Frame) -> int | None:
    """"(is seen) in/of/within the (left) <anatomy>", "in the <part> of the <anatomy>": record the
    place and its sides; return the index after the phrase (None when there is no place)."""
    n = len(us)
    lead = 0
    while j < n and us[j].low in _LEAD_INS and lead < 3:
        j += 1
        lead += 1
    if j < n and us[j].low == "from" and lead:
        pass  # "arising from"
    elif j >= n or us[j].low not in _LOCATION_PREPS:
        return None
    j += 1
    found = anatomy_phrase(us, j)
    if found is None:
        sides = _region_phrase_sides(us, j)
        frame.sides.extend(sides)
        return None
    anatomy, sides, k = found
    if anatomy.low in TISSUE_SURFACES or _coordinated(us, k):
        return None
    frame.locations.append(anatomy)
    frame.sides.extend(sides)
    if _is_side(anatomy):
        frame.sides.append(anatomy)
    return k + 1


def _coordinated(us: list[Unit], k: int) -> bool:
    """True when anatomy `k` is one of a list ("at the ICA, middle cerebral artery and ...")."""
    j = k + 1
    if j + 2 < len(us) and us[j].low == "(" and us[j + 2].low == ")":
        j += 3  # an abbreviation in parentheses
    if j < len(us) and us[j].low in (",", "and", "or"):
        j += 1
        while j < len(us) and (us[j].low in DETERMINERS or us[j].kind == "LATERALITY" or is_adjective_like(us[j])):
            j += 1
        return j < len(us) and us[j].kind == "ANATOMY"
    return False


def _region_phrase_sides(us: list[Unit], j: int) -> list[Unit]:
    """The sides of "in (the) right paraspinal region": a place named by a region noun."""
    n = len(us)
    sides: list[Unit] = []
    while j < n and us[j].low in DETERMINERS:
        j += 1
    while j < n and (us[j].kind in ("LATERALITY", "ANATOMY") or is_adjective_like(us[j])):
        if _is_side(us[j]):
            sides.append(us[j])
        j += 1
    return sides if j < n and us[j].low in PART_NOUNS and ends_noun_phrase(us[j + 1] if j + 1 < n else None) else []


def anatomy_phrase(us: list[Unit], j: int) -> tuple[Unit, list[Unit], int] | None:
    """The anatomy a noun phrase starting at `j` names, the sides written in it, and the
    anatomy's index."""
    n = len(us)
    sides: list[Unit] = []
    while j < n and us[j].low in DETERMINERS:
        j += 1
    while j < n and (us[j].kind in ("LATERALITY", "SIZE") or is_adjective_like(us[j]) or is_adverb(us[j])
                     or us[j].low == "-"):
        if _is_side(us[j]):
            sides.append(us[j])
        j += 1
    if j < n and us[j].kind == "ANATOMY" and ends_noun_phrase(us[j + 1] if j + 1 < n else None):
        return us[j], sides, j
    if j + 1 < n and us[j].low in PART_NOUNS and us[j + 1].low == "of":
        inner = anatomy_phrase(us, j + 2)
        if inner is not None:
            return inner[0], sides + inner[1], inner[2]
    return None


def _predicate(us: list[Unit], j: int, frame: Frame) -> None:
    """"is T1 hyperintense, T2 hypointense", "appears enlarged", "with peripheral enhancement".

    The run of descriptive words after the verb attaches to the finding only where it ends the
    clause (a full stop, a preposition, a determiner, a verb): in "with mildly enhancing
    circumferential, nodular thickened pleura" the run ends in a noun, so it describes the pleura.
    """
    n = len(us)
    if j >= n or us[j].low not in _PREDICATE_VERBS:
        return
    with_only = us[j].low in ("with", "has", "having")
    j += 1
    pending: list[int] = []
    while j < n:
        u = us[j]
        if u.kind in ("ATTRIBUTE", "SIZE"):
            if not (with_only and u.kind == "SIZE"):
                pending.append(j)
        elif u.low == "on" and _sequence_after(us, j - 1) is not None:
            pass  # "hyperintense on (the) T2 ..."
        elif (u.kind == "SEQUENCE" or u.low in _PREDICATE_WORDS or u.low in (",", "-", "and")
              or is_adverb(u) or is_adjective_like(u) or u.group == "position"):
            pass
        elif u.kind in ("ANATOMY", "FINDING") or (u.kind == "WORD" and not ends_noun_phrase(u)
                                                  and u.low not in DETERMINERS):
            return  # the run describes this noun, not the finding
        else:
            break
        j += 1
    _flush(us, pending, frame)


def _flush(us: list[Unit], pending: list[int], frame: Frame) -> None:
    for k in pending:
        if us[k].kind == "SIZE":
            frame.sizes.append(us[k])
    _add_attributes(us, [k for k in pending if us[k].kind == "ATTRIBUTE"], frame)

