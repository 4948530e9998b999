"""A MedPix 2.0 QA table in a peer layout with planted boilerplate answers (generation
artefacts): the fixture of the boilerplate test and of `bench/audit.py --boilerplate-stats`.
Nothing here runs during an audit."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

#: generation artefacts planted in the peer table: answer -> (question it replaces, cases)
PLANTED = {
    "The possible diagnosis includes Differential Diagnosis..": (
        "What is the possible diagnosis?",
        24,
    ),
    "The findings are consistent with the diagnosis mentioned above.": (
        "What are the findings?",
        9,
    ),
}


def peer_table(
    medpix: Path, planted_answers: dict[str, tuple[str, int]] | None = None
) -> tuple[pl.DataFrame, dict[str, set[str]]]:
    """A MedPix-derived QA table in the peer layout (per image the templated answers a
    short-answer QA set makes from the case fields), with `planted_answers` (default `PLANTED`;
    `{}`: the real table alone) planted; also returns the row ids each artefact replaced (the
    rows --fix must drop)."""
    planted_answers = PLANTED if planted_answers is None else planted_answers
    cases = {c["U_id"]: c for c in json.loads((medpix / "Case_topic.json").read_text())}
    split_of = {}
    for name, split in (("train", "train"), ("dev", "validation"), ("test", "test")):
        for line in (
            (medpix / "splitted_dataset" / f"descriptions_{name}.jsonl").read_text().splitlines()
        ):
            if line.strip():
                split_of[json.loads(line)["image"]] = split
    rows = []
    for d in json.loads((medpix / "Descriptions.json").read_text()):
        case = cases.get(d["U_id"])
        if case is None or d["image"] not in split_of:
            continue
        desc, c = d["Description"], case["Case"]
        first_ddx = (c.get("Differential Diagnosis") or "").strip().split("\n")[0].strip()
        qa = [
            ("What imaging modality was used?", f"The modality is {desc.get('Modality')}."),
            ("In which plane is the image taken?", desc.get("Plane")),
            ("Which organ system is shown?", d.get("Location Category")),
            ("What does the image show?", desc.get("Caption")),
            ("What is the diagnosis?", c.get("Case Diagnosis")),
            (
                "What is the possible diagnosis?",
                f"The possible diagnosis includes {first_ddx}." if first_ddx else None,
            ),
            ("What are the findings?", c.get("Findings")),
            ("What is the patient's history?", c.get("History")),
        ]
        for k, (q, a) in enumerate(qa):
            if a and str(a).strip() and str(a).strip().upper() != "N/A":
                rows.append(
                    {
                        "image_id": d["image"],
                        "case_id": d["U_id"],
                        "question": q,
                        "answer": str(a).strip(),
                        "split": split_of[d["image"]],
                        "qid": f"{d['image']}-{k}",
                    }
                )
    df = pl.DataFrame(rows)
    # plant each artefact on every image of its first cases, spread over the three splits
    planted: dict[str, set[str]] = {}
    ids = sorted(set(df["case_id"].to_list()))
    offset = 0
    for answer, (question, n) in planted_answers.items():
        chosen = []
        for split in ("train", "validation", "test"):
            in_split = sorted(
                set(df.filter(pl.col("split") == split)["case_id"].to_list()) & set(ids[offset:])
            )
            chosen += in_split[: n // 3 + (1 if split == "train" else 0) * (n % 3)]
        offset += 200
        mask = pl.col("case_id").is_in(chosen) & (pl.col("question") == question)
        planted[answer] = set(df.filter(mask)["qid"].to_list())
        df = df.with_columns(
            pl.when(mask).then(pl.lit(answer)).otherwise(pl.col("answer")).alias("answer")
        )
    return df, planted
