"""A small Dagster code location for the PostgreSQL test: one daily-partitioned asset that counts a
day's plate reads through the project's :class:`LakehouseResource` and writes the count to the
``audit_log`` table, so a successful run leaves a row the test can read."""

import datetime as dt

import dagster as dg

from dagster_project.defs.resources import LakehouseResource

days = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-11-05")


@dg.asset(partitions_def=days)
def daily_plate_count(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    lh = lakehouse.lakehouse()
    day = dt.date.fromisoformat(context.partition_key)
    n = lh.read("plate_reads", columns=["read_id"], filter=None).num_rows if lh.exists("plate_reads") else 0
    lh.append(
        "audit_log",
        [
            {
                "audit_id": f"pg-{day}",
                "ts": dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC),
                "action": "daily_plate_count",
                "result_count": n,
            }
        ],
    )
    return dg.MaterializeResult(metadata={"reads": n})


daily_job = dg.define_asset_job("daily_job", selection=[daily_plate_count], partitions_def=days)
defs = dg.Definitions(
    assets=[daily_plate_count], jobs=[daily_job], resources={"lakehouse": LakehouseResource()}
)
