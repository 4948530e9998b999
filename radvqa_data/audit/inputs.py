"""Load what the audit reads: our QA shards or anyone's QA table, mapped to canonical columns.

Canonical columns: ``row_id, source, split, image_id, case_id, question, answer, text`` (missing
ones are null; `text` is the row's own source text, e.g. the caption a QA pair was made from).
The original columns are kept alongside (prefixed ``_orig_`` only when a mapping renamed them)
so that `--fix` can write the user's own table back unchanged in shape.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.core.shards import ShardDir

#: canonical name -> the names we accept without a mapping (first found wins)
CANONICAL: dict[str, tuple[str, ...]] = {
    "row_id": ("id", "row_id", "qid"),
    "source": ("source",),
    "split": ("split",),
    "image_id": ("image_id", "image", "image_name", "img_name", "img_id"),
    "case_id": ("case_id", "group_id", "group", "patient_id"),
    "question": ("question",),
    "answer": ("answer",),
    "text": ("source_text", "context", "caption"),
}


def parse_columns(spec: str | None) -> dict[str, str]:
    """`--columns question=q,answer=a,image=img,split=fold,group=case,text=ctx`:
    canonical name -> the user's column."""
    if not spec:
        return {}
    alias = {"image": "image_id", "group": "case_id", "id": "row_id", "row": "row_id"}
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"--columns: '{part}' is not NAME=COLUMN (e.g. question=q_text)")
        k, v = (x.strip() for x in part.split("=", 1))
        k = alias.get(k, k)
        if k not in CANONICAL:
            raise InputError(
                f"--columns: unknown name '{k}'; expected question, answer, image, split, group, "
                "id, source, text"
            )
        out[k] = v
    return out


def read_table(path: Path) -> pl.DataFrame:
    """Read one QA table: a shard folder (DIR/qa/part-*.parquet), a folder of Parquet files, a
    `datasets` save_to_disk folder, or a .parquet / .csv / .tsv / .jsonl / .json file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    try:
        if p.is_dir():
            if ShardDir(p).qa_files():
                return pl.read_parquet(ShardDir(p).qa_files())
            if (
                (p / "dataset_dict.json").exists()
                or (p / "dataset_info.json").exists()
                or (p / "state.json").exists()
            ):
                return _read_hf(p)
            files = sorted(p.rglob("*.parquet"))
            if files:
                return pl.read_parquet(files)
            raise InputError(
                f"{p}: no QA table here; expected DIR/qa/part-*.parquet, Parquet files or a "
                "`datasets` save_to_disk folder"
            )
        suf = p.suffix.lower()
        if suf == ".parquet":
            return pl.read_parquet(p)
        if suf in (".csv", ".tsv"):
            return pl.read_csv(p, separator="\t" if suf == ".tsv" else ",", infer_schema_length=0)
        if suf in (".jsonl", ".ndjson"):
            return pl.read_ndjson(p, infer_schema_length=None)
        if suf == ".json":
            return pl.read_json(p)
    except InputError:
        raise
    except Exception as exc:  # polars/pyarrow raise many types for a malformed file
        raise InputError(f"{p}: cannot read as a QA table ({type(exc).__name__}: {exc})") from exc
    raise InputError(
        f"{p}: unknown table format '{p.suffix}'; expected .parquet, .csv, .tsv, .jsonl or a folder"
    )


def _read_hf(p: Path) -> pl.DataFrame:
    """A `datasets` save_to_disk folder (Dataset or DatasetDict: the split name becomes `split`)."""
    from datasets import Dataset, DatasetDict, load_from_disk

    ds = load_from_disk(str(p))
    if isinstance(ds, DatasetDict):
        parts = []
        for name, d in ds.items():
            df = pl.from_arrow(d.data.table)
            if "split" not in df.columns:
                df = df.with_columns(pl.lit(name).alias("split"))
            parts.append(df)
        return pl.concat(parts, how="diagonal_relaxed")
    assert isinstance(ds, Dataset)
    return pl.from_arrow(ds.data.table)  # type: ignore[return-value]


def to_canonical(df: pl.DataFrame, mapping: dict[str, str], *, origin: str) -> pl.DataFrame:
    """Add the canonical columns (as strings) to `df`, from `mapping` or the usual names.

    A mapped column that does not exist is an `InputError`; a table with no question column
    either. Rows get a `row_id` (their position) when the table has none.
    """
    cols = set(df.columns)
    exprs = []
    for canon, names in CANONICAL.items():
        src = mapping.get(canon)
        if src is not None and src not in cols:
            raise InputError(
                f"{origin}: --columns names '{src}' for {canon}, but the table has only: "
                f"{', '.join(df.columns)}"
            )
        if src is None:
            src = next((n for n in names if n in cols), None)
        if src is None:
            if canon == "question":
                raise InputError(
                    f"{origin}: no question column; name it with --columns question=COLUMN "
                    f"(columns: {', '.join(df.columns)})"
                )
            exprs.append(pl.lit(None, dtype=pl.String).alias(f"__{canon}"))
        else:
            exprs.append(pl.col(src).cast(pl.String).alias(f"__{canon}"))
    out = df.with_columns(exprs)
    out = out.with_columns(
        pl.coalesce(pl.col("__row_id"), pl.int_range(pl.len()).cast(pl.String)).alias("__row_id"),
        pl.coalesce(pl.col("__source"), pl.lit(origin)).alias("__source"),
    )
    return out


def load_inputs(paths: list[Path], columns: str | None = None) -> pl.DataFrame:
    """Load and concatenate INPUT tables; canonical columns are `__row_id`, `__split`, ...

    `__input` records which INPUT each row came from (for `--fix`).
    """
    mapping = parse_columns(columns)
    frames = []
    for i, p in enumerate(paths):
        df = to_canonical(read_table(p), mapping, origin=Path(p).name)
        frames.append(df.with_columns(pl.lit(i, dtype=pl.Int32).alias("__input")))
    if not frames:
        raise InputError("no INPUT given")
    return pl.concat(frames, how="diagonal_relaxed")
