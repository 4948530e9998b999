"""One QA row as each training stack wants it: LLaVA, LLaMA-Factory ShareGPT, TRL messages.

Every record keeps the row's ``id`` and a ``provenance`` object (`PROVENANCE_FIELDS`: where
the row came from and what made it), so a trained model's mistakes can be traced to the
generator, template and source span behind an example.
"""

from __future__ import annotations

from typing import Any

from radvqa_data.core.schema import QA_COLUMNS

#: The image placeholder LLaVA and LLaMA-Factory expect in the user's text.
IMAGE_TOKEN = "<image>"

#: Per-row provenance kept by every format: all QA columns but the id, question and answer,
#: plus the image's licence from the catalog (per image where the source has one, e.g. ROCO).
PROVENANCE_FIELDS: tuple[str, ...] = (
    *(c for c in QA_COLUMNS if c not in ("id", "question", "answer")),
    "licence",
)


def provenance(row: dict[str, Any]) -> dict[str, Any]:
    """The row's provenance object."""
    return {k: row.get(k) for k in PROVENANCE_FIELDS}


def llava_record(row: dict[str, Any], image: str) -> dict[str, Any]:
    """LLaVA's instruction-tuning record (``image`` relative to the image folder)."""
    return {
        "id": row["id"],
        "image": image,
        "conversations": [
            {"from": "human", "value": f"{IMAGE_TOKEN}\n{row['question']}"},
            {"from": "gpt", "value": row["answer"]},
        ],
        "provenance": provenance(row),
    }


def sharegpt_record(row: dict[str, Any], image: str) -> dict[str, Any]:
    """LLaMA-Factory's multimodal ShareGPT record: one ``<image>`` per entry of ``images``."""
    return {
        "messages": [
            {"role": "user", "content": f"{IMAGE_TOKEN}{row['question']}"},
            {"role": "assistant", "content": row["answer"]},
        ],
        "images": [image],
        "id": row["id"],
        "provenance": provenance(row),
    }


def chat_messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Transformers/TRL chat messages: typed content parts, the image part first.

    Every part has both keys (``text`` is None for the image) so that the column has one
    Arrow type; chat templates test ``part['type']``.
    """
    return [
        {
            "role": "user",
            "content": [{"type": "image", "text": None}, {"type": "text", "text": row["question"]}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": row["answer"]}]},
    ]
