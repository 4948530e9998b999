"""The layout of a shard folder (`radvqa-data synth` output, or an `audit --fix` copy), in one
place.

    DIR/qa/part-NNNNN.parquet       kept rows (schema.QA_SCHEMA, zstd)
    DIR/rejects/part-NNNNN.parquet  rejected rows (schema.REJECT_SCHEMA: + reason)
    DIR/_state/run.json             config + catalog fingerprints of the run that owns DIR
    DIR/_state/part-NNNNN.json      counts of a finished shard (written last: the commit mark)
    DIR/manifest.json               totals, resolved config, catalog, code version
    DIR/fix_summary.json            (an `audit --fix` copy) what was removed, and the inputs

Synth writes it; the reader, export, audit, `audit --fix` and `synth describe` read it. None of
them spells a path of this layout itself, so the layout can change here alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from radvqa_data.core.errors import InputError

if TYPE_CHECKING:
    import polars as pl

SHARD_GLOB = "part-*.parquet"


def shard_name(index: int) -> str:
    """`part-NNNNN.parquet` for shard `index`."""
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class ShardDir:
    """A shard folder at `root`; see the module docstring for what lies where."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def qa_dir(self) -> Path:
        return self.root / "qa"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def state_dir(self) -> Path:
        return self.root / "_state"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def fix_summary(self) -> Path:
        """Written by `audit --fix` beside its one QA shard; names the audited folders."""
        return self.root / "fix_summary.json"

    @property
    def run_state(self) -> Path:
        """The fingerprints of the run that owns the folder (`synth.shards.claim_output`)."""
        return self.state_dir / "run.json"

    #: The folders a run writes (and `--overwrite` wipes).
    @property
    def run_dirs(self) -> tuple[Path, Path, Path]:
        return self.qa_dir, self.rejects_dir, self.state_dir

    def qa_path(self, index: int) -> Path:
        return self.qa_dir / shard_name(index)

    def reject_path(self, index: int) -> Path:
        return self.rejects_dir / shard_name(index)

    def state_path(self, index: int) -> Path:
        return self.state_dir / shard_name(index).replace(".parquet", ".json")

    def qa_files(self) -> list[Path]:
        """The QA shard files, in shard order (empty when there are none)."""
        return sorted(self.qa_dir.glob(SHARD_GLOB)) if self.qa_dir.is_dir() else []

    def finished_indexes(self) -> list[int]:
        """Shards whose state file (the commit mark) and both Parquet files exist."""
        if not self.state_dir.is_dir():
            return []
        done = []
        for p in sorted(self.state_dir.glob("part-*.json")):
            index = int(p.stem.split("-")[1])
            if self.qa_path(index).exists() and self.reject_path(index).exists():
                done.append(index)
        return done

    def read_qa(self, missing: str) -> pl.DataFrame:
        """All QA rows of the folder; `missing` is the error message when there are no shards."""
        import polars as pl

        files = self.qa_files()
        if not files:
            raise InputError(missing)
        try:
            return pl.read_parquet(files)
        except Exception as exc:  # polars raises several error types for bad files
            raise InputError(f"{self.qa_dir}: cannot read the Parquet shards ({exc})") from exc
