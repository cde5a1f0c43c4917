"""Scoped plate reads as a Beam source: the run's reads are read by the workers, slice by slice.

The driver resolves the scope once (agency cameras, current model versions, ``[start, end)``: the
same SQL every movement tool uses, :func:`pipelines.movement.reads.scoped_reads`), pins the
``plate_reads`` table version, counts the rows and cuts the interval into time slices of about
``rows_per_slice`` reads. Only those small :class:`ReadSlice` specs go into the pipeline; each
worker opens the pinned table and reads its slice in Arrow batches. So the driver never holds a
day's reads (with ``beam.Create`` of the rows it held them twice, as Arrow and as Python objects,
and on the Dask runner it pickled and shipped every row itself), and a re-run reads the same rows
even when extraction commits meanwhile.

On local storage a slice reads the pinned version's Parquet files with DuckDB; elsewhere (S3) the
pinned Delta version through its pyarrow dataset, with the storage options of the lakehouse (which
the workers need anyway to reach the table).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa

from lakehouse import Lakehouse
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE

READ_COLUMNS = ["read_id", "camera_id", "ts", "plate", "confidence", "agency", "model_version"]
#: reads per slice: small enough that a worker holds one slice comfortably, large enough that the
#: per-slice scan of the pinned files stays a small part of the run
ROWS_PER_SLICE = 100_000
BATCH_ROWS = 20_000


@dataclass(frozen=True)
class ReadSlice:
    """The reads of ``where`` with ``start <= ts < end`` in ``plate_reads`` at ``version``."""

    lakehouse: Lakehouse
    version: int
    files: tuple[str, ...] | None  # the pinned version's Parquet files on local storage
    where: str
    start: dt.datetime
    end: dt.datetime

    def sql(self) -> str:
        return (
            f"SELECT {', '.join(READ_COLUMNS)} FROM {TABLE} WHERE {self.where} "
            f"AND ts >= TIMESTAMPTZ '{self.start.isoformat()}' AND ts < TIMESTAMPTZ '{self.end.isoformat()}'"
        )

    def batches(self, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The slice's rows in Arrow batches."""
        from pipelines.movement.reads import connect_files

        with connect_files(self.lakehouse, self.files, self.version) as con:
            reader = con.sql(self.sql()).fetch_record_batch(batch_rows)
            yield from reader

    def rows(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch.to_pylist()


@dataclass(frozen=True)
class PlannedReads:
    """What the driver knows of a run's reads without holding them."""

    slices: list[ReadSlice]
    rows: int
    model_versions: list[str]


def plan_reads(
    lh: Lakehouse,
    start: dt.datetime,
    end: dt.datetime,
    scope: ReadScope,
    cameras: Sequence[str] | None = None,
    rows_per_slice: int = ROWS_PER_SLICE,
) -> PlannedReads:
    """Resolve the scope, pin the table and cut ``[start, end)`` into slices of ~``rows_per_slice``
    reads (equal time spans; the counts per slice follow the day's traffic)."""
    from lakehouse.timeutil import TimeRange
    from pipelines.movement.reads import connect_files, pinned_files, scoped_reads

    scope = scope.replace(time=TimeRange(start, end))
    sr = scoped_reads(lh, scope, cameras=cameras)
    if sr.nothing:
        return PlannedReads([], 0, [])
    lh.ensure(TABLE)
    version = lh.version(TABLE)
    files = pinned_files(lh, version)
    where = sr.where()
    with connect_files(lh, files, version) as con:
        n, versions = con.execute(
            f"SELECT count(*), list(DISTINCT model_version) FROM {TABLE} WHERE {where}"
        ).fetchall()[0]
    n = int(n or 0)
    if n == 0:
        return PlannedReads([], 0, [])
    parts = max(1, math.ceil(n / rows_per_slice))
    step = (end - start) / parts
    edges = [start + i * step for i in range(parts)] + [end]
    slices = [
        ReadSlice(lh, version, None if files is None else tuple(files), where, a, b)
        for a, b in zip(edges, edges[1:], strict=False)
        if b > a
    ]
    return PlannedReads(slices, n, sorted(v for v in versions or [] if v))


class ReadPlateReads(beam.PTransform):
    """``plan.slices`` -> plate-read rows (dicts of :data:`READ_COLUMNS`), read on the workers."""

    def __init__(self, plan: PlannedReads):
        super().__init__()
        self.plan = plan

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Slices" >> beam.Create(self.plan.slices, reshuffle=False)
            | "ReadSlice" >> beam.FlatMap(ReadSlice.rows)
        )


__all__ = [
    "BATCH_ROWS",
    "READ_COLUMNS",
    "ROWS_PER_SLICE",
    "PlannedReads",
    "ReadPlateReads",
    "ReadSlice",
    "plan_reads",
]
