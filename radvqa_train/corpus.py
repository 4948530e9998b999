"""Rebuild the tokenizer corpus (`radvqa_train/data/radiology_corpus.txt`) from training text only.

The tiny and scratch models train their byte-level BPE on this file. It used to hold every
VQA-RAD question, test split included (450 of the 451 test questions verbatim), so a tokenizer
could have merges shaped by test text. Now it holds only:

- MedPix 2.0 captions of the official *train* split (`splitted_dataset/descriptions_train.jsonl`);
- VQA-RAD questions + answers whose `phrase_type` is a train type (`freeform`, `para`).

Run ``python -m radvqa_train.corpus --data $RADVQA_SHARED_DATA`` to rewrite it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from radvqa_data.core.atomic import write_text
from radvqa_data.core.errors import InputError

CORPUS = Path(__file__).parent / "data" / "radiology_corpus.txt"
#: VQA-RAD `phrase_type` values of the test split (everything else is train)
VQA_RAD_TEST_TYPES = ("test_freeform", "test_para")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def vqa_rad_rows(vqa_rad: Path) -> list[dict]:
    """All QA records of the VQA-RAD OSF release."""
    path = vqa_rad / "VQA_RAD Dataset Public.json"
    if not path.is_file():
        raise InputError(f"{path}: VQA-RAD json not found")
    return json.loads(path.read_text("utf-8"))


def corpus_from(medpix: Path, vqa_rad: Path) -> list[str]:
    """Lines of the corpus: MedPix train captions, then VQA-RAD train question + answer."""
    desc = medpix / "splitted_dataset" / "descriptions_train.jsonl"
    if not desc.is_file():
        raise InputError(f"{desc}: MedPix 2.0 train descriptions not found")
    lines: list[str] = []
    seen: set[str] = set()
    for raw in desc.read_text("utf-8").splitlines():
        caption = _one_line((json.loads(raw).get("Description") or {}).get("Caption") or "")
        if caption and caption not in seen:
            seen.add(caption)
            lines.append(caption)
    for r in vqa_rad_rows(vqa_rad):
        if r["phrase_type"] in VQA_RAD_TEST_TYPES:
            continue
        line = _one_line(f"{r['question']} {r['answer']}")
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, required=True, help="shared data root (medpix2/, vqa-rad/)"
    )
    ap.add_argument("--out", type=Path, default=CORPUS)
    args = ap.parse_args()
    lines = corpus_from(args.data / "medpix2", args.data / "vqa-rad")
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {args.out}")


if __name__ == "__main__":
    main()
