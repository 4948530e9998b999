"""Scale benchmark of `radvqa-data audit` (text checks + image-hash candidates).

Generates a synthetic QA set (default 200,000 rows over 20,000 images) with planted exact
duplicates and paraphrases of known count, audits it in a child process (time, peak memory) and
reports recall of the planted pairs. On a 5,000-row subset it compares the audit's near-duplicate
pairs with an exhaustive all-pairs rapidfuzz `cdist` (the quadratic baseline), timing both.
It also times the perceptual-hash band join on synthetic 64-bit hashes with planted near copies.

    python bench/audit.py [--rows 200000] [--images 20000] [--out /tmp/radvqa-bench-audit]
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

FINDINGS = "lesion mass nodule cyst fracture effusion hemorrhage infarct edema calcification abscess tumor".split()
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


def generate(n_rows: int, n_images: int, seed: int = 0) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """Rows and the planted pairs (row id, row id, kind)."""
    rng = np.random.default_rng(seed)
    per = n_rows // n_images
    n_plant = n_rows // 100  # 1% exact duplicates + 1% paraphrases
    base = n_rows - 2 * n_plant
    img = np.arange(base) % n_images
    t = rng.integers(len(TEMPLATES), size=base)
    f, p, o = rng.integers(len(FINDINGS), size=base), rng.integers(len(PLACES), size=base), rng.integers(len(ORGANS), size=base)
    nn = rng.integers(1000, size=base)
    qs = [TEMPLATES[t[i]].format(f=FINDINGS[f[i]], p=PLACES[p[i]], o=ORGANS[o[i]], n=nn[i]) for i in range(base)]
    ans = [str(x) for x in rng.integers(50, size=base)]
    split = np.where(img % 10 == 0, "test", "train")
    ids = [f"q{i}" for i in range(base)]
    rows = {"id": ids, "image_id": [f"img{i}" for i in img], "case_id": [f"case{i}" for i in img],
            "split": split.tolist(), "question": qs, "answer": ans}
    planted = []
    src = rng.choice(base, size=2 * n_plant, replace=False)
    extra = {k: [] for k in rows}
    for k, s in enumerate(src):
        kind = "exact" if k < n_plant else "paraphrase"
        q = qs[s]
        q2 = (q.upper() if k % 2 else q.rstrip("?") + " ?") if kind == "exact" else paraphrase(q, rng)
        rid = f"p{k}"
        for col, v in (("id", rid), ("image_id", rows["image_id"][s]), ("case_id", rows["case_id"][s]),
                       ("split", rows["split"][s]), ("question", q2), ("answer", ans[s])):
            extra[col].append(v)
        planted.append((ids[s], rid, kind))
    df = pl.concat([pl.DataFrame(rows), pl.DataFrame(extra)]).with_columns(pl.lit("synthetic").alias("source"))
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
json.dump({{"secs": secs, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "pairs": pairs,
           "phases": res.seconds}}, open({str(out)!r}, "w"))
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
    """All-pairs rapidfuzz cdist on the subset: (image, text, text) near pairs with equal answers."""
    from rapidfuzz import fuzz, process

    from radvqa_data.audit.normalize import normalize_many

    q = normalize_many(df["question"].to_list())
    t = time.perf_counter()
    m = np.maximum(process.cdist(q, q, scorer=fuzz.ratio, workers=-1, dtype=np.float32),
                   process.cdist(q, q, scorer=fuzz.token_sort_ratio, workers=-1, dtype=np.float32))
    secs = time.perf_counter() - t
    img, ans = df["image_id"].to_list(), normalize_many(df["answer"].to_list())
    want = set()
    for i, j in zip(*np.nonzero(m >= threshold), strict=False):
        if i < j and img[i] == img[j] and ans[i] == ans[j] and q[i] != q[j]:
            want.add((img[i], *sorted((q[i], q[j]))))
    return want, secs


def exhaustive_global(df: pl.DataFrame, threshold: float) -> tuple[set, float]:
    """All-pairs over the subset's distinct questions, ignoring images: near pairs sharing an answer."""
    from rapidfuzz import fuzz, process

    from radvqa_data.audit.normalize import normalize_many

    q = normalize_many(df["question"].to_list())
    a = normalize_many(df["answer"].to_list())
    answers: dict[str, set[str]] = {}
    for qi, ai in zip(q, a, strict=True):
        answers.setdefault(qi, set()).add(ai)
    texts = sorted(answers)
    t = time.perf_counter()
    m = np.maximum(process.cdist(texts, texts, scorer=fuzz.ratio, workers=-1, dtype=np.float32),
                   process.cdist(texts, texts, scorer=fuzz.token_sort_ratio, workers=-1, dtype=np.float32))
    secs = time.perf_counter() - t
    want = {(texts[i], texts[j]) for i, j in zip(*np.nonzero(m >= threshold), strict=True)
            if i < j and answers[texts[i]] & answers[texts[j]]}
    return want, secs


def phash_bench(n: int, planted: int, seed: int = 1) -> dict:
    """Band join on synthetic 64-bit hashes: planted copies with <= 7 flipped bits must be found."""
    from radvqa_data.audit.images import CandidateConfig, phash_candidates

    rng = np.random.default_rng(seed)
    h = rng.integers(0, 1 << 63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=n, dtype=np.uint64)
    src = rng.choice(n, size=planted, replace=False)
    copies = h[src].copy()
    for k in range(planted):
        for bit in rng.choice(64, size=int(rng.integers(0, 8)), replace=False):
            copies[k] ^= np.uint64(1) << np.uint64(int(bit))
    allh = np.concatenate([h, copies])
    df = pl.DataFrame({"phash": allh, "sha256": [None] * len(allh)}, schema={"phash": pl.UInt64, "sha256": pl.String})
    t = time.perf_counter()
    c = phash_candidates(df, df, CandidateConfig(max_hamming=7), same_table=True)
    secs = time.perf_counter() - t
    got = set(map(tuple, c.select("li", "ri").rows()))
    found = sum((int(s), n + k) in got for k, s in enumerate(src))
    return {"images": len(allh), "planted": planted, "recall": found / planted, "secs": secs, "candidates": c.height}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--subset", type=int, default=5_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/radvqa-bench-audit"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from radvqa_data.audit.neardup import NearDupConfig

    thr = NearDupConfig().threshold
    df, planted_all = generate(args.rows, args.images)
    from radvqa_data.audit.neardup import similarity
    from radvqa_data.audit.normalize import normalize_text

    qtext = dict(zip(df["id"].to_list(), df["question"].to_list(), strict=False))
    planted = [p for p in planted_all if p[2] == "exact"
               or similarity(normalize_text(qtext[p[0]]), normalize_text(qtext[p[1]])) >= thr]
    print(f"planted: {len(planted_all)} pairs; {len(planted_all) - len(planted)} paraphrases score below the "
          f"threshold {thr:.0f} by construction (not near duplicates by definition, left out of recall)")
    full = args.out / "qa.parquet"
    df.write_parquet(full)
    r = audit_child(full, args.out / "full.json")
    rec = planted_recall(planted, r["pairs"])
    print(f"audit of {df.height:,} rows over {args.images:,} images: {r['secs']:.1f} s, peak {r['peak_mb']:.0f} MB "
          f"(target < 60 s, < 2048 MB); phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in r["phases"].items()))
    print(f"recall of planted pairs: exact {rec['exact']:.4f} ({sum(k == 'exact' for *_, k in planted)}), "
          f"paraphrase {rec['paraphrase']:.4f} ({sum(k == 'paraphrase' for *_, k in planted)}) (target >= 0.99)")

    n_img = max(1, args.subset * args.images // args.rows)
    sub = df.filter(pl.col("image_id").is_in([f"img{i}" for i in range(n_img)]))
    subp = args.out / "subset.parquet"
    sub.write_parquet(subp)
    rs = audit_child(subp, args.out / "subset.json")
    got = {(img, *sorted((normalize_text(ta.split(" -> ")[0]), normalize_text(tb.split(" -> ")[0]))))
           for kind, _, _, img, ta, tb in rs["pairs"] if kind == "qa_near_duplicate"}
    want, base_secs = exhaustive_subset(sub, thr)
    recall = len(got & want) / max(1, len(want))
    print(f"subset {sub.height:,} rows: audit {rs['secs']:.2f} s vs exhaustive cdist {base_secs:.2f} s "
          f"(ratio {base_secs / max(rs['secs'], 1e-9):.2f}x); near-duplicate recall vs exhaustive {recall:.4f} "
          f"({len(got & want)}/{len(want)}), audit-only pairs {len(got - want)}")
    # the quadratic baseline at full size, extrapolated from the subset (n^2)
    print(f"exhaustive cdist at {df.height:,} rows would take ~{base_secs * (df.height / sub.height) ** 2 / 60:.0f} min "
          f"(extrapolated n^2 from the subset) vs the audit's {r['secs']:.1f} s")
    # the same subset without its image column: one scope, so the MinHash-LSH path does the work
    tonly = args.out / "subset_text_only.parquet"
    sub.drop("image_id").write_parquet(tonly)
    rt = audit_child(tonly, args.out / "subset_text_only.json")
    got_t = {tuple(sorted((normalize_text(ta.split(" -> ")[0]), normalize_text(tb.split(" -> ")[0]))))
             for kind, _, _, _, ta, tb in rt["pairs"] if kind == "qa_near_duplicate"}
    want_t, base_t = exhaustive_global(sub, thr)
    print(f"subset without image column (LSH over one scope): audit {rt['secs']:.2f} s vs exhaustive cdist {base_t:.2f} s; "
          f"near-duplicate recall vs exhaustive {len(got_t & want_t) / max(1, len(want_t)):.4f} "
          f"({len(got_t & want_t)}/{len(want_t)}), audit-only pairs {len(got_t - want_t)}")
    ph = phash_bench(args.images, args.images // 20)
    print(f"phash band join: {ph['images']:,} hashes, {ph['planted']} planted copies (<= 7 bits flipped): "
          f"recall {ph['recall']:.4f}, {ph['candidates']:,} candidates, {ph['secs']:.2f} s")


if __name__ == "__main__":
    main()
