"""Import boundaries between the packages (docs/architecture.md), checked on the source text.

- `radvqa_data.core` imports nothing else of the project: any step can use it.
- Outside `radvqa_data/synth/`, only synth's contract (`synth.types`) and its CLI (wired into
  the app by `radvqa_data/cli.py`) are imported, never its internals.
- The catalog's speed-up (`radvqa_data/catalog/fast/`) is used through its package only.
- `radvqa_train` and `radvqa_diag` take from `radvqa_data` only the core, the reader and the
  LLM client facade (the trainer's judge); train never imports diag, except the experiment
  (`radvqa_train.experiment`), which ends with the diag report of its best arm, and the
  real-size rehearsal (`radvqa_train.rehearse_step`), which computes one saliency map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("radvqa_data", "radvqa_train", "radvqa_diag")
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
    # the experiment orchestrates train, eval and the diag report; the trainer itself never
    # imports diag
    # so does the real-size rehearsal (`rehearse`: one step, one answer, one saliency map)
    orchestrator = _within(me, ("radvqa_train.experiment", "radvqa_train.rehearse_step"))
    if _within(me, ("radvqa_train",)) and _within(name, ("radvqa_diag",)) and not orchestrator:
        return "train never imports diag"
    return None


@pytest.mark.parametrize(
    "rule", [core_rule, synth_rule, fast_rule, train_diag_rule], ids=lambda r: r.__name__
)
def test_import_boundaries(rule) -> None:
    assert _violations(rule) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules catch what they are for (the scan is not vacuous)."""
    assert train_diag_rule("radvqa_diag.report", "radvqa_data.catalog.db")
    assert train_diag_rule("radvqa_train.cli", "radvqa_diag.report")
    assert synth_rule("radvqa_data.audit.run", "radvqa_data.synth.shards")
    assert core_rule("radvqa_data.core.shards", "radvqa_data.synth.types")
    assert fast_rule("radvqa_data.catalog.ingest", "radvqa_data.catalog.fast.probe_pool")
    assert not fast_rule("radvqa_data.catalog.ingest", "radvqa_data.catalog.fast.probe_all")
    assert not train_diag_rule("radvqa_train.data", "radvqa_data.reader")
    names = _imports(ROOT / "radvqa_data" / "reader.py")
    assert "radvqa_data.core.errors" in names and "radvqa_data.core.shards.ShardDir" in names


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
