"""`Frame`: what a caption says about one finding mention. Filled by `finding_frames` (what
comes before the finding) and `finding_phrases` (what comes after it); its own module so that
the two readers depend on it and not on each other."""

from __future__ import annotations

from dataclasses import dataclass, field

from radvqa_data.core.pipeline_records import Entity
from radvqa_data.synth.rules.sentence_units import Unit


@dataclass
class Frame:
    """What the caption says about one finding mention."""

    finding: Entity
    head: bool  # heads its noun phrase (not "calcified" in "calcified cyst", not "fracture line")
    modifies_finding: bool = False  # describes another finding ("calcified" cyst, "mass" lesion)
    secondary: bool = False  # a feature of an earlier finding ("with central calcifications")
    alternative: bool = False  # one of two possibilities ("cyst or abscess")
    treated: bool = False  # the object of a procedure ("stone extraction"): maybe no longer there
    past: bool = False  # said to be gone ("resolved aneurysm", "the mass has disappeared")
    landmark: bool = False  # a reference point for another finding ("distal to the mass")
    device: bool = False  # part of a device's name ("occlusion device", "drainage catheter")
    legend: bool = False  # an entry of a figure legend ("A – ascites"): no main finding
    # a feature of the caption's subject, a thing the lexicon lacks ("Skull cap ... with
    # underlying hematoma"): that thing is the main finding, and it has no name here
    of_unnamed: bool = False
    # plain words of its own noun phrase the lexicon does not know ("septal" thickening)
    qualifiers: list[Unit] = field(default_factory=list)
    sides: list[Unit] = field(default_factory=list)
    locations: list[Unit] = field(default_factory=list)
    sizes: list[Unit] = field(default_factory=list)
    measures: list[Unit] = field(default_factory=list)
    # (attribute, the MR sequence written next to it)
    attributes: list[tuple[Unit, Unit | None]] = field(default_factory=list)
    count: Unit | None = None
