"""Stage data: read + filter each source, mix them by weight in a deterministic order.

The order of examples of a stage is a pure function of (seed, sizes, weights), so a resumed
run only needs the number of optimizer steps already taken to continue at the same example
("data position"). Each draw picks a source with probability proportional to its weight, then
the next example of that source's own shuffled cycle. With several processes (DDP), global
micro-batch m (counted over all steps) holds draws [m*W*B, (m+1)*W*B) and process r takes
the r-th block of B of them, so N processes with accumulation k see exactly the examples, in the
same groups, of one process with accumulation N*k.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from radvqa_data.core.errors import InputError
from radvqa_data.reader import read_qa
from radvqa_train.config import DataSpec, StageConfig


@dataclass
class StageData:
    """The rows of each source of a stage, and their mixing weights."""

    frames: list[pl.DataFrame]
    weights: list[float]
    specs: list[str]
    #: per source with a decisions file: what it dropped and corrected (stage.json records it)
    decisions: dict[str, dict] | None = None

    @property
    def total(self) -> int:
        return sum(f.height for f in self.frames)


def load_source(
    d: DataSpec, *, shards: Path | None, catalog: Path | None, stats: dict | None = None
) -> pl.DataFrame:
    """Rows of one data source after its filters and limit."""
    stats = {} if stats is None else stats
    df = read_qa(d.spec, shards=shards, catalog=catalog, stats=stats, decisions=d.decisions)
    read = df.height
    for col, allowed in (
        ("source", d.sources),
        ("question_type", d.question_types),
        ("answer_type", d.answer_types),
    ):
        if allowed:
            df = df.filter(pl.col(col).is_in(list(allowed)))
    if d.limit is not None:
        df = df.head(d.limit)
    if df.height == 0:
        dropped = stats.get("dropped_no_image", 0)
        raise InputError(
            f"data '{d.spec}': no rows left: {read + dropped:,} read, {dropped:,} without an "
            f"image file, {read:,} removed by the stage's sources/question_types/answer_types/"
            "limit filters"
        )
    return df


def load_stage(stage: StageConfig, *, shards: Path | None, catalog: Path | None) -> StageData:
    """Read every source of `stage`."""
    stats = [{} for _ in stage.data]
    frames = [
        load_source(d, shards=shards, catalog=catalog, stats=st)
        for d, st in zip(stage.data, stats, strict=True)
    ]
    pairs = zip(stage.data, stats, strict=True)
    decisions = {d.spec: st["decisions"] for d, st in pairs if "decisions" in st}
    return StageData(
        frames,
        [float(d.weight) for d in stage.data],
        [d.spec for d in stage.data],
        decisions or None,
    )


def row_weights(df: pl.DataFrame) -> list[float] | None:
    """The rows' `sample_weight` (written by `radvqa-data synth --balance weight`; null: 1.0),
    or None when the source carries none."""
    if "sample_weight" not in df.columns:
        return None
    w = df.get_column("sample_weight").cast(pl.Float64, strict=False)
    if w.null_count() == df.height:
        return None
    return w.fill_null(1.0).to_list()


def draw_order(
    sizes: list[int],
    weights: list[float],
    n_draws: int,
    seed: int,
    rows: list[list[float] | None] | None = None,
) -> list[tuple[int, int]]:
    """`n_draws` (source, row) pairs: weighted source choice, per-source reshuffled cycles.

    `rows`: per source, its rows' sample weights (None: all 1). A weighted source's cycle is a
    draw of its size with replacement, each row with probability proportional to its weight, so
    a row of weight w is seen w times as often as one of weight 1 (the trainer's loss is a batch
    mean, so weighting by frequency is how the weight reaches it).
    """
    import numpy as np

    # two streams, so that the first k draws do not depend on n_draws (prefix-stable order)
    pick, rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    p = np.asarray(weights, dtype=float) / float(sum(weights))
    choices = (
        pick.choice(len(sizes), size=n_draws, p=p) if len(sizes) > 1 else np.zeros(n_draws, int)
    )
    probs = [
        None if w is None else np.asarray(w, dtype=float) / float(sum(w))
        for w in (rows or [None] * len(sizes))
    ]

    def cycle(src: int) -> Any:
        p_rows = probs[src]
        if p_rows is None:
            return rng.permutation(sizes[src])
        return rng.choice(sizes[src], size=sizes[src], p=p_rows)

    perms: list[Any] = [cycle(i) for i in range(len(sizes))]
    cursors = [0] * len(sizes)
    out = []
    for src in choices.tolist():
        if cursors[src] == sizes[src]:  # a source is exhausted: start a new shuffled pass
            perms[src] = cycle(src)
            cursors[src] = 0
        out.append((src, int(perms[src][cursors[src]])))
        cursors[src] += 1
    return out


def total_steps(stage: StageConfig, n_rows: int, world_size: int) -> int:
    """Optimizer steps of a stage: max_steps, or epochs over the rows at the global batch size."""
    if stage.max_steps is not None:
        return stage.max_steps
    global_batch = stage.batch_size * stage.grad_accum * world_size
    return max(1, int(-(-stage.epochs * n_rows // global_batch)))


def load_image(path: str) -> Any:
    """Decoded RGB image, or None when the file cannot be decoded (counted by the caller)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, UnidentifiedImageError):
        return None
