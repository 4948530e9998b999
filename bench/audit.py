"""Scale benchmark of `radvqa-data audit` (text checks + image-hash candidates).

Generates a synthetic QA set (default 200,000 rows over 20,000 images) with planted exact
duplicates and paraphrases of known count, audits it in a child process (time, peak memory) and
reports recall of the planted pairs. On a 5,000-row subset it compares the audit's near-duplicate
pairs with an exhaustive all-pairs rapidfuzz `cdist` (the quadratic baseline), timing both.
It also times the perceptual-hash band join on synthetic 64-bit hashes with planted near copies.

    python bench/audit.py [--rows 200000] [--row-images 20000] [--out /tmp/radvqa-bench-audit]
    python bench/audit.py --two-million          # 2,000,000 rows over 200,000 images

The quality figures of docs/audit.md (need ../shared/data or RADVQA_SHARED_DATA):

    python bench/audit.py --crops 200 [--crops-baseline DIR]  # planted crops (DIR: other checkout)
    python bench/audit.py --boilerplate-stats [TABLE...]      # long answers on real QA tables
    python bench/audit.py --paraphrases SHARDS                # entity-aware paraphrases
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from radvqa_data.audit.terms import same_terms

FINDINGS = (
    "lesion mass nodule cyst fracture effusion hemorrhage infarct edema calcification abscess tumor"
).split()
PLACES = "left right upper lower anterior posterior medial lateral".split()
ORGANS = "lung liver kidney brain spleen pancreas bladder heart colon femur spine thyroid".split()
TEMPLATES = [
    "Is there a {f} in the {p} {o}?",
    "What is the size of the {f} seen in the {p} {o} on image {n}?",
    "Which side of the {o} shows the {f} near landmark {n}?",
    "Does the {p} {o} show signs of {f} at level {n}?",
    "How many {f} lesions are visible in the {p} {o} region {n}?",
]


def paraphrase(q: str, rng: np.random.Generator) -> str:
    """A near-duplicate: one small edit that keeps rapidfuzz similarity high."""
    w = q.rstrip("?").split()
    kind = rng.integers(3)
    if kind == 0:  # swap two neighbouring words
        i = int(rng.integers(len(w) - 1))
        w[i], w[i + 1] = w[i + 1], w[i]
    elif kind == 1:  # one typo
        i = int(rng.integers(len(w)))
        if len(w[i]) > 3:
            j = int(rng.integers(1, len(w[i]) - 1))
            w[i] = w[i][:j] + w[i][j + 1 :]
        else:
            w[i] = w[i] + "s"
    else:  # an added filler word
        w.insert(int(rng.integers(1, len(w))), "clearly")
    return " ".join(w) + "?"


def generate(
    n_rows: int, n_images: int, seed: int = 0
) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """Rows and the planted pairs (row id, row id, kind)."""
    rng = np.random.default_rng(seed)
    per = n_rows // n_images
    n_plant = n_rows // 100  # 1% exact duplicates + 1% paraphrases
    base = n_rows - 2 * n_plant
    img = np.arange(base) % n_images
    t = rng.integers(len(TEMPLATES), size=base)
    f, p, o = (
        rng.integers(len(FINDINGS), size=base),
        rng.integers(len(PLACES), size=base),
        rng.integers(len(ORGANS), size=base),
    )
    nn = rng.integers(1000, size=base)
    qs = [
        TEMPLATES[t[i]].format(f=FINDINGS[f[i]], p=PLACES[p[i]], o=ORGANS[o[i]], n=nn[i])
        for i in range(base)
    ]
    ans = [str(x) for x in rng.integers(50, size=base)]
    split = np.where(img % 10 == 0, "test", "train")
    ids = [f"q{i}" for i in range(base)]
    rows = {
        "id": ids,
        "image_id": [f"img{i}" for i in img],
        "case_id": [f"case{i}" for i in img],
        "split": split.tolist(),
        "question": qs,
        "answer": ans,
    }
    planted = []
    src = rng.choice(base, size=2 * n_plant, replace=False)
    extra = {k: [] for k in rows}
    for k, s in enumerate(src):
        kind = "exact" if k < n_plant else "paraphrase"
        q = qs[s]
        q2 = (
            (q.upper() if k % 2 else q.rstrip("?") + " ?")
            if kind == "exact"
            else paraphrase(q, rng)
        )
        rid = f"p{k}"
        for col, v in (
            ("id", rid),
            ("image_id", rows["image_id"][s]),
            ("case_id", rows["case_id"][s]),
            ("split", rows["split"][s]),
            ("question", q2),
            ("answer", ans[s]),
        ):
            extra[col].append(v)
        planted.append((ids[s], rid, kind))
    df = pl.concat([pl.DataFrame(rows), pl.DataFrame(extra)]).with_columns(
        pl.lit("synthetic").alias("source")
    )
    del per
    return df, planted


def audit_child(path: Path, out: Path) -> dict:
    """Run the audit in a child process: wall time, peak RSS and the findings."""
    code = f"""
import json, time, resource
from pathlib import Path
from radvqa_data.audit.run import AuditOptions, run_audit
t = time.perf_counter()
res = run_audit(AuditOptions(inputs=[Path({str(path)!r})], progress=False))
secs = time.perf_counter() - t
pairs = [(f.kind, f.a.row_id, f.b.row_id, f.a.image_id, f.a.text, f.b.text) for f in res.findings]
json.dump({{"secs": secs, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "pairs": pairs, "phases": res.seconds}}, open({str(out)!r}, "w"))
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    return json.loads(out.read_text())


def planted_recall(planted: list[tuple[str, str, str]], pairs: list) -> dict[str, float]:
    """Share of planted pairs whose two rows are linked by the audit's findings (union-find).

    `planted` holds only pairs that meet the definition (paraphrases scoring >= the threshold)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for kind, a, b, *_ in pairs:
        if kind in ("qa_duplicate", "qa_near_duplicate"):
            parent[find(a)] = find(b)
    out = {}
    for kind in ("exact", "paraphrase"):
        ps = [(a, b) for a, b, k in planted if k == kind]
        out[kind] = sum(find(a) == find(b) for a, b in ps) / max(1, len(ps))
    return out


def exhaustive_subset(df: pl.DataFrame, threshold: float) -> tuple[set, float]:
    """All-pairs rapidfuzz cdist on the subset: (image, text, text) near pairs with equal
    answers."""
    from rapidfuzz import fuzz, process

    from radvqa_data.audit.normalize import normalize_many

    q = normalize_many(df["question"].to_list())
    t = time.perf_counter()
    m = np.maximum(
        process.cdist(q, q, scorer=fuzz.ratio, workers=-1, dtype=np.float32),
        process.cdist(q, q, scorer=fuzz.token_sort_ratio, workers=-1, dtype=np.float32),
    )
    secs = time.perf_counter() - t
    img, ans = df["image_id"].to_list(), normalize_many(df["answer"].to_list())
    want = set()
    for i, j in zip(*np.nonzero(m >= threshold), strict=False):
        same = img[i] == img[j] and ans[i] == ans[j] and q[i] != q[j]
        if i < j and same and same_terms(q[i], q[j]):
            want.add((img[i], *sorted((q[i], q[j]))))
    return want, secs


def exhaustive_global(df: pl.DataFrame, threshold: float) -> tuple[set, float]:
    """All-pairs over the subset's distinct questions, ignoring images: near pairs sharing an
    answer."""
    from rapidfuzz import fuzz, process

    from radvqa_data.audit.normalize import normalize_many

    q = normalize_many(df["question"].to_list())
    a = normalize_many(df["answer"].to_list())
    answers: dict[str, set[str]] = {}
    for qi, ai in zip(q, a, strict=True):
        answers.setdefault(qi, set()).add(ai)
    texts = sorted(answers)
    t = time.perf_counter()
    m = np.maximum(
        process.cdist(texts, texts, scorer=fuzz.ratio, workers=-1, dtype=np.float32),
        process.cdist(texts, texts, scorer=fuzz.token_sort_ratio, workers=-1, dtype=np.float32),
    )
    secs = time.perf_counter() - t
    want = {
        (texts[i], texts[j])
        for i, j in zip(*np.nonzero(m >= threshold), strict=True)
        if i < j and answers[texts[i]] & answers[texts[j]] and same_terms(texts[i], texts[j])
    }
    return want, secs


def phash_bench(n: int, planted: int, seed: int = 1) -> dict:
    """Band join on synthetic 64-bit hashes: planted copies with <= 7 flipped bits must be found."""
    from radvqa_data.audit.images import CandidateConfig, phash_candidates

    rng = np.random.default_rng(seed)
    h = rng.integers(0, 1 << 63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, size=n, dtype=np.uint64
    )
    src = rng.choice(n, size=planted, replace=False)
    copies = h[src].copy()
    for k in range(planted):
        for bit in rng.choice(64, size=int(rng.integers(0, 8)), replace=False):
            copies[k] ^= np.uint64(1) << np.uint64(int(bit))
    allh = np.concatenate([h, copies])
    df = pl.DataFrame(
        {"phash": allh, "sha256": [None] * len(allh)},
        schema={"phash": pl.UInt64, "sha256": pl.String},
    )
    t = time.perf_counter()
    c = phash_candidates(df, df, CandidateConfig(max_hamming=7), same_table=True)
    secs = time.perf_counter() - t
    got = set(map(tuple, c.select("li", "ri").rows()))
    found = sum((int(s), n + k) in got for k, s in enumerate(src))
    return {
        "images": len(allh),
        "planted": planted,
        "recall": found / planted,
        "secs": secs,
        "candidates": c.height,
    }


def crops_bench(n: int, out: Path, code: Path | None = None) -> None:
    """Planted crops among the shared MedPix 2.0 + VQA-RAD images (what the slow test asserts):
    recall, decoys matched, wrong matches, seconds per image. `code`: run another checkout's
    audit on the same planted set (e.g. `git archive main` unpacked), the before figure."""
    import os

    from radvqa_data.audit.planted import measure_crops, plant_set, series_neighbours, series_of

    root = Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data"))
    medpix = sorted((root / "medpix2" / "images").glob("*.png"))
    vqarad = sorted((root / "vqa-rad" / "VQA_RAD Image Folder").glob("*.jpg"))
    cands = series_neighbours(series_of(medpix))
    pairs = [cands[i] for i in np.random.default_rng(0).permutation(len(cands))[:n]]
    ps = plant_set(pairs, out / "planted", seed=0)
    used = {p for pair in pairs for p in pair}
    bg_a, bg_p = [str(p) for p in medpix if str(p) not in used], [str(p) for p in vqarad]
    specs = ps.specs
    print(
        f"planted {len(pairs)} pairs (crop area {min(sp.area for sp in specs):.2f}-"
        f"{max(sp.area for sp in specs):.2f}, rescale {min(sp.scale for sp in specs):.2f}-"
        f"{max(sp.scale for sp in specs):.2f}x, overlays on the copy / original / both "
        f"{sum(sp.overlay == 'copy' for sp in specs)} / "
        f"{sum(sp.overlay == 'original' for sp in specs)} / "
        f"{sum(sp.overlay == 'both' for sp in specs)}, rulers {sum(sp.ruler for sp in specs)}) "
        f"+ {len(pairs)} decoys, "
        f"background {len(bg_a)} MedPix + {len(bg_p)} VQA-RAD images"
    )
    runs = [("this checkout", None)] + ([("other checkout", code)] if code else [])
    for name, path in runs:
        if path is None:
            sc = measure_crops(ps, bg_a, bg_p)
            vals = (sc.recall, sc.decoys, sc.others, sc.wrong, sc.seconds, sc.images)
        else:  # the same measurement with the other checkout's audit, in a child process
            script = (
                "import json,sys,pickle;from radvqa_data.audit.planted import measure_crops;"
                "ps,a,b=pickle.load(open(sys.argv[1],'rb'));sc=measure_crops(ps,a,b);"
                "print(json.dumps([sc.recall,sc.decoys,sc.others,sc.wrong,sc.seconds,sc.images]))"
            )
            import pickle

            blob = out / "planted.pkl"
            blob.write_bytes(pickle.dumps((ps, bg_a, bg_p)))
            # run from that checkout: the working folder comes first on sys.path
            env = {**os.environ, "PYTHONPATH": str(path)}
            res = subprocess.run(
                [sys.executable, "-c", script, str(blob)],
                env=env,
                cwd=str(path),
                capture_output=True,
                text=True,
                check=True,
            )
            vals = tuple(json.loads(res.stdout.strip().splitlines()[-1]))
        recall, decoys, others, wrong, secs, images = vals
        print(
            f"{name}: recall {recall:.3f}, decoys matched {decoys}, other matches {others} "
            f"(wrong {wrong}), precision {1 - wrong / max(1, recall * len(pairs) + others):.3f}; "
            f"{secs:.0f} s for {images} images "
            f"({1000 * secs / images:.0f} ms per image)"
        )


def _prefix_catalog(all_cat: Path, out: Path, n: int) -> Path:
    """A catalog of the first `n` bench images (rows copied from the catalog of all of them,
    no descriptor cache: every run pays its own descriptor pass)."""
    import duckdb

    from radvqa_data.core import db

    out.unlink(missing_ok=True)
    with db.connect(out) as con:
        con.execute(f"ATTACH '{all_cat}' AS src (READ_ONLY)")
        con.execute("INSERT INTO sources SELECT * FROM src.sources")
        # ids are the files' names under the folder ("000123.png"): the number decides (a
        # string bound such as "images/002500" let every image through, so each size audited
        # all 20,000)
        con.execute(
            "INSERT INTO images SELECT * FROM src.images WHERE CAST(regexp_extract("
            "image_id, '(\\d+)\\.[A-Za-z]+$', 1) AS INTEGER) < ? ORDER BY image_id",
            [n],
        )
        got = con.execute("SELECT count(*) FROM images").fetchone()[0]
        if got != n:
            raise SystemExit(f"{out}: {got} images for a prefix of {n}: image ids not as expected")
        con.execute("DETACH src")
    del duckdb
    return out


def _images_child(catalog: Path, out: Path, code: Path | None, executor: str = "local") -> dict:
    """`image_same_picture` over a catalog in a child process (wall time, peak RSS, pairs);
    `code`: another checkout to run instead of this one (the old method)."""
    import os

    prog = f"""
import json, time, resource
from pathlib import Path
from radvqa_data.audit.run import AuditOptions, run_audit
kw = {{"executor": {executor!r}}} if {executor!r} != "local" else {{}}
t = time.perf_counter()
only = frozenset({{"image_same_picture"}})
res = run_audit(AuditOptions(catalog=Path({str(catalog)!r}), only=only, progress=False, **kw))
secs = time.perf_counter() - t
pairs = [(f.a.image_id, f.b.image_id, f.method, f.score) for f in res.findings
         if f.kind == "image_same_picture"]
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
json.dump({{"secs": secs, "cpu": cpu, "peak_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024,
           "pairs": pairs, "phases": res.seconds, "images": res.n_images}}, open({str(out)!r}, "w"))
"""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    subprocess.run([sys.executable, "-c", prog], check=True, env=env, cwd=code or None)
    return json.loads(out.read_text())


#: copies whose longest side is under this many pixels are counted apart: the bench's pictures
#: are 160-320 px, so a 0.5x copy of a 50% crop is ~60-150 px with the planting's 9-px minimum
#: text over a quarter of it (the verifier misses most of those, docs/audit.md)
SMALL_COPY = 150


#: share of one bench image's area that must show the other's picture region for a match to
#: count as right: the audit's template is an image's central 80% (64% of its area), found
#: inside the other
RELATED = 0.6


def _same_pictures(audit_json: Path | None) -> dict[str, str]:
    """Real pictures that are one picture under two numbers, from a real audit's `audit.json`
    (its `image_same_picture` and `benchmark_image` findings): picture -> representative, so
    that bench images made from both count as related (`audit_images.shared_fraction`)."""
    if audit_json is None:
        return {}
    from audit_images import _picture

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for f in json.loads(Path(audit_json).read_text())["findings"]:
        if f["kind"] in ("image_same_picture", "benchmark_image"):
            a, b = find(_picture(f["a"]["image_id"])), find(_picture(f["b"]["image_id"]))
            parent[a] = b
    return {k: find(k) for k in parent}


def _score_images(
    truth: dict, pairs: list, n: int, images: Path | None = None, same: dict | None = None
) -> dict:
    """Recall of planted copies, decoys matched, other matches, for the first `n` images;
    with `images` (the folder), also the recall of copies under / from `SMALL_COPY` px.

    Other matches are judged by the images' provenance (`audit_images.shared_fraction`): right
    when >= `RELATED` of one image's area is a view of the same real picture region as the
    other, in the same orientation, else wrong ("partial": they share a patch, e.g. two composites
    with crops of one real picture; "unrelated": no shared picture region at all). Wrong
    matches are errors beside the decoys. `same`: `_same_pictures` (without it, bench images
    made from one real picture under two numbers count as wrong)."""
    from audit_images import shared_fraction

    found = {frozenset((a.split("/")[-1], b.split("/")[-1])) for a, b, *_ in pairs}
    planted = truth["planted"][: n // truth["block"]]
    hits = sum(frozenset((p["original"], p["copy"])) in found for p in planted)
    by_size = ""
    if images is not None:
        from PIL import Image

        small = {
            p["copy"] for p in planted if max(Image.open(images / p["copy"]).size) < SMALL_COPY
        }
        parts = []
        for name, sel in (
            (f"< {SMALL_COPY} px", [p for p in planted if p["copy"] in small]),
            (f">= {SMALL_COPY} px", [p for p in planted if p["copy"] not in small]),
        ):
            got = sum(frozenset((p["original"], p["copy"])) in found for p in sel)
            parts.append(f"copies {name}: {got}/{len(sel)}")
        by_size = ", ".join(parts)
    decoy = {frozenset((p["decoy"], p[k])) for p in planted for k in ("original", "copy")}
    truth_pairs = {frozenset((p["original"], p["copy"])) for p in planted}
    others = found - decoy - truth_pairs
    prov = truth.get("provenance")
    kinds: dict[str, list[tuple[str, str]]] = {"right": [], "partial": [], "unrelated": []}
    if prov is not None:
        for k in sorted(others, key=sorted):
            a, b = sorted(k)
            fa, fb = shared_fraction(prov[a], prov[b], same)
            share = max(fa, fb)
            kind = "right" if share >= RELATED else "partial" if share > 0 else "unrelated"
            kinds[kind].append((a, b))
    return {
        "planted": len(planted),
        "recall": hits / max(1, len(planted)),
        "decoys": len(found & decoy),
        "others": len(others),
        "right": len(kinds["right"]) if prov is not None else None,
        "wrong": kinds["partial"] + kinds["unrelated"] if prov is not None else None,
        "partial": len(kinds["partial"]),
        "by_size": by_size,
    }


def _contact_sheet(images: Path, pairs: list[tuple[str, str]], out: Path, rows: int = 8) -> None:
    """The first `rows` pairs side by side (160-px thumbnails, names), to look at by eye."""
    from PIL import Image, ImageDraw

    pairs = pairs[:rows]
    if not pairs:
        return
    sheet = Image.new("L", (560, 180 * len(pairs)), 0)
    draw = ImageDraw.Draw(sheet)
    for i, (a, b) in enumerate(pairs):
        for j, name in enumerate((a, b)):
            with Image.open(images / name) as im:
                g = im.convert("L")
                g.thumbnail((170, 170))
                sheet.paste(g, (j * 190, i * 180))
        draw.text((390, i * 180 + 20), f"{a}\n{b}", fill=255)
    sheet.save(out)


def images_rescore(sizes: list[int], cache: Path, same_json: Path | None) -> None:
    """The rows of an earlier `--images` run (its `bench_N.json` in the cache) scored again,
    e.g. with the real data's same pictures (`--same-pictures`); no audit is run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    truth = json.loads((cache / "truth.json").read_text())
    same = _same_pictures(same_json)
    print("| images | recall | decoys | other matches (right / wrong) | errors (decoys + wrong) |")
    print("|---|---|---|---|---|")
    for n in sizes:
        r = json.loads((cache / f"bench_{n}.json").read_text())
        sc = _score_images(truth, r["pairs"], n, cache / "images", same)
        print(
            f"| {n:,} | {sc['recall']:.3f} ({sc['planted']}) | {sc['decoys']} | {sc['others']} "
            f"({sc['right']} / {len(sc['wrong'])}) | {sc['decoys'] + len(sc['wrong'])} |"
        )
        print(f"    recall by copy size: {sc['by_size']}")
        if sc["wrong"]:
            sheet = cache / f"wrong_{n}_rescored.png"
            _contact_sheet(cache / "images", sc["wrong"], sheet)
            print(f"    wrong: {sc['wrong'][:12]}; contact sheet {sheet}")


def _text_variant(
    shared: Path, cache: Path, n: int, min_text: int, pictures: int | None = None
) -> Path:
    """A bench folder whose planted trios carry overlay text of at least `min_text` px
    (`planted.overlay`), every other image a link to `cache`'s: `cache/text{min_text}`."""
    from audit_images import generate

    out = cache / f"text{min_text}"
    if (out / "truth.json").exists():
        return out
    tmp = cache / f"text{min_text}.tmp"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    generate(shared, tmp, n, planted_only=True, min_text=min_text, pictures=pictures)
    have = {p.name for p in (tmp / "images").iterdir()}
    for p in (cache / "images").iterdir():
        if p.name not in have:
            (tmp / "images" / p.name).symlink_to(p.resolve())
    tmp.rename(out)
    return out


def _machine() -> str:
    """The CPU as this run found it: model, cores, the widest SIMD numpy dispatches to. One
    commit took twice the CPU on another day's 2-core machine (docs/audit.md, "Tenth round";
    what the earlier machine had was not recorded): figures from two machines do not compare."""
    import os
    import platform

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # another numpy layout: say so rather than guess
        feats = {}
    simd = [k for k in ("AVX512F", "AVX2", "AVX", "SSE42") if feats.get(k)]
    return f"{model}, {os.cpu_count()} cores, SIMD {simd[0] if simd else 'unknown'}"


def images_bench(
    sizes: list[int],
    cache: Path,
    code: Path | None,
    baseline_at: int,
    executor: str,
    same_json: Path | None = None,
    min_text: int | None = None,
    pictures: int | None = None,
    bracket: bool = True,
) -> None:
    """The image checks at scale: generated pictures (bench/audit_images.py) with 1% planted
    copies and as many neighbouring-slice decoys, `image_same_picture` at each size.
    `min_text`: the planted overlays' least text height in px (`planted.MIN_TEXT` when None).
    `pictures`: build the images from that many real images (`audit_images.generate`), in
    `cache/pictures{K}`: the growth control (each real image reused as often as at a larger N).
    `bracket`: time the smallest size again after the largest; the growth is then the largest
    size's per-image time over the mean of the smallest's two (each ratio is printed too)."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from audit_images import generate

    from radvqa_data.audit.planted import MIN_TEXT
    from radvqa_data.catalog.ingest import add_source

    shared = Path(os.environ.get("RADVQA_SHARED_DATA", Path(__file__).parents[2] / "shared/data"))
    if pictures is not None:
        cache = cache / f"pictures{pictures}"
    truth = generate(shared, cache, max(sizes), pictures=pictures)
    if min_text is not None and min_text != MIN_TEXT:
        cache = _text_variant(shared, cache, truth["n"], min_text, pictures)
        truth = json.loads((cache / "truth.json").read_text())
    print(f"bench folder {cache}, overlay text >= {min_text or MIN_TEXT} px")
    same = _same_pictures(same_json)
    all_cat = cache / "all.duckdb"
    if not all_cat.exists():
        add_source(all_cat.with_suffix(".tmp"), "folder", cache / "images", progress=False)
        all_cat.with_suffix(".tmp").rename(all_cat)
    load = os.getloadavg()
    print(f"machine load at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"machine: {_machine()}")
    print(
        "| images | method | wall ms/image | CPU ms/image | wall s | peak RSS MB | recall | decoys "
        "| other matches (right / wrong) | errors (decoys + wrong) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    # the smallest size again after the largest (`bracket`): a 30-s run and a 5-min run meet
    # the machine at different moments, and its speed drifts by more than the growth measured
    # (docs/audit.md, "Tenth round"); growth is then taken against the mean of the two
    again = [(min(sizes), None)] if bracket and len(sizes) > 1 else []
    runs = [(n, None) for n in sizes] + again + ([(baseline_at, code)] if code else [])
    per_image: dict[int, list[tuple[float, float]]] = {}  # this version: (wall, CPU) per image
    for n, c in runs:
        tag = f"{n}_again" if c is None and n in per_image else str(n)
        cat = _prefix_catalog(all_cat, cache / f"bench_{tag}.duckdb", n)
        r = _images_child(cat, cache / f"bench_{tag}.json", c, executor)
        sc = _score_images(truth, r["pairs"], n, cache / "images", same)
        print(
            f"| {r['images']:,} | {'old (' + str(c) + ')' if c else 'this version'} | "
            f"{1000 * r['secs'] / r['images']:.1f} | {1000 * r['cpu'] / r['images']:.1f} | "
            f"{r['secs']:.0f} | {r['peak_mb']:.0f} | "
            f"{sc['recall']:.3f} ({sc['planted']}) | {sc['decoys']} | {sc['others']} "
            f"({sc['right']} / {len(sc['wrong'])}) | {sc['decoys'] + len(sc['wrong'])} |",
            flush=True,
        )
        print(f"    recall by copy size: {sc['by_size']}", flush=True)
        if sc["wrong"]:
            sheet = cache / f"wrong_{n}{'_old' if c else ''}.png"
            _contact_sheet(cache / "images", sc["wrong"], sheet)
            print(
                f"    wrong matches: {len(sc['wrong'])} ({sc['partial']} share a patch), "
                f"first ones: {sc['wrong'][:4]}; contact sheet {sheet}",
                flush=True,
            )
        print(f"    phases: {r['phases']}; load now {os.getloadavg()[0]:.2f}", flush=True)
        if c is None:
            per_image.setdefault(n, []).append((r["secs"] / r["images"], r["cpu"] / r["images"]))
    if len(per_image) > 1:
        print(_growth_line(per_image))


def _growth_line(per_image: dict[int, list[tuple[float, float]]]) -> str:
    """The growth from the smallest size to the largest: the largest's per-image (wall, CPU)
    over the mean of the smallest's runs (two when bracketed, each ratio shown too)."""
    lo, hi = min(per_image), max(per_image)
    wall, cpu = (
        np.mean([t[k] for t in per_image[hi]]) / np.mean([t[k] for t in per_image[lo]])
        for k in (0, 1)
    )
    each = ""
    if len(per_image[lo]) > 1:
        ratios = ", ".join(f"x{per_image[hi][0][0] / t[0]:.3f}" for t in per_image[lo])
        each = f" (against each {lo:,} run, before and after: {ratios})"
    return (
        f"growth {lo:,} -> {hi:,} images: per-image wall x{wall:.3f}, per-image CPU "
        f"x{cpu:.3f} (target <= 1.3){each}"
    )


def boilerplate_stats(tables: list[Path]) -> None:
    """How far legitimate long answers recur on real QA tables (the qa_boilerplate defaults)."""
    import os

    from radvqa_data.audit.boilerplate import BoilerplateConfig, _label_questions, boilerplate
    from radvqa_data.audit.inputs import to_canonical
    from radvqa_data.audit.qa_checks import prepare

    root = Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data"))
    cfg = BoilerplateConfig()

    def report(name: str, df: pl.DataFrame) -> None:
        r = to_canonical(df, {}, origin=name).with_row_index("__k")
        r = prepare(r.with_columns(pl.col("__k").cast(pl.Int64)))
        long = r.filter(pl.col("__na").str.count_matches(" ") >= cfg.min_words - 1)
        labels = _label_questions(r, cfg)
        case = pl.coalesce("__case_id", "__image_id")
        g = (
            long.filter(~pl.col("__nq").is_in(list(labels)))
            .with_columns(case.alias("c"))
            .group_by("__na")
            .agg(pl.col("c").n_unique().alias("n"))
            .sort("n", descending=True)
        )
        flagged = sorted(
            {(f.extra["answer"], f.extra["cases"]) for f in boilerplate(r, cfg)},
            key=lambda t: -t[1],
        )
        print(
            f"{name}: {r.height:,} rows, {long.height:,} answers of >= {cfg.min_words} words, "
            f"{len(labels)} label questions; most cases of one long answer outside them: "
            f"{g['n'][0] if g.height else 0}; "
            f"flagged at the defaults: {len(flagged)} groups"
        )
        for a, n in flagged[:8]:
            print(f"    {n:3d} cases  {a[:90]}")

    vq = json.loads((root / "vqa-rad" / "VQA_RAD Dataset Public.json").read_text())
    report(
        "VQA-RAD (images)",
        pl.DataFrame(
            [
                {
                    "image": x["image_name"],
                    "question": x["question"],
                    "answer": str(x["answer"]),
                    "split": x["phrase_type"],
                }
                for x in vq
            ]
        ),
    )
    sl = [
        {
            "image": str(x["img_id"]),
            "question": x["question"],
            "answer": str(x["answer"]),
            "split": s,
        }
        for s in ("train", "validate", "test")
        for x in json.loads((root / "slake" / f"{s}.json").read_text())
        if x["q_lang"] == "en"
    ]
    report("SLAKE English (images)", pl.DataFrame(sl))
    from radvqa_data.audit.peer_table import peer_table

    df, _ = peer_table(root / "medpix2", planted_answers={})  # the real table alone
    report("MedPix 2.0 in the peer layout (cases), nothing planted", df.drop("qid"))
    from radvqa_data.audit.inputs import read_table

    for t in tables:
        report(f"{t} (cases)", read_table(t))


def paraphrase_counts(table: Path) -> None:
    """qa_near_duplicate pairs with text similarity alone vs entity-aware, on a QA table (our rules
    output), and on VQA-RAD whose `question_rephrase` marks human rephrasings."""
    import os
    from dataclasses import replace

    from radvqa_data.audit.neardup import NearDupConfig
    from radvqa_data.audit.normalize import normalize_text
    from radvqa_data.audit.run import AuditOptions, run_audit

    def pairs(path: Path, thr: float, terms: bool) -> dict:
        cfg = replace(NearDupConfig(), threshold=thr, terms=terms)
        r = run_audit(
            AuditOptions(
                inputs=[path], only=frozenset({"qa_near_duplicate"}), progress=False, text=cfg
            )
        )
        return {
            (
                f.a.image_id,
                frozenset(
                    {
                        normalize_text(f.a.text.split(" -> ")[0]),
                        normalize_text(f.b.text.split(" -> ")[0]),
                    }
                ),
            ): f
            for f in r.findings
        }

    for thr in (90, 85, 80, 75, 70):
        a, b = pairs(table, thr, False), pairs(table, thr, True)
        print(
            f"{table} threshold {thr}: text alone {len(a)} pairs, entity-aware {len(b)} "
            f"(removed {len(a) - len(b)})"
        )
    root = Path(os.environ.get("RADVQA_SHARED_DATA", "../shared/data"))
    vq = json.loads((root / "vqa-rad" / "VQA_RAD Dataset Public.json").read_text())
    labelled = {
        (
            x["image_name"],
            frozenset({normalize_text(x["question"]), normalize_text(str(x["question_rephrase"]))}),
        )
        for x in vq
        if str(x.get("question_rephrase") or "").strip() not in ("", "NULL")
    }
    path = Path("/tmp/radvqa-bench-vqarad-qa.parquet")
    pl.DataFrame(
        [
            {
                "id": str(i),
                "image_id": x["image_name"],
                "question": x["question"],
                "answer": str(x["answer"]).strip(),
                "split": x["phrase_type"],
            }
            for i, x in enumerate(vq)
        ]
    ).write_parquet(path)
    for thr in (90, 80):
        a, b = pairs(path, thr, False), pairs(path, thr, True)
        print(
            f"VQA-RAD threshold {thr}: text alone {len(a)} pairs "
            f"({len(a.keys() & labelled)} marked rephrasings), "
            f"entity-aware {len(b)} ({len(b.keys() & labelled)} marked rephrasings)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument(
        "--row-images", type=int, default=20_000, help="images the synthetic QA rows are about"
    )
    ap.add_argument(
        "--two-million",
        action="store_true",
        help="2,000,000 rows over 200,000 images (aim: < 60 s, < 8 GB, recall >= 0.99)",
    )
    ap.add_argument("--subset", type=int, default=5_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/radvqa-bench-audit"))
    ap.add_argument(
        "--crops",
        type=int,
        metavar="N",
        help="only: N planted crops among the shared images (recall, cost per image)",
    )
    ap.add_argument(
        "--crops-baseline",
        type=Path,
        metavar="DIR",
        help="with --crops: also audit the same planted set with the checkout in DIR",
    )
    ap.add_argument(
        "--boilerplate-stats",
        nargs="*",
        type=Path,
        metavar="TABLE",
        help="only: long answers on the real QA tables (and on each TABLE)",
    )
    ap.add_argument(
        "--paraphrases",
        type=Path,
        metavar="TABLE",
        help="only: near-duplicate pairs, text alone vs entity-aware (TABLE, VQA-RAD)",
    )
    ap.add_argument(
        "--images",
        type=int,
        nargs="*",
        metavar="N",
        help="only: image checks at scale on N generated images (default 2500 5000 10000 20000)",
    )
    ap.add_argument("--images-cache", type=Path, default=Path("/tmp/radvqa-bench-images"))
    ap.add_argument(
        "--images-baseline",
        type=Path,
        metavar="DIR",
        help="with --images: also run the checkout in DIR (the old method) at --baseline-at",
    )
    ap.add_argument("--baseline-at", type=int, default=2500)
    ap.add_argument("--executor", default="local", help="with --images: local or ray")
    ap.add_argument(
        "--same-pictures",
        type=Path,
        metavar="AUDIT_JSON",
        help="with --images: a real audit's audit.json; its same pictures (one picture under two "
        "numbers) make bench images built from them related, not wrong matches",
    )
    ap.add_argument(
        "--min-text",
        type=int,
        metavar="PX",
        help="with --images: the planted overlays' least text height (default: planted.MIN_TEXT, "
        "9 px, made for 512-px pictures); the bench's copies are 60-640 px",
    )
    ap.add_argument(
        "--pictures",
        type=int,
        metavar="K",
        help="with --images: build the images from K of the real images only (the growth "
        "control: 2,500 images from 320 reuse each real image about as often as 20,000 "
        "from all 2,365); its own folder under --images-cache",
    )
    ap.add_argument(
        "--no-bracket",
        action="store_true",
        help="with --images: do not time the smallest size again after the largest (by default "
        "the growth is taken against the mean of the smallest size's two runs)",
    )
    ap.add_argument(
        "--images-rescore",
        action="store_true",
        help="with --images: score the cache's bench_N.json of an earlier run again (no audit)",
    )
    args = ap.parse_args()
    if args.images is not None:
        sizes = args.images or [2500, 5000, 10000, 20000]
        if args.images_rescore:
            return images_rescore(sizes, args.images_cache, args.same_pictures)
        return images_bench(
            sizes,
            args.images_cache,
            args.images_baseline,
            args.baseline_at,
            args.executor,
            args.same_pictures,
            args.min_text,
            args.pictures,
            not args.no_bracket,
        )
    if args.crops:
        args.out.mkdir(parents=True, exist_ok=True)
        return crops_bench(args.crops, args.out, args.crops_baseline)
    if args.boilerplate_stats is not None:
        return boilerplate_stats(args.boilerplate_stats)
    if args.paraphrases:
        return paraphrase_counts(args.paraphrases)
    if args.two_million:
        args.rows, args.row_images = 2_000_000, 200_000
    args.out.mkdir(parents=True, exist_ok=True)
    from radvqa_data.audit.neardup import NearDupConfig

    thr = NearDupConfig().threshold
    df, planted_all = generate(args.rows, args.row_images)
    from radvqa_data.audit.neardup import similarity
    from radvqa_data.audit.normalize import normalize_text

    qtext = dict(zip(df["id"].to_list(), df["question"].to_list(), strict=False))
    planted = [
        p
        for p in planted_all
        if p[2] == "exact"
        or (
            similarity(normalize_text(qtext[p[0]]), normalize_text(qtext[p[1]])) >= thr
            and same_terms(qtext[p[0]], qtext[p[1]])
        )
    ]
    print(
        f"planted: {len(planted_all)} pairs; "
        f"{len(planted_all) - len(planted)} paraphrases score below the "
        f"threshold {thr:.0f} or change a term by construction (not near duplicates by "
        "definition, left out of recall)"
    )
    full = args.out / "qa.parquet"
    df.write_parquet(full)
    r = audit_child(full, args.out / "full.json")
    rec = planted_recall(planted, r["pairs"])
    print(
        f"audit of {df.height:,} rows over {args.row_images:,} images: {r['secs']:.1f} s, "
        f"peak {r['peak_mb']:.0f} MB "
        f"(target < 60 s, < {8192 if args.two_million else 2048} MB); phases: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in r["phases"].items())
    )
    print(
        f"recall of planted pairs: exact {rec['exact']:.4f} "
        f"({sum(k == 'exact' for *_, k in planted)}), "
        f"paraphrase {rec['paraphrase']:.4f} "
        f"({sum(k == 'paraphrase' for *_, k in planted)}) (target >= 0.99)"
    )

    n_img = max(1, args.subset * args.row_images // args.rows)
    sub = df.filter(pl.col("image_id").is_in([f"img{i}" for i in range(n_img)]))
    subp = args.out / "subset.parquet"
    sub.write_parquet(subp)
    rs = audit_child(subp, args.out / "subset.json")
    got = {
        (img, *sorted((normalize_text(ta.split(" -> ")[0]), normalize_text(tb.split(" -> ")[0]))))
        for kind, _, _, img, ta, tb in rs["pairs"]
        if kind == "qa_near_duplicate"
    }
    want, base_secs = exhaustive_subset(sub, thr)
    recall = len(got & want) / max(1, len(want))
    print(
        f"subset {sub.height:,} rows: audit {rs['secs']:.2f} s vs exhaustive cdist "
        f"{base_secs:.2f} s (ratio {base_secs / max(rs['secs'], 1e-9):.2f}x); "
        f"near-duplicate recall vs exhaustive {recall:.4f} "
        f"({len(got & want)}/{len(want)}), audit-only pairs {len(got - want)}"
    )
    # the quadratic baseline at full size, extrapolated from the subset (n^2)
    print(
        f"exhaustive cdist at {df.height:,} rows would take "
        f"~{base_secs * (df.height / sub.height) ** 2 / 60:.0f} min "
        f"(extrapolated n^2 from the subset) vs the audit's {r['secs']:.1f} s"
    )
    # the same subset without its image column: one scope, so the MinHash-LSH path does the work
    tonly = args.out / "subset_text_only.parquet"
    sub.drop("image_id").write_parquet(tonly)
    rt = audit_child(tonly, args.out / "subset_text_only.json")
    got_t = {
        tuple(sorted((normalize_text(ta.split(" -> ")[0]), normalize_text(tb.split(" -> ")[0]))))
        for kind, _, _, _, ta, tb in rt["pairs"]
        if kind == "qa_near_duplicate"
    }
    want_t, base_t = exhaustive_global(sub, thr)
    print(
        f"subset without image column (LSH over one scope): audit {rt['secs']:.2f} s vs "
        f"exhaustive cdist {base_t:.2f} s; "
        f"near-duplicate recall vs exhaustive {len(got_t & want_t) / max(1, len(want_t)):.4f} "
        f"({len(got_t & want_t)}/{len(want_t)}), audit-only pairs {len(got_t - want_t)}"
    )
    ph = phash_bench(args.row_images, args.row_images // 20)
    print(
        f"phash band join: {ph['images']:,} hashes, "
        f"{ph['planted']} planted copies (<= 7 bits flipped): "
        f"recall {ph['recall']:.4f}, {ph['candidates']:,} candidates, {ph['secs']:.2f} s"
    )


if __name__ == "__main__":
    main()
