"""The catalog side of the label model: its tables (declared in `core.catalog_schema`), the model
folder's id and training record, and what a rerun still has to predict.

Incremental, for a cross-fitted model: the model is trained once (the first run, or
`--retrain`), and `training.json` in its folder records which pictures each fold held out. A
later run predicts only the pictures that have no prediction from this model (new pictures,
changed files): a picture the folds trained on by the model of its own fold (which never saw it:
still out-of-fold), any other by the mean of the fold models (none saw it). New pictures are
checked, but do not teach the model until `--retrain`. cleanlab and the text check then run
again over every stored prediction (seconds: confident learning sets its thresholds per class
over the whole set, so one new picture can move another's verdict), and `label_issues` is
rewritten whole.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np

from radvqa_data.core import atomic
from radvqa_data.core.db import LABEL_ISSUE_COLUMNS, LABEL_TABLES, ensure_tables
from radvqa_data.labels.issues import LabelIssue

_PRED_COLUMNS = (
    "source", "image_id", "field", "model", "how", "predicted", "confidence", "classes", "probs",
    "sha256",
)  # fmt: skip


def ensure_label_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `label_predictions` and `label_issues` when absent."""
    ensure_tables(con, *LABEL_TABLES)


def model_id(model_dir: Path) -> str:
    """Content hash of the saved model (config + fold weights): predictions name it."""
    h = hashlib.sha256((model_dir / "config.json").read_bytes())
    for f in sorted(model_dir.glob("fold-*.safetensors")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def write_training(model_dir: Path, keys: list[tuple[str, str]], folds: np.ndarray) -> None:
    """Record the fold of every training picture (`training.json`)."""
    rows = {f"{s}\x1f{i}": int(f) for (s, i), f in zip(keys, folds, strict=True) if f >= 0}
    atomic.write_json(model_dir / "training.json", {"folds": rows})


def read_training(model_dir: Path) -> dict[tuple[str, str], int]:
    """(source, image_id) -> the fold that held it out, for the saved model's training pictures."""
    path = model_dir / "training.json"
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text())["folds"]
    return {tuple(k.split("\x1f", 1)): v for k, v in rows.items()}  # type: ignore[misc]


def predicted_keys(con: duckdb.DuckDBPyConnection, model: str) -> dict[tuple[str, str], str | None]:
    """(source, image_id) -> file sha256, for the pictures this model has predicted."""
    rows = con.execute(
        "SELECT DISTINCT source, image_id, sha256 FROM label_predictions WHERE model = ?", [model]
    ).fetchall()
    return {(s, i): sha for s, i, sha in rows}


def write_predictions(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[str, str, str | None, str]],
    probs: dict[str, np.ndarray],
    classes: dict[str, list[str]],
    model: str,
) -> int:
    """Replace the predictions of `rows` ((source, image_id, sha256, how) per picture)."""
    import pyarrow as pa

    cols: dict[str, list] = {c: [] for c in _PRED_COLUMNS}
    for task, p in probs.items():
        names = classes[task]
        best = p.argmax(1)
        for (src, iid, sha, how), row, k in zip(rows, p, best, strict=True):
            for c, v in zip(
                _PRED_COLUMNS,
                (src, iid, task, model, how, names[k], float(row[k]), names, row.tolist(), sha),
                strict=True,
            ):
                cols[c].append(v)
    table = pa.table(cols)
    con.register("new_label_predictions", table)
    con.execute("BEGIN")
    try:
        con.execute(
            f"INSERT OR REPLACE INTO label_predictions ({', '.join(_PRED_COLUMNS)}) "
            f"SELECT {', '.join(_PRED_COLUMNS)} FROM new_label_predictions"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_label_predictions")
    return table.num_rows


def stored_predictions(
    con: duckdb.DuckDBPyConnection, model: str
) -> dict[str, tuple[list[tuple[str, str]], np.ndarray, list[str]]]:
    """field -> (keys, probabilities [N, C], classes) of every picture this model predicted."""
    out: dict[str, tuple[list[tuple[str, str]], np.ndarray, list[str]]] = {}
    rows = con.execute(
        "SELECT field, source, image_id, probs, classes FROM label_predictions "
        "WHERE model = ? ORDER BY field, source, image_id",
        [model],
    ).fetchall()
    for field in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == field]
        keys = [(r[1], r[2]) for r in mine]
        out[field] = (keys, np.array([r[3] for r in mine], dtype=float), list(mine[0][4]))
    return out


def write_issues(con: duckdb.DuckDBPyConnection, issues: list[LabelIssue]) -> None:
    """Replace the whole `label_issues` table (one transaction: a reader sees old or new)."""
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM label_issues")
        if issues:
            marks = ",".join("?" * len(LABEL_ISSUE_COLUMNS))
            con.executemany(
                f"INSERT INTO label_issues ({', '.join(LABEL_ISSUE_COLUMNS)}) VALUES ({marks})",
                [i.row() for i in issues],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
