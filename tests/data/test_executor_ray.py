"""`--executor ray` on a real local Ray cluster: the same rows as `local`, and faults cost no row.

Every comparison is between the two executors running the same code on the same input (never
hard-coded counts), order-insensitive: shards and batches may come back in any order.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radvqa_data.catalog.ingest import add_source
from radvqa_data.cli import app
from radvqa_data.entities.run import run_entities
from radvqa_data.executor import make_executor
from radvqa_data.synth.config import SynthConfig
from radvqa_data.synth.driver import run_synth
from radvqa_data.synth.rules.generator import RulesGenerator
from tests.conftest import dataset, query_catalog
from tests.helpers.shards import shard_rows

CATALOG_TABLES = ("images", "texts", "concepts", "cui_names", "benchmark_qa", "ingest_issues")


def catalog_rows(cat: Path) -> dict[str, list]:
    """Every core table's rows, sorted; `sources` without its timestamps."""
    rows = {t: sorted(query_catalog(cat, f"SELECT * FROM {t}"), key=repr) for t in CATALOG_TABLES}
    rows["sources"] = sorted(
        query_catalog(cat, "SELECT name, kind, path, n_images, n_issues, meta FROM sources")
    )
    return rows


def entity_rows(cat: Path) -> dict[str, list]:
    """The entities and the per-text bookkeeping, sorted."""
    return {
        t: sorted(query_catalog(cat, f"SELECT * FROM {t}"), key=repr)
        for t in ("entities", "entity_texts")
    }


def sample_catalog_with(ex: str, sample_dir: Path, where: Path) -> Path:
    cat = where / "catalog.duckdb"
    add_source(cat, "medpix2", sample_dir / "medpix2", progress=False, executor=ex)
    add_source(cat, "vqa-rad", sample_dir / "vqa-rad", progress=False, executor=ex)
    return cat


#: Shards of 8 of the sample's 40 MedPix images: several Ray Data tasks, written back in any order.
SAMPLE_SYNTH = dict(allow_missing_images=True, shard_size=8)


@pytest.fixture(scope="module")
def sample_pair(ray_cluster, sample_dir: Path, tmp_path_factory) -> dict:
    """Every step on the shipped sample, once with each executor: the catalog (its rows kept as
    they were before entities), entities, then rules synth into `{ex}-shards`."""
    runs: dict = {}
    for ex in ("local", "ray"):
        where = tmp_path_factory.mktemp(f"sample-{ex}")
        runs[ex] = cat = sample_catalog_with(ex, sample_dir, where)
        runs[f"{ex}-catalog"] = catalog_rows(cat)
        run_entities(cat, progress=False, executor=ex)
        runs[f"{ex}-shards"] = where / "shards"
        runs[f"{ex}-synth"] = run_synth(
            cat,
            where / "shards",
            SynthConfig(**SAMPLE_SYNTH),
            RulesGenerator(0),
            progress=False,
            executor=ex,
        )
    return runs


def test_catalog_entities_and_rules_synth_are_the_same_on_ray(sample_pair) -> None:
    local, ray = sample_pair["local-catalog"], sample_pair["ray-catalog"]
    assert local["images"] and local["benchmark_qa"]  # not comparing two empty catalogs
    assert local == ray
    ents = entity_rows(sample_pair["local"])
    assert ents["entities"] and ents == entity_rows(sample_pair["ray"])
    s = sample_pair["ray-synth"]
    assert s.shards_total > 2 and s.kept > 0 and s.shards_skipped == 0
    assert shard_rows(sample_pair["local-shards"]) == shard_rows(sample_pair["ray-shards"])


# Before the tests that kill workers: the workers that built the spaCy pipeline are still alive.
def test_interrupted_ray_runs_do_only_what_was_missing(sample_pair, tmp_path: Path) -> None:
    # A run stopped part-way leaves some shards, probes or entity batches unwritten: take away
    # what an interrupt would not have written yet, and rerun with the same arguments.
    cat = tmp_path / "catalog.duckdb"
    shutil.copy(sample_pair["ray"], cat)
    import duckdb

    con = duckdb.connect(str(cat))
    cached = con.execute(
        "SELECT count(*) FROM catalog_probe_cache WHERE image_path LIKE '%medpix2%'"
    ).fetchall()[0][0]
    con.execute(
        "DELETE FROM catalog_probe_cache WHERE image_path IN "
        "(SELECT image_path FROM catalog_probe_cache WHERE image_path LIKE '%medpix2%' "
        "ORDER BY image_path LIMIT 10)"
    )
    con.execute(
        "DELETE FROM entity_texts WHERE rowid IN "
        "(SELECT rowid FROM entity_texts ORDER BY source, image_id, field LIMIT 30)"
    )
    con.close()
    root = query_catalog(cat, "SELECT path FROM sources WHERE name = 'medpix2'")[0][0]
    s = add_source(cat, "medpix2", root, progress=False, executor="ray")
    assert (s.probed, s.reused) == (10, cached - 10)
    assert catalog_rows(cat) == sample_pair["ray-catalog"]
    e = run_entities(cat, progress=False, executor="ray")
    assert e.texts_processed == 30
    assert entity_rows(cat) == entity_rows(sample_pair["local"])

    full, part = sample_pair["ray-shards"], tmp_path / "part"
    shutil.copytree(full, part)
    for name in ("part-00001.json", "part-00003.json"):  # two shards not finished (no commit mark)
        (part / "_state" / name).unlink()
    (part / "manifest.json").unlink()
    s = run_synth(
        sample_pair["ray"],
        part,
        SynthConfig(**SAMPLE_SYNTH),
        RulesGenerator(0),
        progress=False,
        executor="ray",
    )
    assert s.shards_skipped == s.shards_total - 2 and s.images == 16
    assert shard_rows(part) == shard_rows(full)


class RaisingRules(RulesGenerator):
    """The rules, raising for one image: a generator bug that may cost that record only."""

    def __init__(self, bad: str) -> None:
        super().__init__(0)
        self.bad = bad

    def generate(self, records):
        for rec in records:
            if rec.image_id == self.bad:
                raise ValueError(f"cannot handle {rec.image_id}")
            yield from super().generate([rec])


class KillingRules(RulesGenerator):
    """The rules, killing its worker process the first time it meets `victim` (a marker file
    says it happened; the retried task then goes on)."""

    def __init__(self, victim: str, marker: str) -> None:
        super().__init__(0)
        self.victim, self.marker = victim, marker

    def generate(self, records):
        for rec in records:
            if rec.image_id == self.victim and not os.path.exists(self.marker):
                Path(self.marker).write_text(str(os.getpid()))
                os._exit(1)  # the Ray worker dies mid-shard, as on an out-of-memory kill
            yield from super().generate([rec])


def test_a_record_that_raises_is_a_reject_and_a_killed_worker_is_retried(
    sample_pair, tmp_path: Path
) -> None:
    cat, config = sample_pair["ray"], SAMPLE_SYNTH
    bad = query_catalog(cat, "SELECT min(image_id) FROM images WHERE source = 'medpix2'")[0][0]
    ref = shard_rows(sample_pair["local-shards"])  # the plain rules, same catalog rows and config

    outs = {ex: tmp_path / f"raising-{ex}" for ex in ("local", "ray")}
    for ex, out in outs.items():
        s = run_synth(
            cat, out, SynthConfig(**config), RaisingRules(bad), progress=False, executor=ex
        )
        assert s.rejected["generator_error"] == 1 and s.shards_skipped == 0
    got = shard_rows(outs["ray"])
    assert got == shard_rows(outs["local"])
    errors = [r for r in got["rejects"] if r[-1] == "generator_error"]
    assert [(r[1], r[16]) for r in errors] == [(bad, f"ValueError: cannot handle {bad}")]
    # The yes/no balance is per shard, so only the bad image's shard may differ otherwise.
    first = {
        r[0]
        for r in query_catalog(
            cat, "SELECT image_id FROM images WHERE source = 'medpix2' ORDER BY image_id LIMIT 8"
        )
    }
    assert bad in first and not [r for r in got["qa"] if r[1] == bad]
    assert {r[1] for r in got["qa"] if r[1] in first} == {
        r[1] for r in ref["qa"] if r[1] in first
    } - {bad}
    assert [r for r in got["qa"] if r[1] not in first] == [
        r for r in ref["qa"] if r[1] not in first
    ]

    marker = tmp_path / "killed.pid"
    killed = tmp_path / "killed"
    s = run_synth(
        cat,
        killed,
        SynthConfig(**config),
        KillingRules(bad, str(marker)),
        progress=False,
        executor="ray",
    )
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker really died
    assert s.shards_skipped == 0 and shard_rows(killed) == ref  # retried: nothing lost or doubled


def _die_once(batch: int, marker: str) -> int:
    if batch == 3 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return batch * 10


def test_ray_tasks_retry_a_dead_worker(ray_cluster, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    ex = make_executor("ray")
    got = list(ex.map(functools.partial(_die_once, marker=str(marker)), range(8), ordered=True))
    assert marker.exists() and got == [i * 10 for i in range(8)]


def test_cli_flags_and_one_line_errors(sample_pair, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    r = runner.invoke(
        app,
        [
            "synth",
            "--catalog",
            str(sample_pair["ray"]),
            "--out",
            str(out),
            "--no-progress",
            "--allow-missing-images",
            "--executor",
            "ray",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads((out / "manifest.json").read_text())["complete"]
    r = runner.invoke(app, ["entities", "--catalog", str(sample_pair["ray"]), "--executor", "rya"])
    assert r.exit_code == 1 and "Error: --executor rya: unknown executor" in r.output
    r = runner.invoke(
        app,
        [
            "catalog",
            "add",
            "folder",
            str(tmp_path),
            "--catalog",
            str(tmp_path / "c.duckdb"),
            "--ray-address",
            "127.0.0.1:1",
        ],
    )
    assert r.exit_code == 1 and "--ray-address needs --executor ray" in r.output


def test_unreachable_cluster_fails_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("radvqa-data")
    r = subprocess.run(
        [
            str(exe),
            "catalog",
            "add",
            "folder",
            str(tmp_path),
            "--catalog",
            str(tmp_path / "c.duckdb"),
            "--executor",
            "ray",
            "--ray-address",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("Error: --ray-address 127.0.0.1:1: no Ray cluster answers there")


@pytest.mark.slow
def test_shared_real_data_is_the_same_on_ray(
    ray_cluster, shared_data: Path, tmp_path: Path
) -> None:
    """MedPix 2.0 (dev/test images), VQA-RAD and the ROCO captions, every step, both executors."""
    sources = [
        ("medpix2", dataset(shared_data, "medpix2")),
        ("vqa-rad", dataset(shared_data, "vqa-rad")),
        ("roco", dataset(shared_data, "roco")),
    ]
    got = {}
    for ex in ("local", "ray"):
        cat = tmp_path / ex / "catalog.duckdb"
        for kind, path in sources:
            add_source(cat, kind, path, progress=False, executor=ex)
        run_entities(cat, fields=["caption"], progress=False, executor=ex)
        out = tmp_path / ex / "shards"
        run_synth(
            cat,
            out,
            SynthConfig(allow_missing_images=True),
            RulesGenerator(0),
            progress=False,
            executor=ex,
        )
        got[ex] = (catalog_rows(cat), entity_rows(cat), shard_rows(out))
    local, ray = got["local"], got["ray"]
    assert len(local[0]["images"]) > 30_000 and len(local[2]["qa"]) > 10_000
    assert local[0] == ray[0]
    assert local[1] == ray[1]
    assert local[2] == ray[2]
