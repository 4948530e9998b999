"""Phrase readers over a sentence's units (`sentence_units`): sides, anatomical places, MR
sequences, and what follows a finding mention (`read_after`: a location, a measurement, a side,
a predicate), filling the finding's `frame.Frame`.

After a finding: a location ("in/of/within/involving the left kidney", "in the upper pole of
the left kidney"), a measurement ("measuring 3 x 2 cm", "(13 mm)"), a side ("on the right") or
a predicate ("is T1 hyperintense, T2 hypointense", "with peripheral enhancement"). A construction
the patterns do not know attaches nothing: no question rather than a wrong one.
"""

from __future__ import annotations

from radvqa_data.synth.rules.frame import Frame
from radvqa_data.synth.rules.sentence_units import (
    DETERMINERS,
    Unit,
    ends_noun_phrase,
    is_adjective_like,
    is_adverb,
)

SIDES = ("left", "right", "bilateral")
#: Anatomy that is a tissue, not a place: never a location answer ("soft tissue mass").
TISSUE_SURFACES = frozenset(
    "soft tissue|soft tissues|subcutaneous|subcutaneous fat|bone|bones|cortical bone|marrow|"
    "bone marrow|medullary cavity|artery|arteries|vein|veins|vessel|vessels|muscle|muscles|"
    "tendon|tendons|ligament|ligaments|node|nodes|lymph node|lymph nodes|skin".split("|")
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
_LOCATION_PREPS = frozenset("in within of at involving involves inside throughout along".split())
_LEAD_INS = frozenset(
    "is are was were seen noted present located identified arising originating "
    "centered situated".split()
)
_PREDICATE_VERBS = frozenset(
    "is are was were appears appear appearing demonstrates demonstrating "
    "shows showing exhibits exhibiting with has having".split()
)
_PREDICATE_WORDS = frozenset("images image weighted sequence sequences signal intensity".split())
_MEASURE_LEAD = frozenset(
    "measuring measures measured measure that which approximately about roughly nearly".split()
)


def side_of(u: Unit) -> str:
    """left, right or bilateral: the side a side unit states."""
    if u.kind == "LATERALITY" and u.ent is not None:
        return u.ent.norm
    return u.low.split()[0]


def is_side(u: Unit) -> bool:
    """A left/right/bilateral word, or an anatomy phrase that starts with its side ("left upper
    lobe"; not "LUL": an abbreviation does not ground the answer "left")."""
    if u.kind == "LATERALITY":
        return u.ent is not None and u.ent.norm in SIDES
    return u.kind == "ANATOMY" and u.low.split()[0] in ("left", "right")


def sequence_before(us: list[Unit], k: int) -> Unit | None:
    """The MR sequence written right before attribute `k` ("T1 hyperintense", "T2-hyperintense")."""
    j = k - 1
    while j >= 0 and us[j].low in ("-", "weighted"):
        j -= 1
    return us[j] if j >= 0 and us[j].kind == "SEQUENCE" else None


def sequence_after(us: list[Unit], k: int) -> Unit | None:
    """The MR sequence after attribute `k` ("hyperintense on T2", "on the T2-weighted images")."""
    j = k + 1
    if j < len(us) and us[j].low == "on":
        j += 1
        while j < len(us) and us[j].low in DETERMINERS:
            j += 1
        if j < len(us) and us[j].kind == "SEQUENCE":
            return us[j]
    return None


def add_attributes(us: list[Unit], idx: list[int], frame: Frame) -> None:
    """Attach the attributes at `idx` to the frame, each with the MR sequence written next to it."""
    for k in idx:
        frame.attributes.append((us[k], sequence_before(us, k) or sequence_after(us, k)))


def read_after(us: list[Unit], i: int, frame: Frame) -> None:
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
    """ "(,) measuring (approximately) 3 x 2 cm", "of 3 cm"; not a range ("up to 3 cm")."""
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
    """ "(located) on the right (side)"."""
    if j < len(us) and us[j].low == "located":
        j += 1
    if (
        j + 2 < len(us)
        and us[j].low == "on"
        and us[j + 1].low == "the"
        and is_side(us[j + 2])
        and us[j + 2].kind == "LATERALITY"
    ):
        frame.sides.append(us[j + 2])
        return True
    return False


def _location(us: list[Unit], j: int, frame: Frame) -> int | None:
    """ "(is seen) in/of/within the (left) <anatomy>", "in the <part> of the <anatomy>": record the
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
    if is_side(anatomy):
        frame.sides.append(anatomy)
    return k + 1


def _coordinated(us: list[Unit], k: int) -> bool:
    """True when anatomy `k` is one of a list ("at the ICA, middle cerebral artery and ...")."""
    j = k + 1
    if j + 2 < len(us) and us[j].low == "(" and us[j + 2].low == ")":
        j += 3  # an abbreviation in parentheses
    if j < len(us) and us[j].low in (",", "and", "or"):
        conj = us[j].low
        j += 1
        k = j
        while j < len(us) and (
            us[j].low in DETERMINERS or us[j].kind == "LATERALITY" or is_adjective_like(us[j])
        ):
            j += 1
        if j < len(us) and us[j].kind == "ANATOMY":
            return True
        # a structure the lexicon lacks: "renal pelvis and ureter." (a bare noun ending the
        # list; not "lower zone, obliterating the left costophrenic angle", a participle's
        # object, nor "femur and a histological diagnosis of", a new noun phrase)
        u = us[j] if j < len(us) else None
        return (
            conj != ","
            and u is not None
            and u.kind == "WORD"
            and u.low not in DETERMINERS
            and not ends_noun_phrase(u)
            and not is_adverb(u)
            and not any(
                ends_noun_phrase(x) or x.low in DETERMINERS for x in us[k:j] if x.kind == "WORD"
            )
            and (j + 1 == len(us) or us[j + 1].kind == "PUNCT" or us[j + 1].low in ("and", "or"))
        )
    return False


def _region_phrase_sides(us: list[Unit], j: int) -> list[Unit]:
    """The sides of "in (the) right paraspinal region": a place named by a region noun."""
    n = len(us)
    sides: list[Unit] = []
    while j < n and us[j].low in DETERMINERS:
        j += 1
    while j < n and (us[j].kind in ("LATERALITY", "ANATOMY") or is_adjective_like(us[j])):
        if is_side(us[j]):
            sides.append(us[j])
        j += 1
    named = j < n and us[j].low in PART_NOUNS and ends_noun_phrase(us[j + 1] if j + 1 < n else None)
    return sides if named else []


def anatomy_phrase(us: list[Unit], j: int) -> tuple[Unit, list[Unit], int] | None:
    """The anatomy a noun phrase starting at `j` names, the sides written in it, and the
    anatomy's index."""
    n = len(us)
    sides: list[Unit] = []
    while j < n and us[j].low in DETERMINERS:
        j += 1
    while j < n and (
        us[j].kind in ("LATERALITY", "SIZE")
        or is_adjective_like(us[j])
        or is_adverb(us[j])
        or us[j].low == "-"
    ):
        if is_side(us[j]):
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
    """ "is T1 hyperintense, T2 hypointense", "appears enlarged", "with peripheral enhancement".

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
        elif u.low == "on" and sequence_after(us, j - 1) is not None:
            pass  # "hyperintense on (the) T2 ..."
        elif (
            u.kind == "SEQUENCE"
            or u.low in _PREDICATE_WORDS
            or u.low in (",", "-", "and")
            or is_adverb(u)
            or is_adjective_like(u)
            or u.group == "position"
        ):
            pass
        elif u.kind in ("ANATOMY", "FINDING") or (
            u.kind == "WORD" and not ends_noun_phrase(u) and u.low not in DETERMINERS
        ):
            return  # the run describes this noun, not the finding
        else:
            break
        j += 1
    _flush(us, pending, frame)


def _flush(us: list[Unit], pending: list[int], frame: Frame) -> None:
    for k in pending:
        if us[k].kind == "SIZE":
            frame.sizes.append(us[k])
    add_attributes(us, [k for k in pending if us[k].kind == "ATTRIBUTE"], frame)
