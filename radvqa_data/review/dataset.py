"""Review records -> a persistent FiftyOne dataset: one sample per image, one label per QA row.

Each sample carries the image's file, source, split, case, modality/plane/organ, their label
issue flags and audit notes, and `qa`: a `Classifications` field with one `Classification` per
QA row. Its `label` is "question -> answer" (what the app writes over the picture); the row's
columns are attributes (question, answer, question_type, ..., `row_id`, `audit`), so the app's
sidebar filters by type, answer, generator or flag.

A rerun updates the dataset in place: images whose record digest is unchanged are not touched,
new images are added in batches, changed ones are rewritten keeping the tags (verdicts) already
given to their rows and to the image, and images no longer in the data are deleted unless a
person tagged them (those stay, with `stale` set).
"""

from __future__ import annotations

from typing import Any

from radvqa_data.core.progress import progress_bar
from radvqa_data.review.fo import fiftyone
from radvqa_data.review.review_records import ReviewRecords


def _label(fo: Any, qa: dict) -> Any:
    return fo.Classification(label=f"{qa['question']} -> {qa['answer']}", **qa)


def to_sample(fo: Any, rec: dict) -> Any:
    """One FiftyOne sample for a review record (no tags yet)."""
    fields = {k: v for k, v in rec.items() if k not in ("qa", "filepath")}
    sample = fo.Sample(filepath=rec["filepath"], **fields, stale=False)
    sample["qa"] = fo.Classifications(classifications=[_label(fo, q) for q in rec["qa"]])
    return sample


def _merge(fo: Any, sample: Any, rec: dict) -> None:
    """Rewrite `sample` from `rec`, keeping what a person gave: tags and corrected answers."""
    old = {c.row_id: c for c in (sample.qa.classifications if sample.qa else [])}
    labels = []
    for q in rec["qa"]:
        lab = _label(fo, q)
        prev = old.get(q["row_id"])
        if prev is not None:
            lab.tags = list(prev.tags)
            # what a person added (corrected_answer, or any attribute of their own) stays
            for attr in prev.field_names:
                if not lab.has_field(attr) and prev[attr] is not None:
                    lab[attr] = prev[attr]
        labels.append(lab)
    for k, v in rec.items():
        if k not in ("qa", "filepath"):
            sample[k] = v
    sample.filepath = rec["filepath"]
    sample["stale"] = False
    sample["qa"] = fo.Classifications(classifications=labels)


#: List-of-text fields; declared up front, since an empty list tells FiftyOne no element type.
LIST_FIELDS = ("flags", "label_issues", "audit", "qa.classifications.audit")


def _declare_lists(fo: Any, ds: Any) -> None:
    """Declare the list fields (and `qa`, which holds one) on a dataset with no samples yet."""
    if not ds.has_sample_field("qa"):
        ds.add_sample_field("qa", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications)
    for path in LIST_FIELDS:
        if not ds.has_sample_field(path):
            ds.add_sample_field(path, fo.ListField, subfield=fo.StringField)


def open_dataset(name: str) -> Any:
    """The persistent dataset `name`, created empty when it does not exist."""
    fo = fiftyone()
    if fo.dataset_exists(name):
        return fo.load_dataset(name)
    ds = fo.Dataset(name)
    ds.persistent = True  # so `fiftyone app launch NAME` (another process) finds it
    return ds


def build_dataset(
    records: ReviewRecords, name: str, *, progress: bool = True, batch_size: int = 500
) -> dict[str, int]:
    """Create or update dataset `name` from `records`; returns what was added/updated/kept."""
    fo = fiftyone()
    ds = open_dataset(name)
    have: dict[str, tuple[str, str]] = {}
    if len(ds):
        keys, digests, ids = ds.values(["image_key", "digest", "id"])
        have = {k: (d, i) for k, d, i in zip(keys, digests, ids, strict=True)}
    want = {r["image_key"]: r for r in records.images}
    new = [r for k, r in want.items() if k not in have]
    changed = {k: r for k, r in want.items() if k in have and have[k][0] != r["digest"]}
    gone = [have[k][1] for k in have if k not in want]
    # FiftyOne's per-sample schema expansion and validation cost about a quarter of an insert
    # (bench/review.py): one sample declares the schema, the rest go in without them, and
    # `add_dynamic_sample_fields` then declares any attribute that sample did not have.
    if new and not len(ds):
        _declare_lists(fo, ds)
        ds.add_samples([to_sample(fo, new[0])], dynamic=True, progress=False)
        new_rest = new[1:]
    else:
        new_rest = new
    with progress_bar(f"review {name}", len(new_rest), "images", progress) as advance:
        for start in range(0, len(new_rest), batch_size):
            batch = [to_sample(fo, r) for r in new_rest[start : start + batch_size]]
            ds.add_samples(batch, expand_schema=False, validate=False, progress=False)
            advance(len(batch))
    if new:
        ds.add_dynamic_sample_fields()
    if changed:
        view = ds.select([have[k][1] for k in changed])
        for sample in view.iter_samples(autosave=True, progress=False):
            _merge(fo, sample, changed[sample.image_key])
        ds.add_dynamic_sample_fields()
    stale = 0
    if gone:
        ids, tags, label_tags = ds.select(gone).values(["id", "tags", "qa.classifications.tags"])
        tagged = [i for i, t, lt in zip(ids, tags, label_tags, strict=True) if t or any(lt or [])]
        ds.delete_samples([i for i in gone if i not in set(tagged)])
        if tagged:
            ds.select(tagged).set_values("stale", [True] * len(tagged))
        stale = len(tagged)
    ds.info.update(radvqa_rows=records.rows, radvqa_images=len(records.images))
    ds.save()
    return {
        "images": len(ds),
        "added": len(new),
        "updated": len(changed),
        "unchanged": len(want) - len(new) - len(changed),
        "removed": len(gone) - stale,
        "stale": stale,
        "labels": sum(len(r["qa"]) for r in records.images),
    }


def build_naive(records: ReviewRecords, name: str) -> Any:
    """The baseline for bench/review.py: one `add_sample` per image into a fresh dataset."""
    fo = fiftyone()
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    ds = fo.Dataset(name)
    for r in records.images:
        ds.add_sample(to_sample(fo, r), dynamic=True)
    return ds
