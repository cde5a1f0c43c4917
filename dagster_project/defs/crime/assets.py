"""Crime map assets: H3 counts by type and Getis-Ord Gi* hot spots over a trailing window of the
``incidents`` table, computed by :mod:`pipelines.crime` (the functions ``pesquisa crime heatmap`` and
``pesquisa crime hotspots`` call). Unpartitioned: each run recomputes the window ending at
``end`` (default: now), and the daily schedule keeps the map fresh.
"""

import datetime as dt

import dagster as dg

from dagster_project.defs.resources import LakehouseResource

incidents_table = dg.AssetSpec(
    "incidents",
    group_name="tables",
    kinds={"delta"},
    description="Reported incidents (Delta table, imported by `pesquisa incidents import`).",
)


class CrimeMapConfig(dg.Config):
    days: int = 90  # trailing window length
    end: str | None = (
        None  # like --to: a bare date = that whole day (home time zone); a date-time = up to it; None = now
    )
    res: int = 9  # H3 resolution
    types: list[str] = []  # incident types (empty: all)
    k: int = 1  # Gi* neighbourhood: k rings

    def window(self, tz: str | None = None) -> tuple[dt.datetime, dt.datetime]:
        """The trailing ``days`` ending at ``end`` (:meth:`lakehouse.timeutil.TimeRange.trailing`)."""
        from lakehouse.timeutil import TimeRange

        r = TimeRange.trailing(self.days, end=self.end, tz=tz)
        assert r.start is not None and r.end is not None
        return r.start, r.end


def _meta(cfg: CrimeMapConfig, start: dt.datetime, end: dt.datetime) -> dict[str, str | int]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "res": cfg.res,
        "types": ",".join(cfg.types) or "all",
    }


@dg.asset(
    deps=[incidents_table],
    group_name="crime",
    io_manager_key="derived_io_manager",
    kinds={"polars", "parquet"},
)
def crime_heatmap(context: dg.AssetExecutionContext, config: CrimeMapConfig, lakehouse: LakehouseResource):
    """Incident counts per H3 cell and type over the trailing window."""
    from pipelines.crime.heatmap import h3_counts

    lh = lakehouse.lakehouse()
    start, end = config.window(lh.settings.time.zone)
    df = h3_counts(lh, res=config.res, types=config.types or None, start=start, end=end, by_type=True)
    total = int(df["count"].sum()) if df.height else 0
    return dg.Output(df, metadata={**_meta(config, start, end), "cells": df.height, "incidents": total})


@dg.asset(
    deps=[incidents_table],
    group_name="crime",
    io_manager_key="derived_io_manager",
    kinds={"polars", "parquet"},
)
def crime_hotspots(context: dg.AssetExecutionContext, config: CrimeMapConfig, lakehouse: LakehouseResource):
    """Getis-Ord Gi* per H3 cell (hot/cold at 90/95/99 % confidence) over the trailing window."""
    from pipelines.crime.hotspots import gi_star

    lh = lakehouse.lakehouse()
    start, end = config.window(lh.settings.time.zone)
    df = gi_star(lh, res=config.res, k=config.k, types=config.types or None, start=start, end=end)
    hot = int(df["hot"].sum()) if df.height else 0
    return dg.Output(df, metadata={**_meta(config, start, end), "cells": df.height, "hot_cells": hot})


crime_map_job = dg.define_asset_job("crime_map_job", selection=dg.AssetSelection.groups("crime"))

crime_map_schedule = dg.ScheduleDefinition(
    name="crime_map_daily",
    job=crime_map_job,
    cron_schedule="15 3 * * *",
    execution_timezone="UTC",
    description="Recompute the crime heat map and hot spots every morning.",
)
