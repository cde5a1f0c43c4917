"""Operations: table maintenance, retention and search-index refresh as jobs with schedules.

Every schedule is STOPPED by default (turn them on in the UI's Automation tab, or
``dagster schedule start -m dagster_project.definitions <name>``):

| schedule | when (UTC) | does |
|---|---|---|
| ``maintenance_nightly`` | 01:00 daily | compact small files, write checkpoints, vacuum unreferenced files (7 days) |
| ``retention_nightly`` | 01:30 daily | delete rows past each table's retention (what is kept is governance's policy, ``lakehouse.maintenance``) |
| ``index_refresh`` | every 15 min | bring the plate and face search indexes up to the tables |
| ``movement_schedule`` | 02:30 daily | yesterday's movement (trips, counts, flows, convoys) — movement domain |
| ``crime_map_daily`` | 03:15 daily | crime heat map and hot spots — crime domain |
"""

import dagster as dg

from dagster_project.defs.resources import LakehouseResource


@dg.op(description="compact, checkpoint and vacuum every table")
def maintain_tables(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> dict:
    from lakehouse import maintenance

    lh = lakehouse.lakehouse()
    out = {}
    for step in (maintenance.compact, maintenance.checkpoint, maintenance.vacuum):
        results = step(lh)
        out[step.__name__] = len(results)
        for r in results:
            context.log.info(f"{step.__name__} {r.table}: {r}")
    return out


@dg.op(description="delete rows older than each table's retention period")
def apply_retention(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> int:
    from lakehouse import maintenance

    results = maintenance.retention(lakehouse.lakehouse())
    for r in results:
        context.log.info(f"retention {r.table}: {r}")
    return len(results)


@dg.op(description="bring the plate and face search indexes up to the tables")
def refresh_indexes(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> dict:
    from pipelines.search.face_index import FaceIndex
    from pipelines.search.plate_index import PlateIndex

    lh = lakehouse.lakehouse()
    plates = PlateIndex(lh).update()
    faces = FaceIndex.for_home(lakehouse.home_path).update(lh)
    context.log.info(f"plate index: {plates}; face index: {faces}")
    return {"plates": plates, "faces": faces}


@dg.job(description="compact, checkpoint, vacuum")
def maintenance_job() -> None:
    maintain_tables()


@dg.job(description="retention deletes")
def retention_job() -> None:
    apply_retention()


@dg.job(description="search index refresh")
def index_refresh_job() -> None:
    refresh_indexes()


STOPPED = dg.DefaultScheduleStatus.STOPPED
schedules = [
    dg.ScheduleDefinition(
        name="maintenance_nightly",
        job=maintenance_job,
        cron_schedule="0 1 * * *",
        execution_timezone="UTC",
        default_status=STOPPED,
        description="compact, checkpoint and vacuum every table each night",
    ),
    dg.ScheduleDefinition(
        name="retention_nightly",
        job=retention_job,
        cron_schedule="30 1 * * *",
        execution_timezone="UTC",
        default_status=STOPPED,
        description="apply each table's retention period each night",
    ),
    dg.ScheduleDefinition(
        name="index_refresh",
        job=index_refresh_job,
        cron_schedule="*/15 * * * *",
        execution_timezone="UTC",
        default_status=STOPPED,
        description="refresh the plate and face search indexes every 15 minutes",
    ),
]

defs = dg.Definitions(jobs=[maintenance_job, retention_job, index_refresh_job], schedules=schedules)
