"""Label errors in the sources' own metadata, found with their pictures (issue 21).

A small multi-task CNN (`model`) learns modality, plane and body region from the catalog's
pictures (`tasks`, `pixels`), cross-fitted so that every picture gets a probability from a model
that never saw it (`train`, `crossfit`); cleanlab turns those probabilities into suspected label
errors, and the captions' own words (`text_evidence`) add or confirm them (`issues`, `findings`).
`run` is `radvqa-data label-issues`; it writes the catalog tables `label_predictions` and
`label_issues` (`store`; declared in `core.db`) and an HTML report (`report`). Synthesis drops or
corrects the flagged facts; diag labels VQA-RAD's pictures with the predictions. See
docs/label-issues.md.
"""
