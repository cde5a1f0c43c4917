"""Per-process caches keyed by a Delta table's version, so a live stream that raises alerts every
few seconds does not replay the watchlist's and the alerts' logs on every micro-batch.

A table's latest version is read from its ``_delta_log`` listing (local tables: about a millisecond);
for object storage the version is unknown and nothing is cached (every call reads the table).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse

_GUARD = threading.Lock()
_CACHE: dict[tuple[str, str], tuple[int, Any]] = {}


def table_version(lh: Lakehouse, name: str) -> int | None:
    """Latest committed version of a local table (-1: no table yet); None when it cannot be told
    cheaply (object storage)."""
    if not lh.storage.is_local:
        return None
    log = Path(lh.uri(name).removeprefix("file://")) / "_delta_log"
    try:
        names = os.listdir(log)
    except FileNotFoundError:
        return -1
    versions = [int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit()]
    return max(versions) if versions else -1


def get(lh: Lakehouse, name: str, version: int | None) -> Any:
    if version is None:
        return None
    with _GUARD:
        hit = _CACHE.get((lh.storage.root, name))
    return hit[1] if hit is not None and hit[0] == version else None


def put(lh: Lakehouse, name: str, version: int | None, value: Any) -> None:
    if version is None:
        return
    with _GUARD:
        _CACHE[(lh.storage.root, name)] = (version, value)


def drop(lh: Lakehouse, name: str) -> None:
    with _GUARD:
        _CACHE.pop((lh.storage.root, name), None)
