"""The dataset card, ``OUT/README.md`` of every export: Hub metadata + what a user must know.

YAML header (parsed by `huggingface_hub.DatasetCard`): pretty_name, license,
task_categories [visual-question-answering], language, size_categories, tags and ``configs``
(one split per file or glob, so ``datasets.load_dataset(OUT)`` and the Hub viewer find them).
Body: how to load it; counts per split, question type and answer type with yes-rates;
sources with licences (per image where the source has them) and citations; the generator,
its version and settings; the filters and their reject counts; what the export skipped and
why; "Contamination": the audit's findings and what `audit --fix` removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from radvqa_data.core.answers import CLOSED, OPEN
from radvqa_data.export.inputs import IMAGE_PROBLEMS, ExportInput
from radvqa_data.export.sources import source_info
from radvqa_data.export.stats import RowStats, card_license, licence_details, size_category

USAGE = {
    "hf": (
        "```python\nimport datasets\n"
        'ds = datasets.load_dataset("{path}")  # image + the QA and provenance columns\n```'
    ),
    "messages": (
        "```python\nimport datasets\n"
        'ds = datasets.load_dataset("{path}")\n'
        '# TRL: SFTTrainer(model=..., train_dataset=ds["{split}"], processing_class=processor)\n'
        '# transformers: processor.apply_chat_template(ds["{split}"][0]["messages"])\n```'
    ),
    "llava": (
        "LLaVA (`llava/train/train.py`): `--data_path {path}/{split}.json --image_folder {path}`. "
        "Each record: `id`, `image` (relative to this folder), `conversations`, `provenance`."
    ),
    "sharegpt": (
        "LLaMA-Factory: merge `dataset_info.json` into its `data/dataset_info.json` and copy this "
        "folder's files beside it, or set `dataset_dir: {path}`; the entries are {entries}. "
        "Image paths are relative to this folder."
    ),
}


@dataclass
class CardInputs:
    """Everything the card reports beyond the rows' own counts."""

    name: str
    fmt: str
    files: dict[str, str]  # split -> file or glob, relative to OUT
    problems: dict[str, int]  # IMAGE_PROBLEMS key -> rows without a usable image file
    kept_without_image: bool  # hf: such rows are exported with image = None; else skipped
    image_mode: str | None  # copy / hardlink / symlink (JSON formats)
    contamination: dict | None
    decisions: dict | None = None  # `--decisions`: what a person's verdicts dropped and corrected


def card_header(stats: RowStats, c: CardInputs) -> dict:
    """The Hub metadata block (``license: other`` comes with the sources' licences)."""
    license_id = card_license(stats)
    details = {"license_details": licence_details(stats)} if license_id == "other" else {}
    return {
        "pretty_name": c.name,
        "license": license_id,
        **details,
        "task_categories": ["visual-question-answering"],
        "language": ["en"],
        "size_categories": [size_category(stats.rows)],
        "tags": ["medical", "radiology", "synthetic", "vqa"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": p} for s, p in c.files.items()],
            }
        ],
    }


def _table(head: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(str(x) for x in r) + " |" for r in rows),
        "",
    ]


def _counts(stats: RowStats, inp: ExportInput) -> list[str]:
    man = inp.manifest
    held = man.get("qa_rows", 0)
    if held == stats.rows:
        where = f"the shard folder's manifest counts the same {held:,} rows."
    else:  # rows without image, quarantined, fixed or reviewed out: those sections say which
        diff = held - stats.rows
        gap = f"{diff:,} fewer" if diff > 0 else f"{-diff:,} more"
        where = (
            f"the shard folder holds {held:,} rows (its manifest); why this export has {gap} "
            "is said under [Export](#export), [Contamination](#contamination) and "
            "[Review](#review)."
        )
    out = [
        "## Counts",
        "",
        f"{stats.rows:,} question-answer pairs on {stats.images:,} images; {where}",
        "",
    ]
    out += _table(
        ["split", "rows", "images"],
        [[s, c["rows"], c["images"]] for s, c in stats.by_split.items()],
    )
    if "train" not in stats.by_split:
        out += ["There is **no `train` split**: these rows are for evaluation only.", ""]
    out += _table(
        ["question type", "closed", "open", "yes-rate (yes / yes+no)"],
        [[t, c[CLOSED], c[OPEN], _yes_rate(stats, t)] for t, c in stats.by_type.items()],
    )
    return out


def _yes_rate(stats: RowStats, qtype: str) -> str:
    """``45.5% (30/66)``, or ``-`` for a type without yes/no rows."""
    counts = stats.yes_no.get(qtype)
    if not counts or not counts["yes"] + counts["no"]:
        return "-"
    total = counts["yes"] + counts["no"]
    return f"{counts['yes'] / total:.1%} ({counts['yes']}/{total})"


def _sources(stats: RowStats) -> list[str]:
    out = [
        "## Sources and licences",
        "",
        "The images and captions keep the licences of their sources; check them before use.",
        "",
    ]
    rows, cites = [], []
    for src, s in stats.by_source.items():
        info = source_info(s["kind"])
        lic = ", ".join(f"{t} ({n:,} images)" for t, n in s["licences"].items())
        rows.append(
            [
                src,
                f"[{info.title}]({info.url})" if info.url else info.title,
                s["rows"],
                s["images"],
                lic,
                info.licence_note,
            ]
        )
        if info.citation:
            cites.append(f"- {info.title}: {info.citation}")
    out += _table(["source", "dataset", "rows", "images", "licence per image", "note"], rows)
    return out + ["### Citations", "", *(cites or ["- (no published source)"]), ""]


def _generation(inp: ExportInput) -> list[str]:
    man = inp.manifest
    cfg = yaml.safe_dump(man.get("config", {}), sort_keys=False).strip()
    out = [
        "## How it was made",
        "",
        f"Generated by `radvqa-data synth` with the **{man.get('generator')}** generator; code "
        f"version `{json.dumps(man.get('code_version'))}`; catalog fingerprint "
        f"`{(man.get('catalog') or {}).get('fingerprint')}`. Settings (the run's resolved "
        "config; every row also records its generator, template, prompt version, model, "
        "sampling, seed and the source span that grounds the answer):",
        "",
        "```yaml",
        cfg,
        "```",
        "",
    ]
    if man.get("backend_counters"):
        out += [
            "LLM backend counters:",
            "",
            "```json",
            json.dumps(man["backend_counters"]),
            "```",
            "",
        ]
    rejects = man.get("rejects_by_reason") or {}
    out += [
        "### Filters",
        "",
        "Every candidate went through the filter chain; "
        f"{man.get('reject_rows', 0):,} were rejected (kept with their reason in the shard "
        "folder's `rejects/`):",
        "",
    ]
    out += _table(["reason", "rejected"], [[r, n] for r, n in rejects.items()] or [["(none)", 0]])
    return out


def _export(c: CardInputs, inp: ExportInput) -> list[str]:
    out = [
        "## Export",
        "",
        f"Format `{c.fmt}`; files: " + ", ".join(f"`{p}` ({s})" for s, p in c.files.items()) + ".",
    ]
    if c.image_mode:
        out.append(f"Images: `images/<source>/` ({c.image_mode}), paths relative to this folder.")
    out.append("")
    problems = [[k, n, IMAGE_PROBLEMS[k]] for k, n in c.problems.items() if n]
    if problems and c.kept_without_image:
        out += [
            f"{sum(c.problems.values()):,} rows have no usable image file (`image` is None):",
            "",
        ] + _table(["reason", "rows", "meaning"], problems)
    elif problems:
        out += [
            "Rows not exported because their image file is unusable (listed in `skipped.parquet`):",
            "",
        ] + _table(["reason", "rows", "meaning"], problems)
    if inp.quarantined:
        out += [
            f"{inp.quarantined:,} rows in split `quarantine` (`audit --fix-mode move`) "
            "were not exported.",
            "",
        ]
    return out


def _contamination(con: dict | None) -> list[str]:
    out = ["## Contamination", ""]
    if con is None:
        return out + [
            "No audit was given to this export (`radvqa-data export ... --audit DIR`). "
            "Run `radvqa-data audit SHARDS --catalog CAT --against BENCHMARK --report DIR` "
            "to check for duplicates and train/test leakage.",
            "",
        ]
    if con["audit"]:
        a = con["audit"]
        against = ", ".join(f"`{k}`" for k in a["against"]) or "none given or no benchmark findings"
        out += [f"`radvqa-data audit` findings (protected sets with findings: {against}):", ""]
        out += _table(
            ["check", "findings", "across splits"],
            [[k, v["findings"], v["cross_split"]] for k, v in a["by_kind"].items()],
        )
        out += [
            f"Rows of this export named by a finding (or on an image a benchmark / "
            f"cross-split same-picture finding condemns): {a['rows_flagged_in_export']:,}.",
            "",
        ]
    fix = con["fix"]
    if fix and con["fix_applied"]:
        head = "These rows are the cleaned copy written by `audit --fix`"
    elif fix:
        head = (
            "`audit --fix` wrote a cleaned copy, but this export holds the rows *before* "
            "it (export the --fix folder instead); that fix"
        )
    else:
        return out + ["These rows were not cleaned with `audit --fix`.", ""]
    out += [
        f"{head} ({fix.get('mode')}): {fix.get('rows_in', 0):,} rows in, "
        f"{fix.get('rows_out', 0):,} out, {fix.get('affected', 0):,} affected:",
        "",
    ]
    kinds = fix.get("removed_by_kind") or fix.get("by_kind") or {}
    return out + _table(
        ["check", "rows removed"], [[k, n] for k, n in kinds.items()] or [["(none)", 0]]
    )


def _review(d: dict | None) -> list[str]:
    """What a person's review verdicts (`--decisions`, docs/review.md) changed."""
    if d is None:
        return ["## Review", "", "No review decisions were applied (`--decisions`).", ""]
    return [
        "## Review",
        "",
        f"Decisions from `{d['file']}` (`radvqa-data review pull`): {d['rejected']} rows "
        f"rejected by a reviewer and left out, {d['corrected']} answers corrected; "
        f"{d['not_found']} of the {d['decisions']} decisions name rows not in this export.",
        "",
    ]


def render_card(inp: ExportInput, stats: RowStats, c: CardInputs) -> str:
    """The whole README.md: YAML header, then the body sections."""
    header = yaml.safe_dump(card_header(stats, c), sort_keys=False, allow_unicode=True)
    path = "PATH_OR_HUB_ID" if c.fmt in ("hf", "messages") else "THIS_FOLDER"
    body = [
        f"# {c.name}",
        "",
        "Synthetic visual question answering pairs about radiology images, generated from "
        "image captions and metadata by radvqa (`radvqa-data synth`) and exported with "
        "`radvqa-data export`. Answers are short and grounded in the source text; they are "
        "not clinical labels.",
        "",
        "## Use",
        "",
        USAGE[c.fmt].format(
            path=path,
            split="train" if "train" in c.files else next(iter(c.files), "train"),
            entries=", ".join(f"`{c.name}_{s}`" for s in c.files),
        ),
        "",
    ]
    body += _counts(stats, inp) + _sources(stats) + _generation(inp) + _export(c, inp)
    body += _contamination(c.contamination) + _review(c.decisions)
    return f"---\n{header}---\n\n" + "\n".join(body).rstrip() + "\n"
