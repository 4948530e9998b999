"""Image files of the JSON exports: placed under ``OUT/images/<source>/`` once per image.

Rows refer to them by a path relative to OUT (``images/medpix2/MPX1007_synpic46720.png``), so
the folder can be moved, zipped or uploaded whole. Modes: ``copy`` (default; the export stands
alone), ``hardlink`` (no extra disk; same filesystem only, else it copies and counts a
fallback) and ``symlink`` (absolute links: for local training only, they break when uploaded).
A rerun skips files already in place with the right size, and removes files under
``images/`` that no exported row refers to any more.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from radvqa_data.core.errors import ConfigError

IMAGE_MODES = ("copy", "hardlink", "symlink")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ImagePlacer:
    """Puts each distinct (source, image_id) file under ``OUT/images`` and names it."""

    def __init__(self, out: Path, mode: str = "copy") -> None:
        if mode not in IMAGE_MODES:
            raise ConfigError(f"--images {mode}: expected one of {', '.join(IMAGE_MODES)}")
        self.out, self.mode = Path(out), mode
        self.placed: dict[tuple[str, str], str] = {}
        self.counts = {"images": 0, "written": 0, "already_there": 0, "hardlink_fallbacks": 0}
        self._names: set[str] = set()

    def relpath(self, source: str, image_id: str, file: str) -> str:
        """The image's path relative to OUT, placing the file on first use."""
        key = (source, image_id)
        if key not in self.placed:
            rel = self._name(source, image_id, Path(file).suffix.lower())
            self._place(Path(file), self.out / rel)
            self.placed[key] = rel
            self.counts["images"] += 1
        return self.placed[key]

    def _name(self, source: str, image_id: str, suffix: str) -> str:
        stem = _UNSAFE.sub("_", image_id)
        if stem.lower().endswith(suffix):  # VQA-RAD ids are file names ("synpic46720.jpg")
            stem = stem[: -len(suffix)]
        rel = f"images/{_UNSAFE.sub('_', source)}/{stem}{suffix}"
        if rel in self._names:  # two ids that differ only in unsafe characters
            digest = hashlib.sha1(f"{source}\0{image_id}".encode()).hexdigest()[:8]
            rel = f"images/{_UNSAFE.sub('_', source)}/{stem}-{digest}{suffix}"
        self._names.add(rel)
        return rel

    def _place(self, src: Path, dst: Path) -> None:
        if dst.is_symlink() or dst.exists():
            same = (
                os.path.realpath(dst) == os.path.realpath(src)
                if self.mode == "symlink"
                else not dst.is_symlink() and dst.stat().st_size == src.stat().st_size
            )
            if same:
                self.counts["already_there"] += 1
                return
            dst.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")  # a half-copied image never carries the real name
        tmp.unlink(missing_ok=True)
        if self.mode == "symlink":
            tmp.symlink_to(src.resolve())
        elif self.mode == "hardlink":
            try:
                os.link(src, tmp)
            except OSError:  # another filesystem, or links not allowed
                shutil.copyfile(src, tmp)
                self.counts["hardlink_fallbacks"] += 1
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        self.counts["written"] += 1

    def remove_stale(self) -> int:
        """Delete files under OUT/images that this export did not place; returns how many."""
        root = self.out / "images"
        if not root.is_dir():
            return 0
        keep = {self.out / rel for rel in self.placed.values()}
        stale = [p for p in root.rglob("*") if (p.is_file() or p.is_symlink()) and p not in keep]
        for p in stale:
            p.unlink()
        return len(stale)
