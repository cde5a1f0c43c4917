"""Quality domain: what a model version changed (lineage) and how well each camera reads plates.

- ``lineage_report``: ``pesquisa lineage diff`` as an asset (config: the two versions and the
  selection); stored in the ``lineage`` table and shown on the app's Lineage page. Backfills
  (``extracted_video`` with a new ``model_version``, ``pesquisa backfill``) end with one on their own.
- ``camera_read_accuracy``: each camera's plate-read accuracy estimated from cross-camera consistency
  (:mod:`pipelines.read_accuracy`), daily; shown on the Cameras page. A dirty lens or a badly aimed
  camera ranks last without any ground truth.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa

from dagster_project.defs.partitions import daily
from dagster_project.defs.resources import LakehouseResource


class LineageConfig(dg.Config):
    from_version: str
    to_version: str
    cameras: list[str] = []
    start: str | None = None  # --from
    end: str | None = None  # --to (a bare date includes that day)


@dg.asset(
    group_name="quality",
    kinds={"python", "delta"},
    description="What to_version changed against from_version, per source and in total (lineage table).",
)
def lineage_report(
    context: dg.AssetExecutionContext, config: LineageConfig, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    from lakehouse.timeutil import TimeRange
    from pipelines.lineage import diff_versions, store_report

    lh = lakehouse.lakehouse()
    span = TimeRange.parse(config.start, config.end)
    rep = diff_versions(
        lh,
        config.from_version,
        config.to_version,
        cameras=config.cameras or None,
        start=span.start,
        end=span.end,
    )
    from pipelines.governance.identity import lakehouse_home, service_identity

    store_report(
        lh, rep, by=service_identity(lakehouse_home(lh), "dagster").user
    )  # the named service identity
    t = rep.totals()
    context.log.info(f"lineage {config.from_version} -> {config.to_version}: {t}")
    return dg.MaterializeResult(
        metadata={
            "report_id": rep.report_id,
            **t,
            "watchlist": dg.MetadataValue.json(rep.watchlist[:50]),
            "cases": dg.MetadataValue.json(
                [
                    {k: c[k] for k in ("case_number", "pattern")}
                    | {"gained": len(c["gained"]), "lost": len(c["lost"])}
                    for c in rep.cases
                ]
            ),
        }
    )


class AccuracyConfig(dg.Config):
    window_days: int = 7  # trailing days of reads (ending with the partition's day)
    radius_m: float = 3000.0
    min_similarity: float = 0.4


@dg.asset(
    partitions_def=daily,
    group_name="quality",
    io_manager_key="derived_io_manager",
    kinds={"python"},
    description="Per camera: plate-read accuracy estimated from agreement with neighbouring cameras "
    "(EM latent-class model; pipelines/read_accuracy.py).",
)
def camera_read_accuracy(
    context: dg.AssetExecutionContext, config: AccuracyConfig, lakehouse: LakehouseResource
) -> pa.Table:
    from pipelines.read_accuracy import AccuracyParams
    from pipelines.read_accuracy import camera_read_accuracy as estimate

    day = dt.date.fromisoformat(context.partition_key)
    end = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    rows = estimate(
        lakehouse.lakehouse(),
        start=end - dt.timedelta(days=config.window_days),
        end=end,
        params=AccuracyParams(radius_m=config.radius_m, min_similarity=config.min_similarity),
    )
    for r in rows:
        r["date"] = day
    worst = [r for r in rows if r["accuracy"] is not None]
    worst.sort(key=lambda r: r["accuracy"])
    context.add_output_metadata(
        {"cameras": len(rows), "worst": ", ".join(f"{r['camera_id']}={r['accuracy']:.2f}" for r in worst[:3])}
    )
    schema = pa.schema(
        [
            ("camera_id", pa.string()),
            ("date", pa.date32()),
            ("reads", pa.int64()),
            ("links", pa.int64()),
            ("agreeing", pa.int64()),
            ("agreement", pa.float64()),
            ("link_share", pa.float64()),
            ("accuracy", pa.float64()),
            ("agreement_fit", pa.float64()),
            ("rank", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


read_accuracy_job = dg.define_asset_job(
    "read_accuracy_job", selection=[camera_read_accuracy], partitions_def=daily
)
read_accuracy_schedule = dg.build_schedule_from_partitioned_job(
    read_accuracy_job,
    hour_of_day=4,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    name="read_accuracy_daily",
)

defs = dg.Definitions(
    assets=[lineage_report, camera_read_accuracy],
    jobs=[read_accuracy_job],
    schedules=[read_accuracy_schedule],
)
