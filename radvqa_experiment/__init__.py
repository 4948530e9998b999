"""The data-centric experiment: does our synthetic QA make a small VLM better on VQA-RAD?

A layer of its own above `radvqa_train` and `radvqa_diag` (nothing below imports it): it
orchestrates the data (`radvqa_data.reader`, the label model of `radvqa_data.labels` as a
pretrained vision encoder), training (its pre-encoded tensor loop, `trainer`), evaluation
(`radvqa_train.evaluate`'s generation, ablations and scorer) and the diag report.
`radvqa-experiment run RECIPE` trains the arms of a recipe (`recipes/*.yaml` here) for several
seeds on CPU, scores VQA-RAD test once per arm and seed, and writes results.json/.md, a plot
and a diagnostic report (see `radvqa_experiment.run`).
"""
