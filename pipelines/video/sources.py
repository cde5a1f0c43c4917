"""Which files under the given paths are sources: videos and stills, by file suffix.

Directories are walked recursively (hidden entries skipped, files with other suffixes ignored, so a
folder of photos with label files next to them works). A file named explicitly with an unknown
suffix, or a path that does not exist, is a problem reported back, not an exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".ts", ".mov", ".m4v", ".webm", ".mpg", ".mpeg"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    kind: str  # "video" | "image"

    @property
    def uri(self) -> str:
        return str(self.path)


def kind_of(path: str | os.PathLike[str]) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Sources under ``paths`` (files and directories, recursively) in a stable order, plus
    ``(path, reason)`` for paths that cannot be sources. Duplicates are listed once."""
    found: list[SourceFile] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(p: Path, kind: str) -> None:
        if p not in seen:
            seen.add(p)
            found.append(SourceFile(p, kind))

    for raw in paths:
        p = Path(raw).expanduser().absolute()
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    kind = kind_of(name)
                    if kind and not name.startswith("."):
                        add(Path(root) / name, kind)
        elif p.is_file():
            kind = kind_of(p)
            if kind is None:
                problems.append((str(p), f"unsupported file type {p.suffix or '(no suffix)'!r}"))
            else:
                add(p, kind)
        elif p.exists():
            problems.append((str(p), "not a regular file"))
        else:
            problems.append((str(p), "no such file or directory"))
    return found, problems
