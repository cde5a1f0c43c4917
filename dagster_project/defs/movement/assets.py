"""Movement results per UTC day, computed with the Beam pipelines of :mod:`pipelines.movement`.

One Beam run per partition produces all four results (trips, OD flows between ring porticos,
convoy candidates, camera counts) over the day's reads of the current model version of each
source; :func:`pipelines.movement.store.store_movement` writes them as the day's partition of the
Delta tables ``movement_trips|flows|convoys|counts`` (lakehouse/specs.py), replacing a previous
run of that day. Trips are cut at midnight UTC (a trip crossing it becomes two, one per day).
The same run rebuilds the day's ``plate_presence`` (pipelines/movement/presence.py), and any other
day whose reads changed since its last build.
"""

import dataclasses
import datetime as dt

import dagster as dg
import pyarrow as pa

from dagster_project.defs.extraction.assets import extracted_video
from dagster_project.defs.partitions import daily
from dagster_project.defs.resources import LakehouseResource
from pipelines.movement import MovementParams, run_movement
from pipelines.movement.presence import build_presence, stale_days
from pipelines.movement.store import TABLE_OF, store_movement

#: the library's defaults: the one place a movement threshold's default is written
_DEFAULTS = MovementParams()


class MovementConfig(dg.Config):
    """Launchpad config: the fields of :class:`MovementParams` (same names, same defaults) plus
    where and how the Beam pipeline runs."""

    gap_s: float = _DEFAULTS.gap_s
    count_window_s: float = _DEFAULTS.count_window_s
    count_period_s: float | None = _DEFAULTS.count_period_s
    flow_bucket_s: float | None = _DEFAULTS.flow_bucket_s
    convoy_delta_s: float = _DEFAULTS.convoy_delta_s
    convoy_min_cameras: int = _DEFAULTS.convoy_min_cameras
    convoy_target: str | None = _DEFAULTS.convoy_target
    min_confidence: float = _DEFAULTS.min_confidence
    runner: str = "FnApiRunner"  # or BundleBasedDirectRunner, DaskRunner, FlinkRunner, ...
    runner_options: list[str] = []  # e.g. ["--flink_master=flink:8081", "--environment_type=LOOPBACK"]
    staging_dir: str | None = None  # results staging; shared storage on a cluster runner

    def params(self) -> MovementParams:
        names = [f.name for f in dataclasses.fields(MovementParams)]
        return MovementParams(**{n: getattr(self, n) for n in names})


_OUTS = {
    "movement_trips": "trips",
    "od_flows": "flows",
    "convoys": "convoys",
    "camera_counts": "counts",
}


@dg.multi_asset(
    specs=[dg.AssetSpec(name, deps=[extracted_video], kinds={"beam", "delta"}) for name in _OUTS],
    partitions_def=daily,
    group_name="movement",
)
def movement(context: dg.AssetExecutionContext, config: MovementConfig, lakehouse: LakehouseResource):
    """plate_reads of the day -> Beam (sessions, windows, co-occurrence) -> trips, flows, convoys, counts."""
    window = context.partition_time_window
    start = window.start.astimezone(dt.UTC)
    end = window.end.astimezone(dt.UTC)
    res = run_movement(
        lakehouse.lakehouse(),
        start,
        end,
        runner=config.runner,
        options=list(config.runner_options) or None,
        params=config.params(),
        staging_dir=config.staging_dir,
    )
    context.log.info(f"movement {res.summary()}")
    meta = {
        "reads": res.reads,
        "runner": res.runner,
        "seconds": round(res.seconds, 3),
        **{f"metric_{k}": v for k, v in sorted(res.metrics.items())},
    }
    day = dt.date.fromisoformat(context.partition_key)
    written = store_movement(lakehouse.lakehouse(), res, day, run_id=context.run_id[:12])
    # the plate presence index of the day (and of any other day whose reads changed since): what the
    # interactive convoy lookups read instead of scanning plate_reads
    built = build_presence(lakehouse.lakehouse(), sorted({day, *stale_days(lakehouse.lakehouse())}))
    meta["presence_days_rebuilt"] = len(built["days"])
    for asset_name, key in _OUTS.items():
        table: pa.Table = res.tables[key]
        yield dg.MaterializeResult(
            asset_key=asset_name,
            metadata={
                **meta,
                "result_rows": table.num_rows,
                "table": TABLE_OF[key],
                "rows_written": written[TABLE_OF[key]],
                "model_versions": ",".join(res.model_versions),
            },
        )


movement_job = dg.define_asset_job(
    "movement_job", selection=dg.AssetSelection.assets(movement), partitions_def=daily
)


@dg.schedule(
    job=movement_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def movement_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday's movement, each morning once the day's video is in (the daily partitions end a
    day late so today's inbox can be processed today; this picks the completed day explicitly)."""
    day = (context.scheduled_execution_time.astimezone(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"movement:{day}", partition_key=day)
