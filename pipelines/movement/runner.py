"""Bounded movement run: plate reads of ``[start, end)`` from Delta -> Beam -> Arrow tables.

I/O stays at the edges: the driver plans the read of ``plate_reads`` (scope, pinned version, time
slices; :mod:`pipelines.movement.source`) and the workers read the slices, the pipeline in between
is pure transforms (the portico list comes from ``cameras``), and its results
come back through Parquet files in a staging directory that the driver reads into Arrow. Nothing is
committed here: the caller (Dagster's IO manager, a notebook) is the one writer of the results.

Runners (``runner=``): ``FnApiRunner`` (default, in-process, batch), ``BundleBasedDirectRunner``
(``DirectRunner`` is mapped to it: Beam's DirectRunner would otherwise try to download the Prism
binary), ``FlinkRunner`` / ``SparkRunner`` / ``PortableRunner`` / ``DataflowRunner`` with their usual
options (see docs/OPERATIONS.md), and ``DaskRunner`` (``--dask_client_address=HOST:PORT`` of a
``dask.distributed`` scheduler). On a cluster runner ``staging_dir`` must be storage every worker
and the driver can reach.

Runner portability: Beam 2.77's Dask runner groups without windows, does not finalize Beam's file
sinks, computes only the last transform's graph and reports no metrics. The transforms therefore
carry their window in the key (camera + window start, OD + departure bucket, plate sessions split
by gap after grouping, convoy horizon) and the results go through one terminal sink
(:class:`~pipelines.movement.sink.WriteTables`), so every runner gives the same tables; counters
are empty on Dask.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from lakehouse import Lakehouse
from lakehouse.timeutil import parse_instant
from pipelines.governance.scope import ReadScope
from pipelines.movement.convoys import Convoys
from pipelines.movement.counts import CameraCounts
from pipelines.movement.flows import ODFlows
from pipelines.movement.schemas import SCHEMAS
from pipelines.movement.sightings import NAMESPACE, ParseSightings
from pipelines.movement.sink import WriteTables
from pipelines.movement.source import READ_COLUMNS, ROWS_PER_SLICE, ReadPlateReads, plan_reads
from pipelines.movement.trips import Trips

log = logging.getLogger(__name__)

#: runner names that would start Prism (a binary download, fails offline) -> the local equivalent
#: and short names Beam only knows by their module path
_RUNNER_ALIASES = {
    "DirectRunner": "BundleBasedDirectRunner",
    "SwitchingDirectRunner": "BundleBasedDirectRunner",
    "DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner",
}
OUTPUTS = ("trips", "counts", "flows", "convoys")


@dataclass(frozen=True)
class MovementParams:
    """Durations and thresholds of the movement pipelines (seconds)."""

    gap_s: float = 900.0  # a new trip starts after this long without a sighting
    count_window_s: float = 3600.0  # camera count window
    count_period_s: float | None = None  # slide period; None = fixed windows
    flow_bucket_s: float | None = None  # OD flows per departure bucket; None = whole run
    convoy_delta_s: float = 60.0  # co-occurrence tolerance ±Δt
    convoy_min_cameras: int = 3  # k distinct cameras
    convoy_target: str | None = None  # one plate, or None for all pairs
    min_confidence: float = 0.0  # reads below are ignored (counted)


@dataclass
class MovementResult:
    start: dt.datetime
    end: dt.datetime
    runner: str
    reads: int
    tables: dict[str, pa.Table]
    metrics: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model_versions: list[str] = field(default_factory=list)  # of the reads the run used

    @property
    def trips(self) -> pa.Table:
        return self.tables["trips"]

    @property
    def counts(self) -> pa.Table:
        return self.tables["counts"]

    @property
    def flows(self) -> pa.Table:
        return self.tables["flows"]

    @property
    def convoys(self) -> pa.Table:
        return self.tables["convoys"]

    def summary(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "runner": self.runner,
            "reads": self.reads,
            **{name: t.num_rows for name, t in self.tables.items()},
            "seconds": round(self.seconds, 3),
            "metrics": dict(self.metrics),
        }


def pipeline_options(
    runner: str = "FnApiRunner", options: PipelineOptions | Sequence[str] | Mapping[str, Any] | None = None
) -> PipelineOptions:
    """Pipeline options with the runner set explicitly (never Beam's Prism-downloading default)."""
    runner = _RUNNER_ALIASES.get(runner, runner)
    if isinstance(options, PipelineOptions):
        opts = options.get_all_options(drop_default=True)
        return PipelineOptions(**{**opts, "runner": runner})
    if options is None:
        return PipelineOptions(runner=runner)
    if isinstance(options, Mapping):
        return PipelineOptions(runner=runner, **dict(options))
    return PipelineOptions(list(options), runner=runner)


def movement_transforms(
    rows: beam.PCollection, porticos: Iterable[str], params: MovementParams, span_s: float
) -> dict[str, beam.PCollection]:
    """Wire the four analyses onto a PCollection of plate-read rows (no I/O)."""
    sightings = rows | "Sightings" >> ParseSightings(params.min_confidence)
    trips = sightings | "Trips" >> Trips(params.gap_s)
    return {
        "trips": trips,
        "counts": sightings | "Counts" >> CameraCounts(params.count_window_s, params.count_period_s),
        "flows": trips | "Flows" >> ODFlows(porticos, params.flow_bucket_s),
        "convoys": sightings
        | "Convoys"
        >> Convoys(
            params.convoy_delta_s, params.convoy_min_cameras, span_s=span_s, target=params.convoy_target
        ),
    }


def _utc(t: dt.datetime | dt.date | str) -> dt.datetime:
    """An instant of the half-open run interval (a date = its midnight; naive = UTC)."""
    out = parse_instant(t)
    if out is None:
        raise ValueError("a movement run needs a start and an end")
    return out


def system_scope(start: dt.datetime, end: dt.datetime) -> ReadScope:
    """The scope of a scheduled job: every agency, current model versions, ``[start, end)``, as the
    named service identity ``svc-movement`` (``pipelines.governance.identity.SERVICES``)."""
    from lakehouse.timeutil import TimeRange
    from pipelines.governance.context import SearchContext
    from pipelines.governance.identity import SERVICES

    role, agency = SERVICES["movement"]
    ctx = SearchContext(user="svc-movement", role=role, agency=agency)
    return ReadScope(ctx=ctx, time=TimeRange(start, end))


def read_plate_reads(
    lh: Lakehouse,
    start: dt.datetime,
    end: dt.datetime,
    cameras: Sequence[str] | None = None,
    scope: ReadScope | None = None,
) -> pa.Table:
    """The reads of ``[start, end)`` the scope may see (agency cameras, current model version;
    ``date`` partitions pruned), columns the pipelines need."""
    from lakehouse.timeutil import TimeRange
    from pipelines.movement.reads import arrow, connect, scoped_reads

    scope = (scope or system_scope(start, end)).replace(time=TimeRange(start, end))
    sr = scoped_reads(lh, scope, cameras=cameras)
    if sr.nothing:
        return pa.table({c: pa.array([], t) for c, t in _READ_TYPES.items()})
    with connect(lh) as con:
        table = arrow(
            con, f"SELECT {', '.join(READ_COLUMNS)} FROM plate_reads WHERE {sr.where()} ORDER BY ts, read_id"
        )
    return table.cast(pa.schema([(c, _READ_TYPES[c]) for c in READ_COLUMNS]))


_READ_TYPES = {
    "read_id": pa.string(),
    "camera_id": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "plate": pa.string(),
    "confidence": pa.float32(),
    "agency": pa.string(),
    "model_version": pa.string(),
}


def portico_ids(lh: Lakehouse) -> list[str]:
    """Cameras of kind ``portico`` (the ring of plate readers at city entries)."""
    cams = lh.read("cameras", columns=["camera_id", "kind"]).to_pylist()
    return sorted(c["camera_id"] for c in cams if c["kind"] == "portico")


def collect_staged(directory: Path, name: str) -> pa.Table:
    """The rows a :class:`~pipelines.movement.sink.WriteTables` step wrote for output ``name``."""
    files = sorted(directory.glob(f"{name}-*.parquet"))
    tables = [pq.read_table(f, schema=SCHEMAS[name]) for f in files]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return SCHEMAS[name].empty_table()
    return pa.concat_tables(tables)


def _counters(result: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except NotImplementedError:  # e.g. the Dask runner collects no metrics yet
        log.warning("runner %s reports no metrics", type(result).__name__)
        return out
    for m in query["counters"]:
        value = m.committed if m.committed is not None else m.attempted
        out[m.key.metric.name] = out.get(m.key.metric.name, 0) + int(value or 0)
    return out


def run_movement(
    lh: Lakehouse,
    start: dt.datetime | dt.date | str,
    end: dt.datetime | dt.date | str,
    *,
    runner: str = "FnApiRunner",
    options: PipelineOptions | Sequence[str] | Mapping[str, Any] | None = None,
    params: MovementParams | None = None,
    cameras: Sequence[str] | None = None,
    porticos: Sequence[str] | None = None,
    staging_dir: str | Path | None = None,
    scope: ReadScope | None = None,
    rows_per_slice: int = ROWS_PER_SLICE,
) -> MovementResult:
    """Run trips, counts, OD flows and convoys over the plate reads of ``[start, end)``.

    The reads are planned here (scope, pinned table version, time slices) and read by the
    workers (:mod:`pipelines.movement.source`) in slices of about ``rows_per_slice`` reads: the
    driver never holds them.

    ``porticos`` defaults to the cameras of kind ``portico`` in the cameras table. Returns Arrow
    tables (schemas in :mod:`pipelines.movement.schemas`) plus the pipeline's counters (reads in,
    bad records by reason, trips, candidates ...).
    """
    t0 = time.perf_counter()
    params = params or MovementParams()
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"empty time range: {start} .. {end}")
    plan = plan_reads(lh, start, end, scope or system_scope(start, end), cameras, rows_per_slice)
    if porticos is None:
        porticos = portico_ids(lh)
    span_s = (end - start).total_seconds()
    own_staging = staging_dir is None
    staging = (
        Path(staging_dir) if staging_dir is not None else Path(tempfile.mkdtemp(prefix="pesquisa-movement-"))
    )
    staging.mkdir(parents=True, exist_ok=True)
    opts = pipeline_options(runner, options)
    try:
        p = beam.Pipeline(options=opts)
        rows = p | "PlateReads" >> ReadPlateReads(plan)
        outputs = movement_transforms(rows, porticos, params, span_s)
        _ = outputs | "WriteResults" >> WriteTables(staging, SCHEMAS)
        result = p.run()
        try:
            result.wait_until_finish()
        finally:
            client = getattr(result, "client", None)  # the Dask runner's client: close it
            if client is not None:
                client.close()
        tables = {name: collect_staged(staging, name) for name in OUTPUTS}
        if tables["convoys"].num_rows:
            tables["convoys"] = tables["convoys"].sort_by("rank")
        metrics = _counters(result)
    finally:
        if own_staging:
            shutil.rmtree(staging, ignore_errors=True)
    res = MovementResult(
        start,
        end,
        opts.get_all_options()["runner"],
        plan.rows,
        tables,
        metrics,
        time.perf_counter() - t0,
        plan.model_versions,
    )
    log.info("movement %s", res.summary())
    return res


__all__ = [
    "MovementParams",
    "MovementResult",
    "collect_staged",
    "pipeline_options",
    "portico_ids",
    "read_plate_reads",
    "run_movement",
]
