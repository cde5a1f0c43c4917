"""Which data files make up a Delta table version, and reading a subset of them.

Derived indexes (plates, faces) remember the data files they cover. Bringing an index up to date
is then a set difference: files added since (appends, re-processing, compaction output) are read
and indexed; files gone (deleted, overwritten, compacted away) have their rows dropped. This works
for every kind of commit delta-rs makes and needs no change data feed.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pds
from deltalake import DeltaTable

from lakehouse import Lakehouse


class Snapshot:
    """One version of a table: its data files (relative paths) and their row counts. The file list
    and the pyarrow dataset are loaded on first use (the version alone is cheap)."""

    def __init__(self, table: DeltaTable):
        self.table = table
        self.version: int = table.version()

    @cached_property
    def rows(self) -> dict[str, int]:
        actions = pa.table(self.table.get_add_actions(flatten=True))
        paths = actions["path"].to_pylist()
        counts = actions["num_records"].to_pylist()
        return {p: int(n or 0) for p, n in zip(paths, counts, strict=True)}

    @cached_property
    def dataset(self) -> pds.FileSystemDataset:
        # delta-rs fragments carry the same relative paths as the add actions
        return self.table.to_pyarrow_dataset()

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @cached_property
    def fragments(self) -> dict[str, pds.Fragment]:
        return {frag.path: frag for frag in self.dataset.get_fragments()}

    def read(
        self, paths: list[str], columns: list[str], filter: pds.Expression | None = None
    ) -> list[tuple[str, pa.Table]]:
        """Read ``paths`` (a subset of this snapshot's files), one table per file, in order."""
        out = []
        for path in paths:
            frag = self.fragments[path]
            sub = pds.FileSystemDataset(
                [frag], self.dataset.schema, self.dataset.format, self.dataset.filesystem
            )
            out.append((path, sub.to_table(columns=columns, filter=filter)))
        return out


def snapshot(lh: Lakehouse, name: str) -> Snapshot:
    return Snapshot(lh.table(name))


def index_dir(lh: Lakehouse, kind: str) -> Path:
    """``HOME/index/<kind>`` next to the tables (setting ``storage.index_dir`` overrides the parent;
    with object-storage tables the index lives under the local ``--home``)."""
    configured = lh.settings.storage.index_dir
    if configured:
        return Path(configured).expanduser().resolve() / kind
    if lh.storage.is_local:
        root = lh.storage.root.removeprefix("file://")
        return Path(root).resolve().parent / "index" / kind
    return lh.home / "index" / kind
