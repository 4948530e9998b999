"""Audit: text checks on a QA table with known duplicates, the report/exit-code/--fix contract,
column mapping, bad input, and pixel verification on the shipped sample images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.audit.findings import KINDS
from radvqa_data.audit.neardup import NearDupConfig, near_duplicate_texts
from radvqa_data.audit.normalize import normalize_text
from radvqa_data.cli import app

runner = CliRunner()


def _qa_table() -> tuple[pl.DataFrame, dict[str, set[tuple[str, str]]]]:
    """A QA table with planted duplicates; returns it and the pairs (row ids) each check must
    find."""
    rows = []

    def add(rid: str, img: str, case: str, split: str, q: str, a: str) -> None:
        rows.append(
            {
                "id": rid,
                "image_id": img,
                "case_id": case,
                "source": "medpix2",
                "split": split,
                "question": q,
                "answer": a,
                "answer_type": "open",
                "question_type": "OTHER",
            }
        )

    # 40 clean images, 3 questions each (template questions repeat across images: not duplicates)
    for i in range(40):
        split = "train" if i < 30 else "test"
        for j, (q, a) in enumerate(
            [
                ("What modality is shown?", "CT"),
                ("Which plane is this image?", "axial"),
                (f"Is there a lesion in region {i}?", "yes"),
            ]
        ):
            add(f"r{i}-{j}", f"img{i}", f"case{i}", split, q, a)
    # exact duplicates: within split (case/punctuation differ) and across splits (same image in
    # two splits)
    add("dupW", "img3", "case3", "train", "what modality is SHOWN", "ct")
    add("dupX", "img31", "case31", "train", "Is there a lesion in region 31?", "Yes")
    # paraphrase (near duplicate) on the same image, same answer
    add("para", "img5", "case5", "train", "Is there a lesion in the region 5?", "yes")
    # group leak: case1 also has an image in test
    add("grp", "img1b", "case1", "test", "Where is the mass?", "left lobe")
    expected = {
        "qa_duplicate": {("dupW", "r3-0"), ("dupX", "r31-2")},
        "qa_near_duplicate": {("para", "r5-2")},
        "group_leak": {("r1-0", "grp"), ("dupX", "r31-0")},  # dupX also puts case31 in train
    }
    return pl.DataFrame(rows), expected


def _pairs(doc: dict, kind: str) -> set[tuple[str, str]]:
    return {(f["a"]["row_id"], f["b"]["row_id"]) for f in doc["findings"] if f["kind"] == kind}


def test_normalize_folds_case_punctuation_space_but_keeps_digits() -> None:
    assert normalize_text("  Is there  a MASS?? ") == normalize_text("is there a mass")
    assert normalize_text("T1 weighted") != normalize_text("T2 weighted")
    assert normalize_text(None) == ""


def test_lsh_finds_the_same_pairs_as_all_pairs() -> None:
    """MinHash-LSH candidates + verification agree with an exhaustive rapidfuzz cdist."""
    from rapidfuzz import fuzz, process

    rng = np.random.default_rng(0)
    words = (
        "mass lesion left right lobe axial ct mri contrast enhancing lung liver kidney brain cyst"
    ).split()
    base = [" ".join(rng.choice(words, size=8)) for _ in range(300)]
    texts = list(base)
    for t in base[:60]:  # one edit each
        w = t.split()
        w[rng.integers(len(w))] = "nodule"
        texts.append(" ".join(w))
    texts = sorted(set(texts))
    cfg = NearDupConfig()
    got = {(i, j) for i, j, _ in near_duplicate_texts(texts, cfg).iter_rows()}
    m = np.maximum(
        process.cdist(texts, texts, scorer=fuzz.ratio),
        process.cdist(texts, texts, scorer=fuzz.token_sort_ratio),
    )
    want = {(i, j) for i, j in zip(*np.nonzero(m >= cfg.threshold), strict=False) if i < j}
    assert want, "the planted edits must produce near-duplicate pairs"
    assert len(got & want) / len(want) >= 0.99
    assert got <= want  # every reported pair was verified


def test_qa_table_known_duplicates_report_exit_code_and_fix(tmp_path: Path) -> None:
    df, expected = _qa_table()
    shards = tmp_path / "shards"
    (shards / "qa").mkdir(parents=True)
    df.write_parquet(shards / "qa" / "part-00000.parquet")
    before = (shards / "qa" / "part-00000.parquet").read_bytes()
    rep, fix = tmp_path / "rep", tmp_path / "fixed"

    res = runner.invoke(
        app,
        [
            "audit",
            str(shards),
            "--report",
            str(rep),
            "--fix",
            str(fix),
            "--fail-on",
            "leakage",
            "--no-progress",
        ],
    )
    assert res.exit_code == 1, res.output  # cross-split duplicates and the group leak are leakage
    assert "FAIL" in res.output and "PASS" not in res.output.split("qa_duplicate")[0]
    doc = json.loads((rep / "audit.json").read_text())
    assert set(doc) == {"findings", "counts", "groups", "totals"}
    assert set(doc["counts"]) == set(KINDS)
    for f in doc["findings"]:
        assert set(f) == {"kind", "a", "b", "method", "score"}
        assert set(f["a"]) == {"source", "split", "image_id", "row_id", "text", "splits"}
    for kind, pairs in expected.items():
        assert _pairs(doc, kind) == pairs, kind
        assert doc["counts"][kind] == len(pairs)
    near = [f for f in doc["findings"] if f["kind"] == "qa_near_duplicate"][0]
    assert 0.9 <= near["score"] < 1.0 and near["method"] == "minhash-lsh+rapidfuzz"

    html = (rep / "report.html").read_text()
    assert "<script>" in html and "http://" not in html and "https://" not in html
    assert html.count("<tr>") > len(doc["findings"])

    assert (shards / "qa" / "part-00000.parquet").read_bytes() == before  # input untouched
    kept = pl.read_parquet(fix / "qa" / "part-00000.parquet")
    removed = pl.read_parquet(fix / "removed.parquet")
    assert set(removed["row_id"]) == {"dupW", "dupX", "para", "r1-0", "r1-1", "r1-2"}
    assert kept.height == df.height - removed.height and kept.columns == df.columns
    assert all(removed["reason"].str.len_chars() > 10)

    # --fail-on a kind with no findings passes
    ok = runner.invoke(app, ["audit", str(shards), "--fail-on", "benchmark_image", "--no-progress"])
    assert ok.exit_code == 0, ok.output


def test_fix_move_mode_quarantines(tmp_path: Path) -> None:
    df, _ = _qa_table()
    p = tmp_path / "qa.parquet"
    df.write_parquet(p)
    res = runner.invoke(
        app,
        ["audit", str(p), "--fix", str(tmp_path / "out"), "--fix-mode", "move", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    kept = pl.read_parquet(tmp_path / "out" / "qa" / "part-00000.parquet")
    assert kept.height == df.height
    assert kept.filter(pl.col("split") == "quarantine").height == 6


def test_other_peoples_table_with_column_mapping(tmp_path: Path) -> None:
    df, expected = _qa_table()
    csv = tmp_path / "theirs.csv"
    df.rename(
        {
            "question": "q_text",
            "answer": "ans",
            "image_id": "img",
            "split": "fold",
            "case_id": "patient",
        }
    ).write_csv(csv)
    rep = tmp_path / "rep"
    res = runner.invoke(
        app,
        [
            "audit",
            str(csv),
            "--columns",
            "question=q_text,answer=ans,image=img,split=fold,group=patient",
            "--report",
            str(rep),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((rep / "audit.json").read_text())
    assert _pairs(doc, "qa_duplicate") == expected["qa_duplicate"]
    assert _pairs(doc, "group_leak") == expected["group_leak"]
    # JSONL and a datasets folder read the same rows
    jl = tmp_path / "theirs.jsonl"
    df.write_ndjson(jl)
    res = runner.invoke(
        app, ["audit", str(jl), "--report", str(tmp_path / "rep2"), "--no-progress"]
    )
    assert json.loads((tmp_path / "rep2" / "audit.json").read_text())["counts"] == doc["counts"]


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["audit", str(tmp_path / "nope.parquet")])
    assert res.exit_code == 1 and "Error:" in res.output and "Traceback" not in res.output
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n")
    res = runner.invoke(app, ["audit", str(csv)])
    assert res.exit_code == 1 and "no question column" in res.output
    res = runner.invoke(app, ["audit", str(csv), "--columns", "question=zzz"])
    assert res.exit_code == 1 and "zzz" in res.output
    res = runner.invoke(app, ["audit", str(csv), "--columns", "question=a", "--fail-on", "bogus"])
    assert res.exit_code == 1 and "bogus" in res.output


# ---- pixels: transformed copies of a shipped sample image are the same picture; neighbours are not


def _sample_png(sample_dir: Path, name: str) -> Path:
    p = sample_dir / "medpix2" / "images" / name
    if not p.exists():
        pytest.skip(f"sample image {name} not shipped")
    return p


@pytest.mark.parametrize("transform", ["resize_jpeg", "crop", "border", "crop_resize"])
def test_pixel_verification_survives_resize_crop_border(
    tmp_path: Path, sample_dir: Path, transform: str
) -> None:
    from PIL import Image, ImageOps

    from radvqa_data.audit.pixels import compare_files

    src = _sample_png(sample_dir, "MPX2028_synpic34050.png")
    im = Image.open(src).convert("L")
    w, h = im.size
    if transform == "resize_jpeg":
        out = im.resize((w * 2, h * 2))
    elif transform == "crop":
        out = im.crop((int(w * 0.12), int(h * 0.08), int(w * 0.9), int(h * 0.95)))
    elif transform == "border":
        out = ImageOps.expand(im, border=60, fill=0)
    else:
        out = im.crop((int(w * 0.2), int(h * 0.2), int(w * 0.85), int(h * 0.85))).resize(
            (400, round(400 * h / w))
        )
    dst = tmp_path / "copy.jpg"
    out.save(dst, quality=85)
    v = compare_files(str(src), str(dst))
    assert v.same, (transform, v)


def test_neighbouring_slices_are_not_the_same_picture(sample_dir: Path) -> None:
    from radvqa_data.audit.pixels import compare_files

    a = _sample_png(sample_dir, "MPX2028_synpic34050.png")
    for other in ("MPX2028_synpic34049.png", "MPX2028_synpic34052.png", "MPX2028_synpic34055.png"):
        v = compare_files(str(a), str(_sample_png(sample_dir, other)))
        assert not v.same, (other, v)


def test_shards_against_the_shipped_sample(tmp_path: Path, sample_catalog: Path) -> None:
    """Our own QA rows on the sample's MedPix images, audited against the sample's VQA-RAD."""
    import duckdb

    con = duckdb.connect(str(sample_catalog), read_only=True)
    imgs = con.execute(
        "SELECT image_id, split, case_id FROM images WHERE source = 'medpix2' AND status = 'ok'"
    ).fetchall()
    con.close()
    rows = [
        {
            "id": f"r{i}",
            "image_id": img,
            "case_id": grp,
            "source": "medpix2",
            "split": split,
            "question": "What abnormality is seen?",
            "answer": "mass",
        }
        for i, (img, split, grp) in enumerate(imgs)
    ]
    (tmp_path / "shards" / "qa").mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(tmp_path / "shards" / "qa" / "part-00000.parquet")
    rep = tmp_path / "rep"
    res = runner.invoke(
        app,
        [
            "audit",
            str(tmp_path / "shards"),
            "--catalog",
            str(sample_catalog),
            "--against",
            "vqa-rad",
            "--report",
            str(rep),
            "--fail-on",
            "leakage",
            "--no-progress",
        ],
    )
    assert res.exit_code == 1, res.output
    doc = json.loads((rep / "audit.json").read_text())
    pairs = {
        (f["a"]["image_id"], f["b"]["image_id"])
        for f in doc["findings"]
        if f["kind"] == "benchmark_image"
    }
    assert {
        ("MPX1007_synpic46720", "synpic46720.jpg"),
        ("MPX2028_synpic34054", "synpic34054.jpg"),
        ("MPX2028_synpic34053", "synpic34054.jpg"),
    } <= pairs
    assert not {
        p
        for p in pairs
        if p[0] in ("MPX2028_synpic34052", "MPX2028_synpic34055", "MPX2028_synpic34049")
    }
    # "What abnormality is seen?" is also a VQA-RAD question on synpic34054.jpg
    assert any(
        f["kind"] == "benchmark_question" and f["b"]["image_id"] == "synpic34054.jpg"
        for f in doc["findings"]
    )
    bad = runner.invoke(
        app,
        [
            "audit",
            str(tmp_path / "shards"),
            "--catalog",
            str(sample_catalog),
            "--against",
            "vqa-rad:tst",
        ],
    )
    assert bad.exit_code == 1 and "no split 'tst'" in bad.output


def test_table_without_images_uses_lsh_over_one_scope(tmp_path: Path) -> None:
    """No image column: the whole table is one scope (MinHash-LSH path); planted pairs are found."""
    rng = np.random.default_rng(1)
    words = (
        "mass lesion left right lobe axial contrast lung liver kidney brain cyst enhancing border"
    ).split()
    qs = sorted({" ".join(rng.choice(words, size=9)) + "?" for _ in range(400)})
    rows = [{"question": q, "answer": "yes", "split": "train"} for q in qs]
    planted = []
    for k, q in enumerate(qs[:20]):
        w = q.split()
        w[3] = w[3] + "s"  # a one-letter edit
        rows.append({"question": " ".join(w), "answer": "yes", "split": "test"})
        planted.append((str(k), str(len(qs) + k)))  # side a = the training copy
    p = tmp_path / "t.jsonl"
    pl.DataFrame(rows).write_ndjson(p)
    rep = tmp_path / "rep"
    res = runner.invoke(
        app, ["audit", str(p), "--report", str(rep), "--no-progress", "--only", "qa_near_duplicate"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((rep / "audit.json").read_text())
    found = _pairs(doc, "qa_near_duplicate")
    assert set(planted) <= found  # row ids are positions (the table has no id column)


@pytest.mark.parametrize(
    "box", [(0.22, 0.18, 0.92, 0.88), (0.05, 0.25, 0.75, 0.95), (0.3, 0.3, 0.95, 0.95)]
)
def test_crop_found_by_descriptor_when_the_hash_is_far(
    tmp_path: Path, sample_dir: Path, box: tuple
) -> None:
    """A cropped copy's phash lands far away; the descriptor path still proposes it, pixels
    confirm."""
    from PIL import Image

    from radvqa_data.audit.image_checks import candidates, verify
    from radvqa_data.audit.images import CandidateConfig
    from radvqa_data.audit.pixels import PixelConfig
    from radvqa_data.catalog.imageprobe import phash64

    imgs = sorted((sample_dir / "medpix2" / "images").glob("*.png"))
    if len(imgs) < 10:
        pytest.skip("sample images not shipped")
    src = sample_dir / "medpix2" / "images" / "MPX1884_synpic21852.png"
    im = Image.open(src).convert("L")
    w, h = im.size
    crop = tmp_path / "crop.jpg"
    im.crop((int(w * box[0]), int(h * box[1]), int(w * box[2]), int(h * box[3]))).save(
        crop, quality=90
    )
    paths = [str(p) for p in imgs] + [str(crop)]
    df = pl.DataFrame(
        {
            "image_path": paths,
            "sha256": [None] * len(paths),
            "phash": [phash64(Image.open(p)) for p in paths],
        },
        schema={"image_path": pl.String, "sha256": pl.String, "phash": pl.UInt64},
    )
    i = paths.index(str(src))
    j = len(paths) - 1
    ham = bin(df["phash"][i] ^ df["phash"][j]).count("1")
    cand = candidates(df, None, CandidateConfig(), PixelConfig())
    row = cand.filter((pl.col("li") == i) & (pl.col("ri") == j))
    assert row.height == 1, f"crop not proposed (phash distance {ham})"
    assert "knn" in row["via"][0]
    if ham > CandidateConfig().max_hamming:
        assert row["via"][0] == "knn"
    verified = verify(df, df, row.select("li", "ri", "via"), PixelConfig())
    assert verified and verified[0][2].same


def test_catalog_connection_is_closed_when_a_check_raises(
    tmp_path: Path, sample_catalog: Path, monkeypatch
) -> None:
    """A check that raises must not leave the read-only catalog connection open: DuckDB then
    refuses a read-write open of the same file in this process."""
    import shutil

    from radvqa_data.audit import run as audit_run
    from radvqa_data.core.db import connect

    catalog = Path(shutil.copy(sample_catalog, tmp_path / "c.duckdb"))

    def boom(*_a, **_k):
        raise RuntimeError("a check failed")

    monkeypatch.setattr(audit_run, "_catalog_group_leaks", boom)
    # keep the traceback (and so the failed call's frames) alive, as a caller that logs it would
    with pytest.raises(RuntimeError, match="a check failed") as failed:
        audit_run.run_audit(
            audit_run.AuditOptions(
                catalog=catalog, images=False, progress=False, only=frozenset({"group_leak"})
            )
        )
    with connect(catalog) as con:  # read-write: fails while the audit's connection is open
        assert con.execute("SELECT count(*) FROM images").fetchall()[0][0] > 0
    assert failed.traceback


def test_audit_request_holds_the_options_once():
    """The command's request holds an `AuditOptions`; none of the checks' fields is repeated."""
    import dataclasses

    from radvqa_data.audit.cli import AuditRequest, audit_options
    from radvqa_data.audit.run import AuditOptions

    req_fields = {f.name for f in dataclasses.fields(AuditRequest)}
    opt_fields = {f.name for f in dataclasses.fields(AuditOptions)}
    assert "options" in req_fields and not (req_fields & opt_fields)
    opts = audit_options(
        inputs=[], catalog=None, against=["vqa-rad"], threshold=80, only="qa_duplicate"
    )
    assert isinstance(opts, AuditOptions)
    assert opts.text.threshold == 80 and opts.only == frozenset({"qa_duplicate"})


def test_caption_findings_do_not_depend_on_row_order() -> None:
    """The same captions in another row order give the same findings in the same order, and the
    per-text cap (`MAX_PAIRS_PER_TEXT`) keeps the same pairs: audit.json is reproducible (Polars
    joins do not keep row order; before the sort, four runs on MedPix 2.0 gave four orders)."""
    from radvqa_data.audit.captions import MAX_PAIRS_PER_TEXT, caption_leaks

    shared = "Axial CT of the abdomen shows a large hepatic mass."
    rows = [("m", f"train{i:03d}", "train", shared) for i in range(MAX_PAIRS_PER_TEXT + 10)]
    rows += [("m", f"test{i}", "test", shared) for i in range(2)]
    rows += [("m", "val0", "validation", "Coronal MRI of the knee, torn meniscus."),
             ("m", "train_knee", "train", "Coronal MRI of the knee: torn meniscus!")]  # fmt: skip
    df = pl.DataFrame(rows, schema=["source", "image_id", "split", "text"], orient="row")

    def key(findings):
        return [(f.a.image_id, f.b.image_id, f.method, round(f.score, 4)) for f in findings]

    want = key(caption_leaks(df, NearDupConfig()))
    assert len(want) == MAX_PAIRS_PER_TEXT + 1  # 120 pairs capped per (text, split pair); knee
    for seed in range(3):
        assert (
            key(caption_leaks(df.sample(fraction=1.0, shuffle=True, seed=seed), NearDupConfig()))
            == want
        )
