"""Question phrasings of the rules backend: several per (type, form), so no template dominates.

Keys are template ids (`<type>.<form>`); the phrasing index is appended to the id of each row
(`modality.yesno#2`). Placeholders: {m} modality, {p} plane, {r} region, {f} finding, {a}
attribute, {s} side, {x}/{y} the two options of a choice, {seq} MR sequence, {loc} anatomy.
Bump `RULES_VERSION` when a phrasing or a rule changes: it is part of every row's provenance and
id, and of the run's settings (a rerun over an older output directory is refused, naming it).
Never edit an existing phrasing tuple without need: a row's phrasing is drawn from its tuple, so
an edit rewords every labelled gold row of that key. v2: evidence for every "no", meaning-preserving
lexicon, modifier attachment, sequence-named signal questions (docs/synth.md "Correctness"). v3:
gone and treated findings, diagnoses from the history, landmarks, truncated or unnamed main
findings, coordinated places, qualified negations, lexicon splits (fibula, tendon, lateral mass).
v4: a main finding only where the caption names one, changes of a structure never without it,
device names, legend entries, treated cases, negated adjectives scoped to their noun.
v5 (issue 20): exclusion cues and other-image sentences, scoped negations (qualifier carried into
the question), a "no" per denied finding, shared captions once, no either/or contrast
phrasing, FLAIR/T2* sequence alternatives that are really other.
v6 (issue 20): PRES "no" from statements of normality ("The left kidney is normal" -> "Is there a
mass in the left kidney? no"), template `pres.normal`; `--normal-statements off` leaves them out.
v7 (issue 20): "Is {f} present?" and "Is there evidence of {f}?" take the finding's article ("Is
a gallstone present?"; a mass noun keeps none); the case-findings source (`case_findings.py`,
`--case-findings on`, off by default).
"""

from __future__ import annotations

RULES_VERSION = "v7"

TEMPLATES: dict[str, tuple[str, ...]] = {
    # MODALITY
    "modality.yesno": (
        "Is this {m_article} {m} image?",
        "Was this image taken with {m}?",
        "Is this {m_article} {m} scan?",
        "Was {m} used to acquire this image?",
    ),
    "modality.choice": (
        "Is this {x_article} {x} or {y_article} {y}?",
        "Was this image acquired with {x} or {y}?",
        "Is this image {x} or {y}?",
    ),
    "modality.open": (
        "What imaging modality was used?",
        "What type of imaging is this?",
        "How was this image acquired?",
        "Which modality is shown?",
    ),
    "modality.sequence_yesno": (
        "Is this a {seq} image?",
        "Is this MRI {seq}?",
        "Was this image acquired as a {seq} sequence?",
    ),
    "modality.sequence_open": (
        "Which MRI sequence is this?",
        "What MR sequence was used for this image?",
        "What kind of MRI sequence is shown?",
    ),
    "modality.contrast_yesno": (
        "Was contrast given?",
        "Is this a contrast-enhanced image?",
        # v5: was "Was intravenous or oral contrast used ...?", an either/or question answered
        # yes/no (and oral contrast asked of MRI); same slot, so other phrasings keep their index
        "Was a contrast agent used for this image?",
        "Is contrast present in this study?",
    ),
    # PLANE
    "plane.yesno": (
        "Is this {p_article} {p} image?",
        "Was this image taken in the {p} plane?",
        "Is this {p_article} {p} view?",
        "Is the image shown in the {p} plane?",
    ),
    "plane.choice": (
        "Is this {x_article} {x} or {y_article} {y} image?",
        "Was this image taken in the {x} or the {y} plane?",
    ),
    "plane.open": (
        "In which plane was this image taken?",
        "What is the imaging plane?",
        "Which plane is shown?",
        "What plane is this image in?",
    ),
    # ORGAN
    "organ.yesno": (
        "Is this an image of the {r}?",
        "Does this image show the {r}?",
        "Is the {r} shown here?",
    ),
    "organ.choice": (
        "Does this image show the {x} or the {y}?",
        "Is this an image of the {x} or the {y}?",
    ),
    "organ.open": (
        "Which part of the body is shown?",
        "What body region is imaged?",
        "What anatomical region does this image show?",
        "What part of the body is this?",
    ),
    # PRES
    "pres.yesno": (
        "Is there {f_article} {f}?",
        "Is {f_article} {f} seen?",
        "Is there evidence of {f_article} {f}?",
        "Does the image show {f_article} {f}?",
        "Is {f_article} {f} present?",
    ),
    # PRES "no" from a statement of normality ("The left kidney is normal"): the same phrasings,
    # their own key so the source is told apart in `template_id`
    "pres.normal": (
        "Is there {f_article} {f}?",
        "Is {f_article} {f} seen?",
        "Is there evidence of {f_article} {f}?",
        "Does the image show {f_article} {f}?",
        "Is {f_article} {f} present?",
    ),
    # ABN
    "abn.open": (
        "What abnormality is seen?",
        "What is the main finding?",
        "What is abnormal in this image?",
        "What abnormality does this image show?",
    ),
    # POS
    "pos.side_open": (
        "On which side is the {f}?",
        "Which side is the {f} on?",
        "Which side is the {f} located on?",
    ),
    "pos.side_yesno": (
        "Is the {f} on the {s} side?",
        "Is the {f} located on the {s}?",
    ),
    "pos.organ_open": (
        "Where is the {f} located?",
        "In which structure is the {f}?",
        "Where is the {f}?",
    ),
    # SIZE
    "size.yesno": (
        "Is the {loc} enlarged?",
        "Does the {loc} appear enlarged?",
        "Is the {loc} increased in size?",
    ),
    "size.choice": (
        "Is the {f} large or small?",
        "Is the {f} small or large?",
    ),
    "size.measure_open": (
        "How large is the {f}?",
        "What is the size of the {f}?",
        "How big is the {f}?",
    ),
    # ATTRIB
    "attrib.yesno": (
        "Is the {f} {a}?",
        "Does the {f} appear {a}?",
    ),
    "attrib.choice": (
        "Is the {f} {x} or {y}?",
        "Does the {f} appear {x} or {y}?",
    ),
    "attrib.seq_yesno": (
        "Is the {f} {a} on {seq}?",
        "Does the {f} appear {a} on {seq}?",
    ),
    "attrib.seq_choice": (
        "Is the {f} {x} or {y} on {seq}?",
        "On {seq}, does the {f} appear {x} or {y}?",
    ),
    # COUNT
    "count.open": (
        "How many {f} are there?",
        "How many {f} are seen?",
        "What is the number of {f}?",
    ),
    "count.yesno": (
        "Is there more than one {f1}?",
        "Are there multiple {f}?",
    ),
}


_SPOKEN_AS_WORDS = frozenset({"FLAIR", "STIR", "FIESTA", "ADC"})


def article(word: str) -> str:
    """'a' or 'an' before `word` as spoken ("an MRI", "an X-ray", "a CT", "an axial")."""
    w = word.strip()
    if not w:
        return "a"
    head = w.split("-")[0].split()[0]
    if head.isupper() and head not in _SPOKEN_AS_WORDS:  # initialism: letter names
        return "an" if head[0] in "AEFHILMNORSX" else "a"
    low = w.lower()
    return "an" if low[0] in "aeiou" and not low.startswith(("uni", "use", "ure", "one")) else "a"
