"""`run_audit`: load inputs, run every check, return findings (the CLI and tests call this)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from radvqa_data.audit import captions as cap
from radvqa_data.audit import qa_checks
from radvqa_data.audit.bench_questions import benchmark_questions
from radvqa_data.audit.boilerplate import BoilerplateConfig, boilerplate
from radvqa_data.audit.findings import Finding
from radvqa_data.audit.image_checks import image_findings
from radvqa_data.audit.images import CandidateConfig, load_images
from radvqa_data.audit.inputs import load_inputs
from radvqa_data.audit.neardup import NearDupConfig
from radvqa_data.audit.pixels import PixelConfig
from radvqa_data.audit.protected import parse_against, protected_images, protected_questions
from radvqa_data.core.errors import InputError
from radvqa_data.core.progress import Phases
from radvqa_data.reader import catalog as catalog_reader


@dataclass
class AuditOptions:
    """Everything an audit run needs; defaults are the CLI's."""

    inputs: list[Path] = field(default_factory=list)
    catalog: Path | None = None
    against: list[str] = field(default_factory=list)
    columns: str | None = None
    text: NearDupConfig = field(default_factory=NearDupConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    pixels: PixelConfig = field(default_factory=PixelConfig)
    candidates: CandidateConfig = field(default_factory=CandidateConfig)
    caption_fields: tuple[str, ...] = ("caption",)
    near_captions: bool = (
        True  # off: identical (normalized) captions only, much faster on 100k captions
    )
    images: bool = True  # pixel checks (needs image files); off: text and group checks only
    only: frozenset[str] | None = None  # run only these kinds (None: every check the inputs allow)
    progress: bool = True
    executor: str = "local"  # where the image checks' descriptor pass and verification run
    ray_address: str | None = None  # with executor "ray": the cluster (None: a local instance)

    def wants(self, kind: str) -> bool:
        """True when check `kind` is selected."""
        return self.only is None or kind in self.only


@dataclass
class AuditResult:
    """Findings plus what was audited (for the report and --fix)."""

    findings: list[Finding]
    rows: pl.DataFrame | None  # canonical input rows (None without INPUT)
    checks_run: list[str]
    seconds: dict[str, float]
    n_rows: int = 0
    n_images: int = 0
    n_protected: int = 0
    against: list[str] = field(default_factory=list)
    #: (path, why) of the images the image checks could not read (left out of them)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def run_audit(opts: AuditOptions) -> AuditResult:
    """Run all checks that the inputs allow; see docs/audit.md for what each check means."""

    if not opts.catalog:
        return _run_checks(opts, None)
    with _open_catalog(opts) as con:  # closed even when a check raises
        return _run_checks(opts, con)


def _open_catalog(opts: AuditOptions):
    """The catalog connection: read-write when the image checks run (they cache descriptors in
    it) and the file can be written, else read-only (the audit itself writes nothing else)."""
    import duckdb

    from radvqa_data.core import db

    if opts.images and opts.catalog is not None and Path(opts.catalog).exists():
        try:
            return db.connect(opts.catalog)
        except (duckdb.Error, OSError, InputError):
            pass  # read-only file, or another process holds it: audit without the cache
    return db.connect(opts.catalog, read_only=True)


def _image_checks(
    opts: AuditOptions,
    con,
    audited,
    prot_imgs,
    ph,
    secs: dict[str, float],
    unreadable: list[tuple[str, str]],
) -> tuple[list, list]:
    """(image_same_picture, benchmark_image) findings: one descriptor pass (cached in the
    catalog), one candidate search and one verification for both checks; `unreadable` gets
    (path, why) of the images that could not be described."""
    from radvqa_data.audit.descriptor_store import DescriptorStore
    from radvqa_data.executor import make_executor

    want_same = opts.wants("image_same_picture")
    want_bench = bool(prot_imgs.height) and (
        opts.wants("benchmark_image") or opts.wants("benchmark_question")
    )
    if not (want_same or want_bench) or audited.height == 0:
        return [], []
    store = DescriptorStore()
    frame = pl.concat(
        [audited.select("image_path", "sha256")]
        + ([prot_imgs.select("image_path", "sha256")] if want_bench else [])
    )
    if opts.executor == "ray":
        ex = make_executor("ray", address=opts.ray_address)
        describe_ex, verify_ex = ex, ex
    else:
        describe_ex = make_executor("local", local="threads")
        verify_ex = make_executor("local", local="fork", workers=2)
    try:
        t = time.perf_counter()
        store.ensure(frame, con, describe_ex, ph.factory("images")("descriptors", frame.height))
        secs["images: descriptors"] = time.perf_counter() - t
        stages: dict[str, float] = {}
        out = image_findings(
            audited,
            prot_imgs,
            want_same,
            want_bench,
            opts.candidates,
            opts.pixels,
            ph.factory("images"),
            store,
            verify_ex,
            stages,
            # the coarse crop search forks its own two workers locally; on Ray it stays in
            # the driver (a forked copy of a Ray driver is not safe)
            coarse_workers=1 if opts.executor == "ray" else 2,
        )
        secs.update({f"images: {k}": v for k, v in stages.items()})
        secs["images: described now"] = store.computed
        unreadable += store.unreadable(frame)
        return out
    finally:
        describe_ex.close()
        verify_ex.close()


def _run_checks(opts: AuditOptions, con) -> AuditResult:
    """`run_audit` on an open catalog connection (or None); the caller closes it."""
    sets = parse_against(opts.against, con, str(opts.catalog))
    findings: list[Finding] = []
    secs: dict[str, float] = {}
    checks: list[str] = []

    rows = None
    if opts.inputs:
        rows = load_inputs(opts.inputs, opts.columns).with_row_index("__k")
        rows = rows.with_columns(pl.col("__k").cast(pl.Int64))
        rows = qa_checks.prepare(rows)
    elif con is not None:
        rows = _catalog_training_rows(con, sets)

    prot_imgs = protected_images(con, sets) if (con is not None and sets) else pl.DataFrame()
    with Phases(opts.progress) as ph:
        if rows is not None and rows.height:
            for kind, fn in (
                ("qa_duplicate", qa_checks.exact_duplicates),
                ("qa_near_duplicate", lambda r: qa_checks.near_duplicates(r, opts.text)),
                ("qa_boilerplate", lambda r: boilerplate(r, opts.boilerplate)),
                ("group_leak", qa_checks.group_leaks),
            ):
                if opts.wants(kind):
                    t = time.perf_counter()
                    findings += fn(rows)
                    secs[kind] = time.perf_counter() - t
                    checks.append(kind)

        audited = pl.DataFrame()
        unreadable: list[tuple[str, str]] = []
        if con is not None:
            audited = _audited_images(con, rows, prot_imgs, from_input=bool(opts.inputs))
            same_imgs: list[Finding] = []
            bimg: list[Finding] = []
            if opts.images and audited.height:
                t = time.perf_counter()
                same_imgs, bimg = _image_checks(opts, con, audited, prot_imgs, ph, secs, unreadable)
                secs["images"] = time.perf_counter() - t
            if opts.images and audited.height and opts.wants("image_same_picture"):
                findings += same_imgs
                checks.append("image_same_picture")
            if sets:
                if opts.images and opts.wants("benchmark_image"):
                    findings += bimg
                    checks.append("benchmark_image")
                if rows is not None and opts.wants("benchmark_question"):
                    t = time.perf_counter()
                    findings += benchmark_questions(
                        rows, bimg, prot_imgs, protected_questions(con, sets), opts.text
                    )
                    secs["benchmark_question"] = time.perf_counter() - t
                    checks.append("benchmark_question")
            if opts.wants("caption_duplicate"):
                t = time.perf_counter()
                texts = _caption_texts(
                    con, audited, prot_imgs, opts.caption_fields, restrict=bool(opts.inputs)
                )
                findings += cap.caption_leaks(texts, opts.text, near=opts.near_captions)
                secs["caption_duplicate"] = time.perf_counter() - t
                checks.append("caption_duplicate")
            if not opts.inputs and opts.wants("group_leak"):
                findings += _catalog_group_leaks(con)
                if "group_leak" not in checks:
                    checks.append("group_leak")
    if con is not None:
        _attach_paths(con, findings)
    return AuditResult(
        findings,
        rows if opts.inputs else None,
        checks,
        secs,
        n_rows=0 if rows is None else rows.height,
        n_images=audited.height if con is not None else 0,
        n_protected=prot_imgs.height,
        against=[a.label for a in sets],
        unreadable=unreadable,
    )


def _catalog_training_rows(con, sets) -> pl.DataFrame | None:
    """Without INPUT: the catalog's benchmark QA rows outside the protected sets, as QA rows."""
    df = catalog_reader.benchmark_questions(con)
    if df.height == 0:
        return None
    for a in sets:
        cond = pl.col("source") == a.source
        if a.split is not None:
            cond = cond & (pl.col("split") == a.split)
        df = df.filter(~cond)
    img = catalog_reader.image_groups(con)
    df = df.join(img, on=["source", "image_id"], how="left")
    rows = (
        df.select(
            pl.col("qid").alias("__row_id"),
            pl.col("source").alias("__source"),
            pl.col("split").alias("__split"),
            pl.col("image_id").alias("__image_id"),
            pl.col("case_id").alias("__case_id"),
            pl.col("question").alias("__question"),
            pl.col("answer").alias("__answer"),
        )
        .with_row_index("__k")
        .with_columns(pl.col("__k").cast(pl.Int64))
    )
    return qa_checks.prepare(rows)


def _audited_images(
    con, rows: pl.DataFrame | None, prot: pl.DataFrame, from_input: bool
) -> pl.DataFrame:
    """Images under audit: those the input rows use (split from the rows), or, without INPUT,
    every catalog image outside the protected sets."""
    if from_input:
        if rows is None:
            return pl.DataFrame()
        used = rows.select(
            pl.col("__source").alias("source"),
            pl.col("__image_id").alias("image_id"),
            pl.col("__split").alias("row_split"),
        ).unique(["source", "image_id"], keep="first")
        imgs = load_images(con).join(used, on=["source", "image_id"])
        return imgs.with_columns(pl.coalesce("row_split", "split").alias("split")).drop("row_split")
    imgs = load_images(con)
    if prot.height:
        imgs = imgs.join(prot.select("source", "image_id"), on=["source", "image_id"], how="anti")
    return imgs


def _caption_texts(
    con, audited: pl.DataFrame, prot: pl.DataFrame, fields: tuple[str, ...], restrict: bool
) -> pl.DataFrame:
    """Caption texts with each image's split: with INPUT the audited and protected images only,
    without INPUT every catalog image (protected ones included: their captions can leak too)."""
    df = catalog_reader.texts_with_split(con, fields)
    if audited.height:
        df = df.join(
            audited.select("source", "image_id", pl.col("split").alias("s2")),
            on=["source", "image_id"],
            how="left",
        )
        df = df.with_columns(pl.coalesce("s2", "split").alias("split")).drop("s2")
    if restrict:
        keep = [audited.select("source", "image_id")] if audited.height else []
        if prot.height:
            keep.append(prot.select("source", "image_id"))
        if not keep:
            return df.head(0)
        df = df.join(pl.concat(keep).unique(), on=["source", "image_id"])
    return df


def _catalog_group_leaks(con) -> list[Finding]:
    """group_leak over catalog images: one case_id with images in two splits of one source."""
    df = (
        catalog_reader.grouped_images(con)
        .select(
            pl.col("source").alias("__source"),
            pl.col("split").alias("__split"),
            pl.col("image_id").alias("__image_id"),
            pl.col("image_id").alias("__row_id"),
            pl.col("case_id").alias("__case_id"),
            pl.lit(None, pl.String).alias("__question"),
            pl.lit(None, pl.String).alias("__answer"),
        )
        .with_row_index("__k")
        .with_columns(pl.col("__k").cast(pl.Int64))
    )
    return qa_checks.group_leaks(df)


def _attach_paths(con, findings: list[Finding]) -> None:
    """Give every finding its two image files (for the report's thumbnails) where the catalog
    has them."""
    need = {
        (s.source, s.image_id)
        for f in findings
        if "path_a" not in f.extra
        for s in (f.a, f.b)
        if s.image_id
    }
    if not need:
        return
    df = catalog_reader.image_paths(con)
    paths = {(s, i): p for s, i, p in df.iter_rows() if (s, i) in need}
    for f in findings:
        if "path_a" not in f.extra:
            f.extra["path_a"] = paths.get((f.a.source, f.a.image_id))
            f.extra["path_b"] = paths.get((f.b.source, f.b.image_id))
