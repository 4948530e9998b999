"""Descriptors of the images under audit: read from the catalog's cache, the missing ones computed
by the executor (locally or on Ray) in batches and written back.

The store holds, per image, its thumbnail (uint8, ~9 KB at 96 px), crop-search view (~4 KB) and
query vectors (~3.5 KB): memory grows by ~16 KB per image, nothing else is kept per image.
Images are keyed by sha256; an image without one (files outside a catalog) by its path, and such
rows are never cached.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from radvqa_data.audit.descriptors import DESC_VERSION, Described, describe_batch

BATCH = 64  # images per executor batch: large enough to amortize a Ray task (~1.5 ms)
WRITE_EVERY = 2048  # descriptor rows per cache write (an interrupted pass keeps what it wrote)


def _key(sha: str | None, path: str) -> str:
    return sha if sha else f"path:{path}"


class DescriptorStore:
    """Key -> `Described` for the images of one audit run."""

    def __init__(self) -> None:
        self.rows: dict[str, Described] = {}
        self.computed = 0  # described in this run
        self.cached = 0  # read from the catalog's cache

    def keys(self, df: pl.DataFrame) -> list[str]:
        """The store key of every row of an image frame (columns sha256, image_path)."""
        return [
            _key(s, p)
            for s, p in zip(df["sha256"].to_list(), df["image_path"].to_list(), strict=True)
        ]

    def unreadable(self, df: pl.DataFrame) -> list[tuple[str, str]]:
        """(path, why) of every image of `df` that could not be described (it is left out of
        the pixel checks)."""
        return [
            (p, d.error or "cannot decode")
            for k, p in zip(self.keys(df), df["image_path"].to_list(), strict=True)
            if (d := self.rows.get(k)) is not None and d.thumb is None
        ]

    def get(self, key: str) -> Described | None:
        """The row of `key` (None when it was never described)."""
        return self.rows.get(key)

    def ensure(
        self,
        df: pl.DataFrame,
        con=None,
        executor=None,
        tick: Callable[[int], None] | None = None,
    ) -> None:
        """Describe every image of `df` not in the store: from the catalog's cache (`con`, an
        open catalog connection) where it has the row, else computed by `executor` (and cached
        when `con` can write)."""
        keys = self.keys(df)
        paths = dict(zip(keys, df["image_path"].to_list(), strict=True))
        todo = [k for k in dict.fromkeys(keys) if k not in self.rows]
        writable = con is not None and _cache_ready(con)
        if con is not None and _has_cache(con):
            for d in load_cached(con, [k for k in todo if not k.startswith("path:")]):
                self.rows[d.key] = d
                self.cached += 1
            if tick:
                tick(len(todo) - sum(k not in self.rows for k in todo))
        todo = [k for k in todo if k not in self.rows]
        if not todo:
            return
        if executor is None:
            from radvqa_data.executor import make_executor

            executor = make_executor("local", local="threads")
        batches = [[(k, paths[k]) for k in todo[i : i + BATCH]] for i in range(0, len(todo), BATCH)]
        pending: list[Described] = []
        for out in executor.map(describe_batch, batches):
            for d in out:
                self.rows[d.key] = d
                self.computed += 1
            # a failed row is not cached: the next run tries the file again (a file fixed or
            # restored since, or a failure that was ours, is then described)
            pending += [d for d in out if not d.key.startswith("path:") and d.thumb is not None]
            if writable and len(pending) >= WRITE_EVERY:
                save_cached(con, pending)
                pending = []
            if tick:
                tick(len(out))
        if writable and pending:
            save_cached(con, pending)


def _cache_ready(con) -> bool:
    """Create the cache table; False when the connection cannot write (a read-only catalog: the
    run then describes without caching)."""
    import duckdb

    from radvqa_data.core import db

    try:
        db.ensure_tables(con, "image_descriptors")
        return True
    except duckdb.Error:
        return False


def _has_cache(con) -> bool:
    from radvqa_data.core import db

    return db.table_exists(con, "image_descriptors")


def _blob(a: np.ndarray, dtype) -> bytes:
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


def save_cached(con, rows: list[Described]) -> None:
    """Insert or replace descriptor rows (one transaction)."""
    data = [
        (
            d.key,
            DESC_VERSION,
            *(d.thumb.shape if d.thumb is not None else (None, None)),
            None if d.thumb is None else _blob(d.thumb, np.uint8),
            *(d.gate.shape if d.gate is not None else (None, None)),
            None if d.gate is None else _blob(d.gate, np.float16),
            None if d.query is None else _blob(d.query, np.float16),
            d.error,
        )
        for d in rows
    ]
    cols = ["sha256", "version", "th", "tw", "thumb", "gh", "gw", "gate", "query", "error"]
    types = [pl.String, pl.Int32, pl.Int32, pl.Int32, pl.Binary]
    types += [pl.Int32, pl.Int32, pl.Binary, pl.Binary, pl.String]
    frame = pl.DataFrame(data, schema=list(zip(cols, types, strict=True)), orient="row")
    # one statement over a registered frame: this DuckDB plans every row of an `executemany`
    # anew (CPU seconds per thousand rows)
    con.register("new_descriptors", frame.to_arrow())
    try:
        con.execute("BEGIN")
        con.execute(
            f"INSERT OR REPLACE INTO image_descriptors ({', '.join(cols)}) "
            f"SELECT {', '.join(cols)} FROM new_descriptors"
        )
        con.execute("COMMIT")
    finally:
        con.unregister("new_descriptors")


def load_cached(con, keys: list[str]) -> list[Described]:
    """Cached rows of the current version for `keys` (the catalog read the lead can route)."""
    if not keys:
        return []
    con.register("want", pl.DataFrame({"sha256": keys}).to_arrow())
    rows = con.execute(
        "SELECT d.sha256, th, tw, thumb, gh, gw, gate, query, error FROM image_descriptors d "
        "JOIN want USING (sha256) WHERE version = ?",
        [DESC_VERSION],
    ).fetchall()
    con.unregister("want")
    out = []
    for key, th, tw, thumb, gh, gw, gate, query, error in rows:
        if thumb is None:
            out.append(Described(key, None, None, None, error))
            continue
        out.append(
            Described(
                key,
                np.frombuffer(thumb, dtype=np.uint8).reshape(th, tw),
                np.frombuffer(gate, dtype=np.float16).reshape(gh, gw).astype(np.float32),
                np.frombuffer(query, dtype=np.float16).reshape(-1, _dim()).astype(np.float32),
            )
        )
    return out


def _dim() -> int:
    from radvqa_data.audit.descriptors import DESC_GRID

    return DESC_GRID * DESC_GRID
