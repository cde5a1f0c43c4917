"""``Lakehouse``: create, write and read Pesquisa's Delta tables.

Writes go through one committer per table (a process lock plus, on local storage, a file lock
across processes) and retry with backoff on commit conflicts, because delta-rs on a local
filesystem fails concurrent commits instead of retrying them (DESIGN.md §12).

Three ways to write, each a single Delta commit:

- :meth:`Lakehouse.append`   add rows (batched appends);
- :meth:`Lakehouse.replace`  replace exactly the rows matching a predicate (re-processing one
  source for one model version), never a delete followed by an insert;
- :meth:`Lakehouse.upsert`   MERGE on the table key.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from lakehouse.config import StorageConfig, resolve_home
from lakehouse.conform import SchemaMismatchError, conform, to_arrow
from lakehouse.settings import LoadedSettings, get_settings
from lakehouse.specs import TABLES, TableSpec, spec

if TYPE_CHECKING:
    import duckdb
    import polars as pl

log = logging.getLogger(__name__)

_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()
_EVOLVED: set[tuple[str, str]] = set()  # (root, table) already checked against its spec in this process
#: local table uri -> a DeltaTable loaded at what was then its newest version, shared by readers in
#: this process for as long as no newer commit exists (read only: writers open their own)
_SNAPSHOTS: dict[str, DeltaTable] = {}
_SNAPSHOTS_GUARD = threading.Lock()


def _latest_local_version(uri: str) -> int | None:
    """The newest commit of a Delta table on a local filesystem: the highest ``N.json`` in its
    ``_delta_log`` (delta-rs writes each commit file once, atomically; checkpoints and log cleanup
    never remove the newest one). ``None`` when there is no log."""
    try:
        names = os.listdir(os.path.join(uri, "_delta_log"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    newest = -1
    for n in names:
        if len(n) == 25 and n.endswith(".json") and n[:20].isdigit():
            newest = max(newest, int(n[:20]))
    return newest if newest >= 0 else None


__all__ = ["Lakehouse", "SchemaMismatchError", "sql_literal"]


def private_mkdir(path: Path) -> None:
    """Create ``path`` and its missing parents owner-only (0700): a home holds biometric data, so
    what Pesquisa creates is never readable by other users of the machine (existing folders are
    left as their owner set them)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask; make it exact


def sql_literal(value: Any) -> str:
    """Quote a value for a delta-rs predicate."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Lakehouse:
    """All tables under one root. Cheap to create; holds no open handles."""

    def __init__(self, storage: StorageConfig | None = None, *, home: str | os.PathLike[str] | None = None):
        self.home = resolve_home(home)
        self.storage = storage or StorageConfig.from_home(home)
        self.max_retries = 8

    @property
    def settings(self) -> LoadedSettings:
        """The effective settings of this home (:func:`lakehouse.settings.get_settings`)."""
        return get_settings(self.home)

    # ---------------------------------------------------------------- locations
    def uri(self, name: str) -> str:
        spec(name)
        return self.storage.table_uri(name)

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(name), storage_options=self.storage.storage_options or None)

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        self.ensure(name)
        return DeltaTable(
            self.uri(name), version=version, storage_options=self.storage.storage_options or None
        )

    def version(self, name: str) -> int:
        """The table's newest version (on local storage read from the log's file names: no table
        load; what ``self.table(name).version()`` returns)."""
        if self.storage.is_local:
            self.ensure(name)
            latest = _latest_local_version(self.uri(name))
            if latest is not None:
                return latest
        return self.table(name).version()

    def snapshot(self, name: str) -> DeltaTable:
        """The table at its newest version, for reading only (never write through it): on local
        storage one loaded table is shared by the readers of this process until a newer commit
        appears, so a search that reads a few small tables does not load each of them again."""
        if not self.storage.is_local:
            return self.table(name)
        self.ensure(name)
        uri = self.uri(name)
        latest = _latest_local_version(uri)
        with _SNAPSHOTS_GUARD:
            cached = _SNAPSHOTS.get(uri)
        if cached is not None and latest is not None and cached.version() == latest:
            return cached
        fresh = DeltaTable(uri)
        with _SNAPSHOTS_GUARD:
            _SNAPSHOTS[uri] = fresh
        return fresh

    # ---------------------------------------------------------------- create
    def ensure(self, name: str) -> None:
        """Create the table if it is missing (empty, with its spec's schema and partitioning);
        evolve an existing table when the spec gained columns."""
        s = spec(name)
        if self.exists(name):
            if (self.storage.root, name) not in _EVOLVED:
                self.evolve(name)
            return
        with self._commit_lock(name):
            if self.exists(name):
                return
            if self.storage.is_local:
                private_mkdir(Path(self.uri(name)))
            try:
                DeltaTable.create(
                    self.uri(name),
                    schema=s.schema,
                    partition_by=list(s.partition_by) or None,
                    name=s.name,
                    description=s.description,
                    storage_options=self.storage.storage_options or None,
                    configuration={"delta.enableChangeDataFeed": "true", **dict(s.properties)},
                )
            except Exception as exc:  # another process created it first
                if not self.exists(name):
                    raise
                log.debug("table %s created concurrently: %s", name, exc)

    def evolve(self, name: str) -> list[str]:
        """Add the spec's columns that the stored table lacks (a metadata-only commit: no data file
        is rewritten; old rows read the new columns as null). Returns the added column names."""
        from deltalake import Field

        s = spec(name)
        dt_ = DeltaTable(self.uri(name), storage_options=self.storage.storage_options or None)
        props = dict(s.properties)
        if props and any(dt_.metadata().configuration.get(k) != v for k, v in props.items()):
            with self._commit_lock(name):  # existing homes: e.g. make audit_log append-only
                DeltaTable(
                    self.uri(name), storage_options=self.storage.storage_options or None
                ).alter.set_table_properties(props, raise_if_not_exists=False)
            dt_ = DeltaTable(self.uri(name), storage_options=self.storage.storage_options or None)
        have = {f.name for f in dt_.schema().fields}
        missing = [f for f in s.schema if f.name not in have]
        if missing:
            with self._commit_lock(name):
                dt_ = DeltaTable(self.uri(name), storage_options=self.storage.storage_options or None)
                have = {f.name for f in dt_.schema().fields}
                missing = [f for f in s.schema if f.name not in have]
                if missing:
                    dt_.alter.add_columns([Field.from_arrow(f.with_nullable(True)) for f in missing])
                    log.info("evolved %s: added %s", name, [f.name for f in missing])
        _EVOLVED.add((self.storage.root, name))
        return [f.name for f in missing]

    def ensure_all(self) -> None:
        for name in TABLES:
            self.ensure(name)

    # ---------------------------------------------------------------- write
    def append(self, name: str, data: Any) -> int:
        """Append rows in one commit. Returns the number of rows written."""
        s = spec(name)
        table = conform(to_arrow(data, s), s)
        if table.num_rows == 0:
            return 0
        self._write(s, table, mode="append")
        return int(table.num_rows)

    def append_as_next(self, name: str, data: Any, version: int) -> int:
        """Append rows as exactly version ``version + 1`` of the table (the caller read ``version``),
        in one commit, or raise ``CommitFailedError`` with nothing committed when another writer took
        that version first: the commit file is written with a conditional PUT and never rebased
        (delta-rs ``max_commit_retries=0``). What a chain keyed by the Delta version needs (the
        audit log), on a local filesystem and on object storage alike. Returns ``version + 1``."""
        from deltalake import CommitProperties

        s = spec(name)
        write_deltalake(
            self.table(name, version),
            conform(to_arrow(data, s), s),
            mode="append",
            partition_by=list(s.partition_by) or None,
            commit_properties=CommitProperties(max_commit_retries=0),
        )
        return version + 1

    def replace(self, name: str, data: Any, predicate: str, *, row_group_rows: int | None = None) -> int:
        """Replace exactly the rows matching ``predicate`` with ``data`` in one commit.

        Every new row must satisfy the predicate. With no new rows the matching rows are deleted
        (still one commit). ``row_group_rows`` caps the Parquet row groups (small groups of sorted
        rows let readers skip by min/max statistics).
        """
        s = spec(name)
        table = conform(to_arrow(data, s), s)
        self.ensure(name)
        if table.num_rows == 0:
            self._with_retry(s.name, lambda: self.table(name).delete(predicate))
            return 0
        self._write(s, table, mode="overwrite", predicate=predicate, row_group_rows=row_group_rows)
        return int(table.num_rows)

    def upsert(
        self, name: str, data: Any, keys: tuple[str, ...] | None = None, target_predicate: str | None = None
    ) -> int:
        """MERGE rows on ``keys`` (default: the table key): update matches, insert the rest.
        ``target_predicate`` (on ``t.``, e.g. ``t.date IN ('2026-12-07')``) limits the target rows
        the MERGE reads: a predicate on partition columns skips the other partitions' files."""
        s = spec(name)
        table = conform(to_arrow(data, s), s)
        if table.num_rows == 0:
            return 0
        keys = keys or s.key
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        if target_predicate:
            on = f"{on} AND ({target_predicate})"

        def run() -> None:
            (
                self.table(name)
                .merge(table, predicate=on, source_alias="s", target_alias="t")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )

        self.ensure(name)
        self._with_retry(s.name, run)
        return int(table.num_rows)

    def insert_new(
        self, name: str, data: Any, keys: tuple[str, ...] | None = None, target_predicate: str | None = None
    ) -> int:
        """MERGE that only inserts: rows whose ``keys`` (default: the table key) are already in the
        table are left untouched (idempotent writes of deterministic ids). One commit.
        ``target_predicate`` limits the target rows read, as in :meth:`upsert`."""
        s = spec(name)
        table = conform(to_arrow(data, s), s)
        if table.num_rows == 0:
            return 0
        keys = keys or s.key
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        if target_predicate:
            on = f"{on} AND ({target_predicate})"
        self.ensure(name)

        def run() -> Any:
            return (
                self.table(name)
                .merge(table, predicate=on, source_alias="s", target_alias="t")
                .when_not_matched_insert_all()
                .execute()
            )

        metrics = self._with_retry(s.name, run) or {}
        return int(metrics.get("num_target_rows_inserted", table.num_rows))

    def _write(
        self,
        s: TableSpec,
        data: pa.Table | pa.RecordBatchReader,
        mode: str,
        predicate: str | None = None,
        row_group_rows: int | None = None,
    ) -> None:
        self.ensure(s.name)
        extra: dict[str, Any] = {}
        if row_group_rows:
            from deltalake import WriterProperties

            extra["writer_properties"] = WriterProperties(max_row_group_size=int(row_group_rows))

        def run() -> None:
            write_deltalake(
                self.uri(s.name),
                data,
                mode=mode,  # type: ignore[call-overload]
                predicate=predicate,
                partition_by=list(s.partition_by) or None,
                storage_options=self.storage.storage_options or None,
                **extra,
            )

        self._with_retry(s.name, run)

    def write_stream(self, name: str, batches: Iterator[pa.RecordBatch]) -> None:
        """Append a stream of record batches in ONE commit (files are written as batches arrive;
        nothing is visible until the commit; an error mid-stream leaves the table unchanged)."""
        s = spec(name)

        def conformed() -> Iterator[pa.RecordBatch]:
            for b in batches:
                yield from conform(pa.Table.from_batches([b]), s).to_batches()

        reader = pa.RecordBatchReader.from_batches(s.schema, conformed())
        self.ensure(name)
        with self._commit_lock(name):
            write_deltalake(
                self.uri(name),
                reader,
                mode="append",
                partition_by=list(s.partition_by) or None,
                storage_options=self.storage.storage_options or None,
            )

    # ---------------------------------------------------------------- commit discipline
    @contextlib.contextmanager
    def _commit_lock(self, name: str) -> Iterator[None]:
        key = self.uri(name)
        with _PROCESS_LOCKS_GUARD:
            lock = _PROCESS_LOCKS.setdefault(key, threading.Lock())
        with lock:
            if self.storage.is_local:
                lock_dir = Path(self.storage.root) / "_locks"
                if not lock_dir.exists():
                    private_mkdir(lock_dir)
                with open(lock_dir / f"{name}.lock", "a+") as fh:
                    fcntl.flock(fh, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(fh, fcntl.LOCK_UN)
            else:
                yield

    def _with_retry(self, name: str, fn: Any) -> Any:
        delay = 0.05
        for attempt in range(self.max_retries + 1):
            try:
                with self._commit_lock(name):
                    return fn()
            except CommitFailedError:
                if attempt == self.max_retries:
                    raise
                log.warning("commit conflict on %s, retry %d", name, attempt + 1)
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)

    # ---------------------------------------------------------------- read
    def dataset(self, name: str, version: int | None = None) -> ds.Dataset:
        table = self.snapshot(name) if version is None else self.table(name, version)
        return table.to_pyarrow_dataset()

    def read(
        self,
        name: str,
        columns: list[str] | None = None,
        filter: ds.Expression | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Read a table (or a version of it) as Arrow, with optional projection and filter."""
        dataset = self.dataset(name, version)
        try:
            return dataset.to_table(columns=columns, filter=filter)
        except pa.ArrowNotImplementedError:
            # files rewritten by a MERGE store strings as string_view; pyarrow then cannot compare
            # them with the dataset's string literals fragment by fragment: filter after the cast
            if filter is None:
                raise
            table = dataset.to_table(filter=None).filter(filter)
            return table.select(columns) if columns is not None else table

    def scan(self, name: str) -> pl.LazyFrame:
        """Polars lazy scan with partition pruning."""
        import polars as pl

        self.ensure(name)
        return pl.scan_delta(self.uri(name), storage_options=self.storage.storage_options or None)

    def duckdb(self, names: list[str] | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with every table registered as a view (no extension downloads)."""
        import duckdb

        con = duckdb.connect()
        for name in names or list(TABLES):
            con.register(name, self.dataset(name))
        return con

    def count(self, name: str) -> int:
        return int(self.dataset(name).count_rows())

    def __repr__(self) -> str:
        return f"Lakehouse({self.storage.root!r})"
