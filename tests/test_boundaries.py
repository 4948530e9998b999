"""Import boundaries between the packages (docs/architecture.md), checked on the source text.

- `radvqa_data.core` imports nothing else of the project: any step can use it.
- Outside `radvqa_data/synth/`, only synth's contract (`synth.types`) and its CLI (wired into
  the app by `radvqa_data/cli.py`) are imported, never its internals.
- The catalog's speed-up (`radvqa_data/catalog/fast/`) is used through its package only.
- `radvqa_train` and `radvqa_diag` take from `radvqa_data` only the core, the reader and the
  LLM client facade (the trainer's judge); train never imports diag, except the real-size
  rehearsal (`radvqa_train.rehearse_step`), which computes one saliency map.
- The experiment (`radvqa_experiment`) is the layer above train and diag: nothing else
  imports it.
- The executor imports nothing of the project but the core: steps use it, not the reverse.
- No import cycles in the package code (function-level imports included).
- Catalog contract: ``CREATE TABLE`` is spelled only in `core/catalog_schema.py`, and only
  `radvqa_data/reader/` reads (``FROM`` / ``JOIN``) a catalog table, except a step reading back
  the bookkeeping table it owns (`Table.owner`).
- One name per field: the reader returns no catalog column under another name
  (``col AS other``), except the distinct things `READER_RENAMES_ALLOWED` lists.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("radvqa_data", "radvqa_train", "radvqa_diag", "radvqa_experiment")
SYNTH_PUBLIC = ("radvqa_data.synth.types", "radvqa_data.synth.cli")
DATA_FOR_TRAIN_AND_DIAG = ("radvqa_data.core", "radvqa_data.reader", "radvqa_data.llm.client")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Every module `path` imports (absolute names; `from x import y` also yields x.y)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            out.append(base)
            out += [f"{base}.{a.name}" for a in node.names]
    return [m for m in out if m.split(".")[0] in PACKAGES]


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(rule) -> list[str]:
    bad = []
    for path in _modules():
        me = _module_name(path)
        for name in _imports(path):
            why = rule(me, name)
            if why:
                bad.append(f"{path.relative_to(ROOT)} imports {name}: {why}")
    return sorted(set(bad))


def core_rule(me: str, name: str) -> str | None:
    if _within(me, ("radvqa_data.core",)) and not _within(name, ("radvqa_data.core",)):
        return "the core imports nothing else of the project"
    return None


def synth_rule(me: str, name: str) -> str | None:
    if _within(me, ("radvqa_data.synth",)) or not _within(name, ("radvqa_data.synth",)):
        return None
    if name == "radvqa_data.synth" or _within(name, SYNTH_PUBLIC):
        return None
    if me == "radvqa_data.cli" and name == "radvqa_data.synth.cli":
        return None
    return "synth internals (use radvqa_data.core, or synth.types for the Generator contract)"


FAST = "radvqa_data.catalog.fast"
FAST_MODULES = {p.stem for p in (ROOT / "radvqa_data" / "catalog" / "fast").glob("*.py")} - {
    "__init__"
}


def fast_rule(me: str, name: str) -> str | None:
    if _within(me, (FAST,)) or not _within(name, (FAST,)):
        return None
    if name.split(".")[3:4] and name.split(".")[3] in FAST_MODULES:
        return "the catalog speed-up is used through its seam, radvqa_data.catalog.fast"
    return None


def train_diag_rule(me: str, name: str) -> str | None:
    if not _within(me, ("radvqa_train", "radvqa_diag")):
        return None
    if (
        _within(name, ("radvqa_data",))
        and name != "radvqa_data"
        and not _within(name, DATA_FOR_TRAIN_AND_DIAG)
    ):
        return "train and diag use only radvqa_data.core, .reader and .llm.client"
    # the real-size rehearsal (`rehearse`: one step, one answer, one saliency map) is the one
    # trainer module that imports diag; the experiment, which ends with a diag report, is its
    # own layer above both (experiment_rule)
    orchestrator = _within(me, ("radvqa_train.rehearse_step",))
    if _within(me, ("radvqa_train",)) and _within(name, ("radvqa_diag",)) and not orchestrator:
        return "train never imports diag"
    return None


def experiment_rule(me: str, name: str) -> str | None:
    if _within(name, ("radvqa_experiment",)) and not _within(me, ("radvqa_experiment",)):
        return "the experiment is the top layer: nothing below imports it"
    return None


def executor_rule(me: str, name: str) -> str | None:
    if not _within(me, ("radvqa_data.executor",)):
        return None
    if not _within(name, ("radvqa_data.executor", "radvqa_data.core")):
        return "the executor imports no area (only the core): the steps hand it batch functions"
    return None


@pytest.mark.parametrize(
    "rule",
    [core_rule, synth_rule, fast_rule, train_diag_rule, experiment_rule, executor_rule],
    ids=lambda r: r.__name__,
)
def test_import_boundaries(rule) -> None:
    assert _violations(rule) == []


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from m import name` counts as m)."""
    paths = {_module_name(p): p for p in _modules()}

    def module_of(name: str) -> str:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name

    return {m: {module_of(n) for n in _imports(p)} - {m, ""} for m, p in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    assert _cycles(_import_graph()) == []


def _strings(path: Path) -> list[str]:
    """Every string literal of a module; an f-string's fixed parts joined around `{}`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.append(
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            )
    return out


#: The rules backend's layers, bottom up (radvqa_data/synth/rules/__init__.py).
RULES_LAYERS = (
    "templates",
    "sentence_units",
    "frame",
    "finding_phrases",
    "finding_frames",
    "candidates",
    "evidence",
    "scope",
    "negation",
    "normality",
    "modifiers",
    "case_findings",
    "caption_check",
    "caption_questions",
    "metadata_questions",
    "generator",
)


def test_rules_modules_import_only_lower_layers() -> None:
    rules = ROOT / "radvqa_data" / "synth" / "rules"
    assert {p.stem for p in rules.glob("*.py")} - {"__init__"} == set(RULES_LAYERS)
    bad = []
    for i, stem in enumerate(RULES_LAYERS):
        for name in _imports(rules / f"{stem}.py"):
            parts = name.split(".")
            if parts[:3] == ["radvqa_data", "synth", "rules"] and len(parts) > 3:
                if parts[3] in RULES_LAYERS and RULES_LAYERS.index(parts[3]) >= i:
                    bad.append(f"{stem} imports {parts[3]}")
    assert bad == []


#: ``CREATE TABLE`` in any case or spacing (``create  table``, ``CREATE TEMP TABLE`` ...).
CREATE_TABLE = re.compile(r"\bcreate\s+(?:or\s+replace\s+)?(?:temp\w*\s+)?table\b", re.I)


def test_create_table_only_in_the_catalog_contract() -> None:
    bad = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if p.relative_to(ROOT).as_posix() != "radvqa_data/core/catalog_schema.py"
        and any(CREATE_TABLE.search(s) for s in _strings(p))
    ]
    assert bad == []


def catalog_reads(me: str, text: str) -> list[str]:
    """The catalog tables `text` (one SQL string of module `me`) reads but may not."""
    from radvqa_data.core.catalog_schema import TABLES

    if _within(me, ("radvqa_data.reader",)) or re.match(r"\s*(INSERT|UPDATE|DELETE)\b", text, re.I):
        return []
    read = re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)\b", text, re.I)
    return sorted(
        {
            t
            for t in read
            if t in TABLES and not (TABLES[t].owner and _within(me, (TABLES[t].owner,)))
        }
    )


def test_only_the_reader_selects_from_the_catalog() -> None:
    bad = []
    for path in _modules():
        me = _module_name(path)
        for text in _strings(path):
            for table in catalog_reads(me, text):
                bad.append(f"{path.relative_to(ROOT)} reads {table}: use radvqa_data.reader")
    assert sorted(set(bad)) == []


#: Catalog columns the reader returns under another name, each a different thing (or a name an
#: outside library needs), not a second name for one field (docs/architecture.md "Field names").
READER_RENAMES_ALLOWED = {
    ("qid", "id"): "a benchmark's own question id is the row id of its QA row",
    ("text", "answer"): "a caption row's answer is the caption text",
    ("image_path", "filepath"): "FiftyOne's name for a sample's file",
    ("split", "image_split"): "a review sample's image split, beside FiftyOne's own fields",
}


def column_renames(text: str) -> set[tuple[str, str]]:
    """(column, new name) for each ``col AS other`` in `text` (one SQL string) where either is a
    field name (a catalog column, a former one, a `READ_COLUMNS` name)."""
    from radvqa_data.core.catalog_schema import RENAMED, TABLES
    from radvqa_data.core.schema import READ_COLUMNS

    # field names: the catalog's columns, their former names, what `read_qa` returns
    columns = {c.name for t in TABLES.values() for c in t.columns} | {r.old for r in RENAMED}
    columns |= set(READ_COLUMNS)
    # a select-list item that is a bare column: after SELECT or a comma, up to AS
    found = re.findall(r"(?:\bSELECT|,)\s*(?:[a-z]\.)?([a-z_]+)\s+AS\s+([a-z_]+)\b", text)
    return {(col, new) for col, new in found if columns & {col, new} and col != new}


def test_the_reader_renames_no_catalog_column() -> None:
    """One name per field: the reader returns catalog columns under their own names (a source's
    field is renamed where it arrives, `catalog/sources/`, and nowhere else)."""
    from radvqa_data.core.catalog_schema import column_names
    from radvqa_data.core.schema import READ_IMAGE_COLUMNS

    bad = []
    for path in sorted((ROOT / "radvqa_data" / "reader").glob("*.py")):
        for text in _strings(path):
            for pair in column_renames(text) - set(READER_RENAMES_ALLOWED):
                bad.append(f"{path.relative_to(ROOT)}: {pair[0]} AS {pair[1]}")
    # the image columns `read_qa` adds are selected by these names: each must be an `images` column
    images = set(column_names("images"))
    bad += [
        f"READ_IMAGE_COLUMNS: {c} is no images column"
        for c in READ_IMAGE_COLUMNS
        if c not in images
    ]
    assert bad == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules catch what they are for (the scan is not vacuous)."""
    assert train_diag_rule("radvqa_diag.report", "radvqa_data.catalog.db")
    assert train_diag_rule("radvqa_train.cli", "radvqa_diag.report")
    assert synth_rule("radvqa_data.audit.run", "radvqa_data.synth.shards")
    assert core_rule("radvqa_data.core.shards", "radvqa_data.synth.types")
    assert fast_rule("radvqa_data.catalog.ingest", "radvqa_data.catalog.fast.probe_pool")
    assert not fast_rule("radvqa_data.catalog.ingest", "radvqa_data.catalog.fast.probe_all")
    assert not train_diag_rule("radvqa_train.data", "radvqa_data.reader")
    assert train_diag_rule("radvqa_train.run", "radvqa_diag.report")
    assert experiment_rule("radvqa_train.cli", "radvqa_experiment.run")
    assert experiment_rule("radvqa_diag.report", "radvqa_experiment")
    assert not experiment_rule("radvqa_experiment.run", "radvqa_diag.report")
    assert executor_rule("radvqa_data.executor.local", "radvqa_data.catalog.fast")
    assert not executor_rule("radvqa_data.executor.local", "radvqa_data.core.errors")
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert catalog_reads("radvqa_data.audit.run", "SELECT path FROM images i JOIN texts t") == [
        "images",
        "texts",
    ]
    assert catalog_reads("radvqa_data.entities.run", "SELECT count(*) FROM entity_texts") == []
    assert catalog_reads("radvqa_data.audit.run", "SELECT count(*) FROM entity_texts")
    assert catalog_reads("radvqa_data.catalog.writer", "DELETE FROM images WHERE source") == []
    assert catalog_reads("radvqa_data.reader.catalog", "SELECT * FROM images") == []
    assert catalog_reads("radvqa_data.export.inputs", "select path from\n  images") == ["images"]
    assert CREATE_TABLE.search("create  temp table x (a int)")
    assert not CREATE_TABLE.search("tables created by the step")
    assert column_renames("SELECT i.organ AS region, q.qid AS id, lower(x) AS y FROM t") == {
        ("organ", "region"),
        ("qid", "id"),
    }
    assert column_renames("SELECT i.organ, i.source || ':' || i.image_id AS id FROM t") == set()
    names = _imports(ROOT / "radvqa_data" / "reader" / "__init__.py")
    assert "radvqa_data.core.errors" in names and "radvqa_data.core.shards.ShardDir" in names


#: bench/audit.py still imports a test module; issue 26 rewrites it (drop this entry then).
def test_bench_code_imports_no_tests() -> None:
    """Benchmarks use the package (tiny data and a local server live there), never tests/."""
    bad = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [f"{path.name} imports {n}" for n in names if n.split(".")[0] == "tests"]
    assert bad == []


def test_test_files_import_no_other_test_file() -> None:
    """Shared test code lives in a conftest.py or under tests/helpers/, never in a test_*.py
    that another test file imports (so deleting or renaming a test breaks no other test)."""
    bad = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith("tests.") and name.split(".")[-1].startswith("test_"):
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_only_review_imports_fiftyone_and_only_inside_functions() -> None:
    """FiftyOne (the optional `review` extra, seconds to import) is imported in
    `radvqa_data/review/` only, and there inside functions, so `--help` stays instant and the
    rest of the project runs without it."""
    bad = []
    review = ROOT / "radvqa_data" / "review"
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            if not any(n.split(".")[0] in ("fiftyone", "fiftyone_brain") for n in names):
                continue
            where = path.relative_to(ROOT)
            if review not in path.parents:
                bad.append(f"{where}: imports fiftyone outside radvqa_data/review/")
            elif id(node) in top:
                bad.append(f"{where}: imports fiftyone at module level")
        # `require("fiftyone", ...)` / importlib: the name as a string literal
        if review not in path.parents and re.search(r"[\"']fiftyone", path.read_text("utf-8")):
            bad.append(f"{path.relative_to(ROOT)}: names the fiftyone module outside review/")
    assert bad == []
    # the one import there is, through `require`, is what the literal check looks for
    assert re.search(r"[\"']fiftyone", (review / "fo.py").read_text(encoding="utf-8"))
