"""Judge the open answers of an eval run: cache, requests, failures, scores beside recall.

`judge_open_answers(rows, settings, backend, cache=PATH)` sets, on every scored row,
``judge_score`` (1.0 same meaning, 0.0 different, None unjudged or closed) and
``judge_status`` (``judged``, ``empty_prediction``, ``unparseable``, ``timeout``, ``http_NNN``,
``connection_error``, ``bad_reply``; None for closed questions), and returns the
``metrics.json`` block: the judge's settings, counts and the judged accuracy, next to recall
and exact match over the *same* judged items (so they compare).

- Cache: one JSON line per reply in `cache`, keyed by sha256 of (question, reference,
  prediction, judge model, prompt template). A rerun sends no request for an item that got a
  reply before (an unparseable reply too: greedy decoding would repeat it). Failures without
  a reply (timeouts, HTTP errors) are not cached, so a rerun retries them. Lines are appended
  as each chunk of replies arrives: an interrupted run keeps what it got.
- An empty prediction is judged "different" without a request.
- Failed and unparseable items are counted per reason; the score is over judged items only.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from radvqa_data.core.answers import is_closed
from radvqa_data.llm.client import parse_verdict
from radvqa_train.judge import JudgeSettings, judge_prompt

CHUNK = 64  # prompts per backend call: the cache is appended (and the bar moves) per chunk


def cache_key(question: str, reference: str, prediction: str, model: str, template: str) -> str:
    """The verdict cache key of one item."""
    blob = json.dumps([question, reference, prediction, model, template], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_cache(path: Path) -> dict[str, str]:
    """{key: reply} from a cache file (a cut-off last line, from a killed run, is skipped)."""
    replies: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                replies[entry["key"]] = entry["reply"]
            except (ValueError, KeyError, TypeError):
                continue
    return replies


def _status(error: str) -> str:
    """``timeout``, ``http_503``, ``connection_error``, ``bad_reply`` from a backend error."""
    return error.split(":", 1)[0].strip() or "error"


def _request(
    items: dict[str, tuple[str, str, str]],
    settings: JudgeSettings,
    backend: Any,
    cache: Path,
    progress: bool,
) -> tuple[dict[str, str], dict[str, str]]:
    """Ask the judge about every item; returns ({key: reply}, {key: failure status})."""
    from radvqa_data.core.progress import progress_bar

    replies, failed = {}, {}
    keys = list(items)
    cache.parent.mkdir(parents=True, exist_ok=True)
    if cache.is_file() and cache.stat().st_size:
        with cache.open("rb+") as fh:  # a killed run may have left half a line: end it
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    with (
        progress_bar("judging", len(keys), "items", progress) as advance,
        cache.open("a", encoding="utf-8") as fh,
    ):
        for lo in range(0, len(keys), CHUNK):
            chunk = keys[lo : lo + CHUNK]
            prompts = [judge_prompt(*items[k], template=settings.template) for k in chunk]
            for k, c in zip(chunk, backend.complete(prompts), strict=True):
                if c.text is None:
                    failed[k] = _status(c.error or "error")
                    continue
                replies[k] = c.text
                fh.write(_cache_line(k, c.text, settings, *items[k]))
            fh.flush()
            advance(len(chunk))
    return replies, failed


def _cache_line(key: str, reply: str, settings: JudgeSettings, q: str, ref: str, pred: str) -> str:
    """One cache entry: the key, the raw reply, and what was asked (for a person reading it)."""
    entry = {
        "key": key,
        "reply": reply,
        "model": settings.model,
        "template": settings.template,
        "question": q,
        "answer": ref,
        "prediction": pred,
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


def _block(rows: list[dict]) -> dict[str, Any]:
    judged = [r for r in rows if r["judge_score"] is not None]

    def mean(key: str) -> float | None:
        return round(sum(float(r[key]) for r in judged) / len(judged), 6) if judged else None

    return {
        "n_open": len(rows),
        "n_judged": len(judged),
        "n_unjudged": len(rows) - len(judged),
        "judge_accuracy": mean("judge_score"),
        "open_recall": mean("recall"),
        "exact_match": mean("exact_match"),
        "recall_correct": mean("correct"),
    }


def judge_open_answers(
    rows: list[dict], settings: JudgeSettings, backend: Any, *, cache: Path, progress: bool = True
) -> dict[str, Any]:
    """Judge the open rows of `rows` in place; returns the metrics.json ``judge`` block."""
    cache = Path(cache)
    known = read_cache(cache)
    open_rows = [r for r in rows if not is_closed(r.get("answer_type"))]
    for r in rows:
        r["judge_score"] = r["judge_status"] = None
    todo: dict[str, tuple[str, str, str]] = {}
    for r in open_rows:
        if (r["prediction"] or "").strip():
            r["_key"] = cache_key(
                r["question"], r["answer"], r["prediction"], settings.model, settings.template
            )
            if r["_key"] not in known:
                todo[r["_key"]] = (r["question"], r["answer"], r["prediction"])
    hits = sum(1 for r in open_rows if r.get("_key") in known)
    new, failed = _request(todo, settings, backend, cache, progress) if todo else ({}, {})
    known.update(new)
    for r in open_rows:
        key = r.pop("_key", None)
        if key is None:
            r["judge_score"], r["judge_status"] = 0.0, "empty_prediction"
        elif key in failed:
            r["judge_status"] = failed[key]
        else:
            verdict = parse_verdict(known[key])
            r["judge_status"] = "unparseable" if verdict is None else "judged"
            r["judge_score"] = None if verdict is None else float(verdict)
    reasons = Counter(r["judge_status"] for r in open_rows if r["judge_score"] is None)
    by_type: dict[str, list[dict]] = {}
    for r in open_rows:
        by_type.setdefault(str(r.get("question_type") or "unknown"), []).append(r)
    return {
        **settings.record(),
        "cache": str(cache),
        "requests": len(todo),
        "cache_hits": hits,
        "failed_requests": len(failed),
        "backend_counters": _counters(backend) if todo else {},
        "empty_predictions": sum(1 for r in open_rows if r["judge_status"] == "empty_prediction"),
        "unjudged_by_reason": dict(sorted(reasons.items())),
        "overall": _block(open_rows),
        "by_question_type": {k: _block(v) for k, v in sorted(by_type.items())},
    }


def _counters(backend: Any) -> dict[str, Any]:
    from dataclasses import asdict

    stats = asdict(backend.stats)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()}


def judge_table(block: dict[str, Any]) -> str:
    """The judge's lines for metrics.txt: judged accuracy beside recall and exact match."""
    keys = ("n_open", "n_judged", "n_unjudged", "judge_accuracy", "open_recall", "exact_match")
    lines = [
        f"-- judge (open answers): {block['model']}, {block['template']}, "
        f"temperature {block['sampling']['temperature']}; unjudged: "
        + (", ".join(f"{k}={n}" for k, n in block["unjudged_by_reason"].items()) or "none"),
        f"{'group':32s} " + "".join(f"{k:>16s}" for k in keys),
    ]

    def fmt(name: str, m: dict) -> str:
        cells = [
            f"{m[k]:>16d}"
            if isinstance(m[k], int)
            else (f"{m[k]:>16.4f}" if m[k] is not None else f"{'-':>16s}")
            for k in keys
        ]
        return f"{name:32s} " + "".join(cells)

    lines.append(fmt("overall", block["overall"]))
    lines.extend(fmt(k, v) for k, v in block["by_question_type"].items())
    return "\n".join(lines) + "\n"
