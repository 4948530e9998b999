"""`radvqa-data export DIR --format llava|sharegpt|messages|hf --out OUT`: training-ready folders.

A shard folder (synth output, or an `audit --fix` output) becomes the layout a training stack
reads as it is, with a dataset card (README.md) that carries provenance and contamination:

    inputs.py         rows + manifest + catalog join; why an image is unusable
    row_formats.py    one row as LLaVA / ShareGPT / chat-messages record, provenance fields
    jsonfiles.py      llava, sharegpt (+ LLaMA-Factory dataset_info.json)
    images.py         images copied / linked under OUT/images/
    parquet.py        hf, messages (Parquet with `datasets` features, images embedded)
    stats.py          counts, yes-rates, licences of the exported rows
    sources.py        source datasets' licences and citations
    contamination.py  audit.json / fix_summary.json -> the card's Contamination section
    card.py           README.md: Hub YAML header + body
    run.py            `export(...)`, the entry point

See docs/export.md.
"""

from __future__ import annotations

from radvqa_data.export.run import FORMATS, export

__all__ = ["FORMATS", "export"]
