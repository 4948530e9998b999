"""The rules backend: typed QA pairs from metadata and caption entities, no model needed.

Layered, each module importing only those above it:

    templates.py           question phrasings and RULES_VERSION
    sentence_units.py      a caption sentence as a stream of units (words, entities, punctuation)
    frame.py               `Frame`: what the caption says about one finding
    finding_phrases.py     what attaches after a finding: place, side, measurement, predicate
    finding_frames.py      the frames of a caption: what attaches before each finding
    candidates.py          seeded phrasing randomness and the Candidate builders (make, reject)
    evidence.py            negation spans, finding groups, image regions
    scope.py               exclusion cues and sentences about another image (issue 20)
    negation.py            PRES "no" questions from negated findings
    normality.py           PRES "no" questions about a structure stated normal (v6)
    modifiers.py           POS, SIZE, ATTRIB, COUNT questions from a finding's frame
    case_findings.py       rows from the case findings about a finding the caption names (v7)
    caption_check.py       is a caption usable at all (empty, figure-only, non-English, ...)
    caption_questions.py   PRES/ABN questions and the caption walk that calls the two above
    metadata_questions.py  MODALITY, PLANE, ORGAN questions from the image's metadata
    generator.py           `RulesGenerator`, the backend the registry names "rules"
"""
