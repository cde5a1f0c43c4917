"""Derived results on disk: ``HOME/derived/<name>/<partition>.parquet`` (or ``<name>.parquet``).

Derived artifacts (trips, flows, convoys, crime maps) are rebuilt from the tables at any time, so
they are plain Parquet files rather than Delta tables. Each file is written to a temporary name and
renamed into place, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.config import resolve_home

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def derived_dir(home: str | os.PathLike[str] | None = None) -> Path:
    return resolve_home(home) / "derived"


def derived_path(home: str | os.PathLike[str] | None, name: str, partition: str | None = None) -> Path:
    """Where result ``name`` (for ``partition``, e.g. ``2026-03-01`` or ``2026-03-01|cam-7``) lives."""
    base = derived_dir(home)
    if partition is None:
        return base / f"{name}.parquet"
    return base / name / f"{_SAFE.sub('_', partition)}.parquet"


def write_derived(
    home: str | os.PathLike[str] | None, name: str, table: pa.Table, partition: str | None = None
) -> Path:
    """Write (replace) one result file atomically; returns its path."""
    path = derived_path(home, name, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def read_derived(
    home: str | os.PathLike[str] | None, name: str, partitions: list[str] | None = None
) -> pa.Table | None:
    """One result, or the given partitions of it (all when None) concatenated; None when absent."""
    single = derived_path(home, name)
    if partitions is None and single.exists():
        return pq.read_table(single)
    if partitions is None:
        files = sorted((derived_dir(home) / name).glob("*.parquet"))
    else:
        files = [p for p in (derived_path(home, name, k) for k in partitions) if p.exists()]
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
