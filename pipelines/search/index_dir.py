"""What the persisted search indexes share: a directory with a versioned ``manifest.json`` and a
file lock so one process at a time updates it."""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar


class ManifestDir:
    """Base for an index kept under ``self.root``. Subclasses set ``FORMAT``: a manifest written
    by another on-disk format counts as no index (it gets rebuilt)."""

    FORMAT: ClassVar[int]
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict[str, Any] | None:
        try:
            m = json.loads(self.manifest_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return m if m.get("format") == self.FORMAT else None

    def exists(self) -> bool:
        return self.manifest() is not None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
