"""`add_source`: read one dataset as its publisher ships it and write it into the catalog.

Steps: the image files a kind can list are queued on the probe threads first; the kind's
reader parses the publisher's files meanwhile (a malformed top-level file stops here with an
`InputError`, before the catalog is changed, and a new catalog is not even created); probes are
committed in batches to a cache (resume point); the source's rows are replaced in ONE
transaction, opened on a second cursor before the probing ends (its texts and QA rows go in while
the threads decode) and committed after the image rows. So an interrupted run leaves the
catalog's tables as they were, and the rerun reuses every probe already committed. Adding a
source again replaces its rows, never duplicates.

With `executor="ray"` the probing runs as Ray tasks over batches of files (each node must see
the files at the same path); the parsing, the cache and every write stay in this process.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from radvqa_data.catalog.fast import deferred_interrupt
from radvqa_data.catalog.source_records import Issue, SourceData
from radvqa_data.catalog.textcheck import (
    PLACEHOLDER_MAX_CHARS,
    non_english_reason,
    placeholder_reason,
)
from radvqa_data.core import db
from radvqa_data.core.errors import ALLOW_EMPTY_HINT, EmptyOutputError, InputError
from radvqa_data.core.paths import assets_dir
from radvqa_data.core.progress import progress_bar

#: kind -> reader module (each has `read(root, *, source, assets) -> SourceData`).
KINDS: dict[str, str] = {
    "medpix2": "radvqa_data.catalog.sources.medpix2",
    "roco": "radvqa_data.catalog.sources.roco",
    "rocov2": "radvqa_data.catalog.sources.rocov2",
    "vqa-rad": "radvqa_data.catalog.sources.vqarad",
    "slake": "radvqa_data.catalog.sources.slake",
    "dicom": "radvqa_data.catalog.sources.dicom",
    "folder": "radvqa_data.catalog.sources.folder",
}

#: What `catalog add KIND PATH` expects at PATH, in the words of an error message.
KIND_EXPECTS: dict[str, str] = {
    "medpix2": "a MedPix 2.0 folder (Descriptions.json, Case_topic.json, images/)",
    "roco": "a ROCO v1 folder (data/<split>/radiology/captions.txt)",
    "rocov2": "a ROCOv2 folder (<split>_captions.csv)",
    "vqa-rad": "the VQA-RAD OSF release folder (VQA_RAD Dataset Public.json)",
    "slake": "a SLAKE 1.0 folder (train.json, validate.json, test.json)",
    "dicom": "a folder of DICOM files",
    "folder": "a folder of image files (with an optional captions.csv)",
}

#: Files that only a publisher's layout has: a `folder` source holding them is that dataset
#: catalogued without its captions and metadata (the reader of its kind reads them).
PUBLISHER_MARKERS: dict[str, tuple[str, ...]] = {
    "medpix2": ("Descriptions.json", "Case_topic.json"),
    "vqa-rad": ("VQA_RAD Dataset Public.json",),
    "slake": ("train.json", "validate.json"),
    "roco": ("data/test/radiology/captions.txt",),
    "rocov2": ("cui_mapping.csv",),
}


def publisher_layout(root: Path) -> str | None:
    """The kind whose publisher layout `root` has (every marker file present), or None."""
    for kind, markers in PUBLISHER_MARKERS.items():
        if all((root / m).is_file() for m in markers):
            return kind
    return None


@dataclass
class IngestSummary:
    """Counts of one `add_source` run (printed as the summary table by the CLI)."""

    source: str
    kind: str
    path: str
    images: int = 0
    ok: int = 0
    missing: int = 0
    corrupt: int = 0
    texts: int = 0
    concepts: int = 0
    qa_rows: int = 0
    probed: int = 0  # files decoded in this run
    reused: int = 0  # probes reused from an earlier (possibly interrupted) run
    seconds: float = 0.0  # whole run
    probe_seconds: float = 0.0  # reading + decoding image files
    issues: dict[str, int] = field(default_factory=dict)  # reason -> count
    splits: dict[str, int] = field(default_factory=dict)  # split ("none": no split) -> images
    qa_splits: dict[str, int] = field(default_factory=dict)  # split -> benchmark QA rows

    @property
    def n_issues(self) -> int:
        return sum(self.issues.values())


def read_source(kind: str, root: Path, source: str, catalog: Path) -> SourceData:
    """Run the reader of `kind` on `root` (no catalog access)."""
    if kind not in KINDS:
        raise InputError(f"unknown source kind '{kind}'; expected one of: {', '.join(KINDS)}")
    if not root.exists():
        raise InputError(f"{root}: no such file or folder; expected {KIND_EXPECTS[kind]}")
    reader = importlib.import_module(KINDS[kind])
    return reader.read(root, source=source, assets=assets_dir(catalog) / source)


def add_source(
    catalog: str | Path,
    kind: str,
    path: str | Path,
    *,
    name: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
    allow_empty: bool = False,
) -> IngestSummary:
    """Catalog the dataset at `path` (of `kind`) as source `name` (default: the kind).

    A source that yields no image and no QA row, or a `folder` that is a publisher's layout
    (MedPix 2.0, VQA-RAD, ...) with no caption, raises `EmptyOutputError` before the catalog
    is touched, unless `allow_empty`.

    Re-adding a source replaces its rows in one transaction. Probes of unchanged image files
    are reused from earlier runs, so a rerun after an interrupt continues where it stopped.
    `executor`: `local` (probe threads) or `ray` (Ray tasks on the cluster at `ray_address`,
    default a local Ray instance); the rows written are the same.
    """
    from radvqa_data.catalog.fast import CACHE_DDL, prefetch, probe_all
    from radvqa_data.executor import make_executor

    start = time.perf_counter()
    catalog = Path(catalog)
    root = Path(path).expanduser().resolve()
    source = name or kind
    ex = make_executor(executor, address=ray_address, local="threads", workers=workers)
    # Start decoding the image files a kind can list cheaply while its metadata is parsed. An
    # existing catalog is then opened for writing, for its probe cache (resume); a new one is
    # created only after the metadata parsed, so a malformed file never leaves an empty catalog.
    t_probe = time.perf_counter()
    pre = con = None
    try:
        with deferred_interrupt():  # so that `pre` and `con` are set before a Ctrl-C can land
            listed = list_images(kind, root)
            if listed and catalog.exists() and ex.remote:
                con = db.connect(catalog)  # Ray tasks cannot see a later cache lookup: look up now
            pre = prefetch(listed, workers, ex, con)
            if listed and catalog.exists() and con is None:
                con = db.connect(catalog)
                if pre is not None:
                    pre.use_cache(con)
        from radvqa_data.catalog.writer import begin_source, finish_source

        with _status(progress, f"reading {kind} metadata from {root}"):
            data = read_source(kind, root, source, catalog)
        if not allow_empty:
            _refuse_empty(kind, root, data)
        _check_captions(data)
        if pre is None:
            t_probe = time.perf_counter()
        if con is None:
            with deferred_interrupt():
                con = db.connect(catalog)
    except BaseException:
        if pre is not None:
            pre.cancel()  # a source that failed to parse, or Ctrl-C: drop its queued work
        if con is not None:
            con.close()
        raise
    try:
        with deferred_interrupt():
            con.execute(CACHE_DDL)  # before the source's transaction opens on the cursor below
        tx = (
            con.cursor()
        )  # a second connection: the source's transaction, beside the cache's commits
        try:
            with (
                deferred_interrupt()
            ):  # texts/QA rows go in while the threads decode (not committed)
                staged = begin_source(tx, source, data)
            files = [
                im.image_path
                for im in data.images
                if im.image_path is not None and im.status is None
            ]
            # no rate on the bar: the summary gives the run's one rate (probes overlap parsing)
            with progress_bar(
                f"probing {source}", len(files), "img", progress and bool(files), rate=False
            ) as advance:
                probes, reused = probe_all(
                    con, files, workers=workers, on_done=advance, pre=pre, executor=ex
                )
            probe_seconds = (
                time.perf_counter() - t_probe
            )  # includes decoding that overlapped parsing
            with (
                deferred_interrupt()
            ):  # one transaction: a Ctrl-C waits for its end (seconds at most)
                counts = finish_source(tx, source, kind, root, data, probes, staged)
        except BaseException:
            _rollback(tx)  # an interrupted probe: the catalog's tables stay as they were
            if pre is not None:
                pre.cancel()  # drop probes still queued (a no-op once they were all collected)
            raise
        finally:
            tx.close()
    finally:
        con.close()
    # corrupt images were appended to the issues by the writer
    issues = Counter(i.reason for i in data.issues) + counts.pop("issues")
    return IngestSummary(
        source=source,
        kind=kind,
        path=str(root),
        probed=len(set(map(str, files))) - reused,
        reused=reused,
        seconds=time.perf_counter() - start,
        probe_seconds=probe_seconds,
        issues=dict(sorted(issues.items())),
        splits=dict(Counter(im.split or "none" for im in data.images).most_common()),
        qa_splits=dict(Counter(q.get("split") or "none" for q in data.qa).most_common()),
        **counts,
    )


def _refuse_empty(kind: str, root: Path, data: SourceData) -> None:
    """Refuse a source that would catalog nothing, or a publisher's folder read as `folder`."""
    if not data.images and not data.qa:
        raise EmptyOutputError(
            f"{root}: no image and no QA row found; expected {KIND_EXPECTS[kind]}; "
            f"{ALLOW_EMPTY_HINT}"
        )
    layout = publisher_layout(root) if kind == "folder" else None
    if layout and not any(im.texts for im in data.images):
        raise EmptyOutputError(
            f"{root}: this is {KIND_EXPECTS[layout]}; as `folder` its {len(data.images):,} "
            f"images get no caption or metadata; use `radvqa-data catalog add {layout} {root}` "
            "(or pass --allow-empty to catalog the images without captions)"
        )


def _rollback(tx: object) -> None:
    """Roll back the source's transaction if it is still open (a no-op once it ended)."""
    import duckdb

    try:
        tx.execute("ROLLBACK")  # type: ignore[attr-defined]
    except duckdb.Error:  # no transaction open: begin/finish already rolled back or committed
        pass


def list_images(kind: str, root: Path) -> list[Path]:
    """The image files of a source listed without parsing its metadata ([] when the kind cannot)."""
    if kind not in KINDS or not root.is_dir():
        return []
    lister = getattr(importlib.import_module(KINDS[kind]), "image_files", None)
    return lister(root) if lister else []


def _check_captions(data: SourceData) -> None:
    """Record non-English captions as issues (the rows are kept), and drop template or
    placeholder texts ("Replace this - DESCRIPTION OF THE IMAGE OR FINDINGS.") from the texts,
    each recorded as a `placeholder_text` issue: no later step (entities, synth, audit, export)
    sees them as text."""
    seen: dict[str, str | None] = {}  # MedPix repeats each case text on every image of the case
    for im in data.images:
        for fld in [f for f, t in im.texts.items() if len(t) <= PLACEHOLDER_MAX_CHARS]:
            text = im.texts[fld]
            why = seen[text] if text in seen else seen.setdefault(text, placeholder_reason(text))
            if why:
                text = im.texts.pop(fld)
                data.issues.append(
                    Issue(im.image_id, "placeholder_text", f"{fld}: {why}: {text!r}")
                )
        caption = im.texts.get("caption")
        reason = non_english_reason(caption) if caption else None
        if reason:
            data.issues.append(Issue(im.image_id, "non_english_caption", reason))


@contextlib.contextmanager
def _status(enabled: bool, message: str) -> Iterator[None]:
    """A spinner on stderr while a step without a known length runs (parsing a source)."""
    if not enabled:
        yield
        return
    from radvqa_data.core.console import logs

    with logs().status(message):
        yield
