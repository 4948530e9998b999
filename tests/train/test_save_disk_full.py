"""A stage save that the disk cannot hold is one line naming the folder and the space needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAVE_PROBE = """
import resource, signal, sys
from pathlib import Path
from radvqa_data.core.errors import InputError
from radvqa_train.modeling import load_model, save_model_folder
model, processor = load_model(sys.argv[1])
limit = int(sys.argv[3])
if limit:  # a file-size limit: the weights file stops growing (EFBIG, not a signal)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    save_model_folder(model, processor, Path(sys.argv[2]))
    print("SAVED")
except InputError as exc:
    print("INPUT_ERROR", exc)
"""


def _probe(model: Path, folder: Path, limit: int) -> str:
    res = subprocess.run(
        [sys.executable, "-c", SAVE_PROBE, str(model), str(folder), str(limit)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()[-1]


def test_write_that_fails_for_space_is_one_line(tiny_models, tmp_path):
    """The write fails on the way (here a 256 KB file-size limit, as a filling disk would):
    one line, the folder and the bytes needed, no SafetensorError traceback."""
    folder = tmp_path / "stage"
    line = _probe(tiny_models["paligemma"], folder, 256 * 1024)
    assert line.startswith(f"INPUT_ERROR {folder}: the disk filled while saving the stage"), line
    assert "(os error 27)" in line and "the weights need" in line and "--out" in line
    assert _probe(tiny_models["paligemma"], tmp_path / "ok", 0) == "SAVED"


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
    return res.returncode == 0


def test_full_disk_refused_before_writing(tiny_models, tmp_path):
    """A real small disk (a 1 MB tmpfs; needs root to mount): refused before any weights are
    written, naming the space needed and the space free."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk, "1m"):
        pytest.skip("mounting a tmpfs needs root here")
    try:
        line = _probe(tiny_models["paligemma"], disk / "stage", 0)
        assert line.startswith(f"INPUT_ERROR {disk / 'stage'}: not enough disk space"), line
        assert not list((disk / "stage").glob("*.safetensors"))
    finally:
        subprocess.run(["umount", str(disk)], check=True)
