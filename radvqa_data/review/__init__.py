"""Review: the QA rows with their pictures in FiftyOne, and a person's verdicts back.

    review_records.py  shards + catalog (+ label issues, audit findings) -> one record per image
    dataset.py   records -> a persistent FiftyOne dataset, updated in place on a rerun
    verdicts.py  tags and corrected answers -> decisions (`radvqa_data.core.decisions`)
    score.py     a fresh random slice; precision per type with Wilson intervals from its tags
    fo.py        the one import of FiftyOne (the `review` extra), with its settings
    run.py, cli.py  `radvqa-data review [build|pull|sample|score]`

Nothing outside this package imports FiftyOne (tests/test_boundaries.py).
"""
