"""Deterministic ids: the same source, position and model version always give the same id."""

from __future__ import annotations

import hashlib
from pathlib import Path


def stable_id(*parts: object, length: int = 24) -> str:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return h[:length]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
