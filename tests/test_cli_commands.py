"""Every command of `radvqa-data`, `radvqa-train`, `radvqa-diag` and `radvqa-experiment` has
help text and starts fast. The commands are read from the Typer apps, so a command added later
is covered too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from radvqa_data.cli import app as data_app
from radvqa_diag.cli import app as diag_app
from radvqa_experiment.cli import app as experiment_app
from radvqa_train.cli import app as train_app

ROOT = Path(__file__).resolve().parents[1]
APPS = {
    "radvqa-data": ("radvqa_data.cli", data_app),
    "radvqa-train": ("radvqa_train.cli", train_app),
    "radvqa-diag": ("radvqa_diag.cli", diag_app),
    "radvqa-experiment": ("radvqa_experiment.cli", experiment_app),
}
#: Imported by a command that runs, never by `--help` (each costs seconds: docs/ENVIRONMENT).
HEAVY = ("torch", "transformers", "peft", "spacy", "datasets", "vllm", "ray", "accelerate")


def _commands(group, path: tuple[str, ...] = ()) -> list:
    """(path, command) of every leaf command below `group` (Typer vendors its own click, so a
    group is recognised by its `commands`)."""
    if hasattr(group, "commands"):
        out = []
        for name, cmd in group.commands.items():
            out += _commands(cmd, (*path, name))
        return out
    return [(path, group)]


def all_commands() -> list:
    return [
        (prog, path, cmd)
        for prog, (_, app) in APPS.items()
        for path, cmd in _commands(typer.main.get_command(app))
    ]


def test_enumeration_finds_the_known_commands():
    names = {(prog, " ".join(path)) for prog, path, _ in all_commands()}
    assert {
        ("radvqa-data", "catalog add"),
        ("radvqa-data", "synth"),
        ("radvqa-data", "describe"),
        ("radvqa-data", "audit"),
        ("radvqa-train", "eval"),
        ("radvqa-diag", "report"),
        ("radvqa-experiment", "run"),
    } <= names


@pytest.mark.parametrize(
    "prog,path,cmd", all_commands(), ids=lambda x: x if isinstance(x, str) else None
)
def test_every_command_has_help_text(prog, path, cmd):
    assert path, f"{prog}: a bare callback, not a command"
    assert (cmd.help or "").strip(), f"{prog} {' '.join(path)}: no help text"
    for p in cmd.params:
        if p.param_type_name == "option" and not p.hidden and p.name != "help":
            assert p.help or p.name in (cmd.help or ""), (
                f"{prog} {' '.join(path)} {p.opts}: no help"
            )


PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
import importlib
from typer.testing import CliRunner
import typer
mod = importlib.import_module(sys.argv[1])
paths = json.loads(sys.argv[2])
runner = CliRunner()
failed = [p for p in paths if runner.invoke(mod.app, [*p, "--help"]).exit_code != 0]
heavy = sorted(m for m in json.loads(sys.argv[3]) if m in sys.modules)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"failed": failed, "heavy": heavy, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "wall_s": time.perf_counter() - t0}))
"""


@pytest.mark.parametrize("prog", sorted(APPS))
def test_help_of_every_command_is_light(prog):
    """`--help` of every command, in a fresh process: none fails, none imports a heavy library,
    and the process's CPU time (import + every help page; CPU, not wall time, so a loaded machine
    does not fail it) stays under 2 s per command."""
    module, app = APPS[prog]
    paths = [list(path) for path, _ in _commands(typer.main.get_command(app))]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", PROBE, module, json.dumps(paths), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["failed"] == [] and got["heavy"] == [], got
    assert got["cpu_s"] < 2.0, got
