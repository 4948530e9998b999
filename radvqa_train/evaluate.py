"""`radvqa-train eval`: greedy answers (or a predictions file) -> per-row scores -> metrics.

Writes, atomically, under OUT:
- ``predictions.parquet``: id, image_id, image_path, question, answer, prediction,
  answer_type, question_type, modality, organ, source, split, correct, exact_match, token_f1,
  recall, bleu1, rouge_l (+ judge_score, judge_status with ``--judge``).
- ``metrics.json``: `radvqa_train.metrics.summarize` plus ``data``, ``model``/``predictions``,
  ``missing_predictions`` (rows with no prediction: scored as an empty answer) and
  ``unmatched_predictions`` (prediction ids not in the data); with ``--judge``, ``judge``
  (`radvqa_train.judge_run`).
- ``metrics.txt``: the same as a readable table.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from radvqa_data.core.atomic import write_json, write_parquet, write_text
from radvqa_data.core.errors import InputError
from radvqa_data.core.schema import predictions_schema
from radvqa_data.reader import read_qa
from radvqa_train.judge import JudgeSettings
from radvqa_train.metrics import (
    METRIC_KEYS,
    SUBSETS,
    score,
    subset_accuracy,
    summarize,
)
from radvqa_train.metrics import grounding as grounding_metrics


def read_predictions(path: Path) -> dict[str, str]:
    """{id: prediction} from JSONL (one object per line) or CSV with columns id, prediction."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: predictions file not found")
    try:
        if path.suffix.lower() == ".csv":
            df = pl.read_csv(path, infer_schema=False)
        else:
            df = pl.DataFrame(
                [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
            )
    except (json.JSONDecodeError, pl.exceptions.PolarsError) as exc:
        raise InputError(
            f"{path}: cannot parse predictions (expected JSONL or CSV with id, prediction): {exc}"
        ) from exc
    if not {"id", "prediction"} <= set(df.columns):
        raise InputError(f"{path}: expected columns 'id' and 'prediction', found {df.columns}")
    return {
        str(i): "" if p is None else str(p)
        for i, p in zip(df["id"].to_list(), df["prediction"].to_list(), strict=True)
    }


IMAGE_ABLATIONS = ("blank", "shuffle")


def derangement(n: int, seed: int = 0) -> list[int]:
    """A random permutation of range(n) with no fixed point (n > 1): the shuffle ablation's
    picture order, shared by `ablate` and the experiment's pre-encoded pixels."""
    import random

    perm = list(range(n))
    rng = random.Random(seed)
    while n > 1 and any(i == p for i, p in enumerate(perm)):
        rng.shuffle(perm)
    return perm


def ablate(rows: list[dict], mode: str | None, seed: int = 0) -> list[dict]:
    """Rows with their pictures ablated: ``blank`` (image_path None: a mid-grey picture) or
    ``shuffle`` (each row gets another row's picture, a random derangement)."""
    if mode is None:
        return rows
    if mode not in IMAGE_ABLATIONS:
        raise InputError(f"--image-ablation {mode}: expected one of {', '.join(IMAGE_ABLATIONS)}")
    if mode == "blank":
        return [{**r, "image_path": None} for r in rows]
    perm = derangement(len(rows), seed)
    return [{**r, "image_path": rows[p]["image_path"]} for r, p in zip(rows, perm, strict=True)]


def score_rows(rows: list[dict], answers: list[str]) -> list[dict]:
    """Eval rows (the QA row's answer, prediction added) with the per-row scores of
    `radvqa_train.metrics.score`: the one scoring path of eval and the experiment."""
    scored = []
    for r, a in zip(rows, answers, strict=True):
        row = {
            **{k: v for k, v in r.items() if k != "answer"},
            "answer": r["answer"],
            "prediction": a,
        }
        scored.append({**row, **score(r["answer"], a, r["answer_type"])})
    return scored


def _image(path: str | None) -> Any:
    from PIL import Image

    from radvqa_train.data import load_image

    return Image.new("RGB", (224, 224), (128, 128, 128)) if path is None else load_image(path)


def generate_answers(
    model_path: str | tuple[Any, Any],
    rows: list[dict],
    *,
    batch_size: int = 8,
    max_new_tokens: int = 16,
    progress: bool = True,
    image: Any = None,
) -> list[str]:
    """Greedy answers of the model at `model_path` (or an already loaded (model, processor)
    pair) for `rows` (image_path + question; an image_path of None stands for a blank mid-grey
    picture). `image`: path-or-None -> PIL image, replacing the default decoder (the experiment
    passes its cache of decoded, resized pictures)."""
    import torch

    from radvqa_train.families import build_inputs, family_of
    from radvqa_train.modeling import load_model

    if isinstance(model_path, tuple):
        model, processor = model_path
    else:
        model, processor = load_model(model_path)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    image = image or _image
    family = family_of(model)
    answers: list[str] = [""] * len(rows)
    from radvqa_data.core.progress import progress_bar

    bar = contextlib.ExitStack()
    advance = bar.enter_context(progress_bar("generating", len(rows), "rows", progress))
    for lo in range(0, len(rows), batch_size):
        chunk = [
            (i, image(rows[i]["image_path"])) for i in range(lo, min(lo + batch_size, len(rows)))
        ]
        chunk = [(i, im) for i, im in chunk if im is not None]  # undecodable image: empty answer
        if chunk:
            inputs, _ = build_inputs(
                processor, family, [im for _, im in chunk], [rows[i]["question"] for i, _ in chunk]
            )
            inputs = {k: v.to(device) for k, v in inputs.items()}
            with torch.no_grad():
                out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
            new = out[:, inputs["input_ids"].shape[1] :]
            for (i, _), text in zip(
                chunk, processor.tokenizer.batch_decode(new, skip_special_tokens=True), strict=True
            ):
                answers[i] = text.strip()
        advance(min(batch_size, len(rows) - lo))
    bar.close()
    return answers


def evaluate(
    data: str,
    *,
    model: str | None = None,
    predictions: Path | None = None,
    catalog: Path | None = None,
    shards: Path | None = None,
    decisions: Path | None = None,
    limit: int | None = None,
    out: Path = Path("out/eval"),
    batch_size: int = 8,
    max_new_tokens: int = 16,
    progress: bool = True,
    judge: JudgeSettings | None = None,
    judge_cache: Path | None = None,
    image_ablation: str | None = None,
    grounding: bool = False,
) -> dict:
    """Score `data` with a model's greedy answers or a predictions file; returns metrics.json.

    `judge`: also ask an LLM judge about the open answers (`radvqa_train.judge_run`); its
    verdicts are cached in `judge_cache` (default OUT/judge_cache.jsonl). `image_ablation`
    (blank | shuffle, with a model) re-scores it on blank or shuffled pictures (see `ablate`).
    `grounding` (with a model): also answers every question on blank and on shuffled pictures
    and adds ``grounding`` (`radvqa_train.metrics.grounding`: per subset and question type, the
    accuracy drop and the share of answers that change, with bootstrap CIs) to metrics.json;
    the ablated answers go to ``predictions-blank.parquet`` / ``predictions-shuffle.parquet``.
    """
    if (image_ablation is not None or grounding) and model is None:
        what = "--grounding" if grounding else "--image-ablation"
        raise InputError(f"{what} needs --model (predictions files carry no pictures)")
    if image_ablation is not None and grounding:
        raise InputError("give --image-ablation or --grounding, not both")
    if (model is None) == (predictions is None):
        raise InputError("give exactly one of --model DIR or --predictions FILE")
    # an unreachable judge fails here, before a long generation
    judge_backend = judge.connect() if judge is not None else None
    stats: dict = {}
    df = read_qa(
        data,
        shards=shards,
        catalog=catalog,
        require_images=model is not None,
        stats=stats,
        decisions=decisions,
    )
    if limit is not None:
        df = df.head(limit)
    rows = df.to_dicts()
    missing = unmatched = 0
    if predictions is not None:
        preds = read_predictions(predictions)
        ids = {r["id"] for r in rows}
        unmatched = sum(1 for k in preds if k not in ids)
        missing = sum(1 for r in rows if r["id"] not in preds)
        answers = [preds.get(r["id"], "") for r in rows]
    else:
        from radvqa_train.modeling import load_model

        # grounding answers every question three times: load the model once for all passes
        loaded = load_model(model) if grounding else model
        answers = generate_answers(
            loaded,
            ablate(rows, image_ablation),
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            progress=progress,
        )
    scored = score_rows(rows, answers)
    metrics = summarize(scored)
    metrics["subsets"] = {s: {"accuracy": subset_accuracy(scored, s)} for s in SUBSETS}
    ablated: dict[str, list[dict]] = {}
    if grounding:
        for mode in IMAGE_ABLATIONS:
            ablated[mode] = score_rows(
                rows,
                generate_answers(
                    loaded,
                    ablate(rows, mode),
                    batch_size=batch_size,
                    max_new_tokens=max_new_tokens,
                    progress=progress,
                ),
            )
        metrics["grounding"] = grounding_metrics(scored, ablated)
    if judge is not None:
        from radvqa_train.judge_run import judge_open_answers

        metrics["judge"] = judge_open_answers(
            scored,
            judge,
            judge_backend,
            progress=progress,
            cache=judge_cache or Path(out) / "judge_cache.jsonl",
        )
    metrics.update(
        data=data,
        model=model,
        predictions=str(predictions) if predictions else None,
        dropped_no_image=stats.get("dropped_no_image", 0),
        decisions=stats.get("decisions"),
        missing_predictions=missing,
        unmatched_predictions=unmatched,
        image_ablation=image_ablation,
    )
    out = Path(out)
    schema = predictions_schema(METRIC_KEYS, judge=judge is not None)
    rows_out = [{c: s[c] for c in schema.names} for s in scored]
    write_parquet(out / "predictions.parquet", pa.Table.from_pylist(rows_out, schema=schema))
    for mode, ab in ablated.items():
        ab_out = [{c: r.get(c) for c in schema.names} for r in ab]
        write_parquet(
            out / f"predictions-{mode}.parquet", pa.Table.from_pylist(ab_out, schema=schema)
        )
    write_json(out / "metrics.json", metrics)
    table = metrics_table(metrics)
    if judge is not None:
        from radvqa_train.judge_run import judge_table

        table += judge_table(metrics["judge"])
    write_text(out / "metrics.txt", table)
    if progress:
        print(table)
    return metrics


#: The breakdown blocks of metrics.json, in metrics.txt's order.
BREAKDOWNS = ("by_answer_type", "by_question_type", "by_modality", "by_organ")


def metrics_table(metrics: dict) -> str:
    """Plain-text table: overall, then one block per breakdown."""
    keys = (
        "n",
        "closed_accuracy",
        "closed_accuracy_yesno",
        "image_determined_accuracy",
        "open_recall",
        "exact_match",
        "token_f1",
        "bleu1",
        "rouge_l",
    )
    # widths from the longest name: no metric or group name is ever cut
    groups = [k for b in BREAKDOWNS for k in metrics[b]]
    gw = max(map(len, ["overall", *groups])) + 2
    cw = max(map(len, keys)) + 2
    lines = [f"{'group':{gw}s}" + "".join(f"{k:>{cw}s}" for k in keys)]

    def fmt(name: str, m: dict) -> str:
        cells = [
            f"{m[k]:>{cw}d}"
            if k == "n"
            else (f"{m[k]:>{cw}.4f}" if m[k] is not None else f"{'-':>{cw}s}")
            for k in keys
        ]
        return f"{name:{gw}s}" + "".join(cells)

    lines.append(fmt("overall", metrics["overall"]))
    for block in BREAKDOWNS:
        lines.append(f"-- {block}")
        lines.extend(fmt(k, v) for k, v in metrics[block].items())
    if metrics.get("grounding"):
        lines.append(grounding_table(metrics["grounding"]))
    return "\n".join(lines) + "\n"


def grounding_table(g: dict) -> str:
    """Plain-text grounding block: per subset and question type, accuracy on real, blank and
    shuffled pictures, the drop (real - blank) with its CI and the share of changed answers."""

    def ci(d: dict | None, key: str) -> str:
        return "-" if d is None else f"{d[key]:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"

    lines = [
        "-- grounding (real vs blank / shuffled pictures; 95% bootstrap CIs over questions)",
        f"{'group':24s}{'n':>6s}{'real':>8s}{'blank':>8s}{'shuffle':>8s}"
        f"  {'drop (real - blank)':28s}{'changed on blank':28s}",
    ]
    cells = {**g["subsets"], **{f"type {k}": v for k, v in g["by_question_type"].items()}}
    for name, c in cells.items():
        acc = [c["accuracy"], c["blank"]["accuracy"], c["shuffle"]["accuracy"]]
        lines.append(
            f"{name[:24]:24s}{c['n']:>6d}"
            + "".join("       -" if a is None else f"{a:>8.3f}" for a in acc)
            + f"  {ci(c['blank']['drop'], 'diff'):28s}{ci(c['blank']['sensitivity'], 'share'):28s}"
        )
    return "\n".join(lines)
