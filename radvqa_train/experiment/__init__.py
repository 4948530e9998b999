"""The data-centric experiment: does our synthetic QA make a from-scratch VLM better on VQA-RAD?

`radvqa-train experiment RECIPE` trains the arms of a recipe (`recipes/*.yaml` here) for several
seeds on CPU, scores VQA-RAD test once per arm and seed, and writes results.json/.md, a plot
and a diagnostic report (see `radvqa_train.experiment.run`).
"""
