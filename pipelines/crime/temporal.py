"""Hour x weekday heat table, with aoristic spreading of incidents known only by a time window.

An incident with an exact time counts 1 in its local hour-of-week. One known only as a window
``ts .. ts_end`` (a burglary found in the morning) is spread over the hours the window overlaps,
each hour getting the share of the window it covers (aoristic analysis, Ratcliffe 2000); a window
of a week or more is spread evenly over all 168 hours. Totals therefore equal the incident count.
Hours are local wall-clock hours in ``tz``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from pipelines.crime.data import Source, load_incidents

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEK_H = 168


def hour_weekday(
    source: Source,
    *,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    tz: str = "UTC",
    aoristic: bool = True,
) -> pl.DataFrame:
    """168 rows: ``weekday`` (0 = Monday), ``day`` (Mon..Sun), ``hour`` (0..23), ``count``
    (float: aoristic shares), ``exact`` (incidents with an exact time), ``windowed`` (aoristic
    share from windows). With ``aoristic=False`` windows count 1 at their start."""
    df = load_incidents(
        source, types=types, start=start, end=end, columns=["ts", "ts_end"], require_location=False
    )
    return hour_weekday_from_frame(df, tz=tz, aoristic=aoristic)


def hour_weekday_from_frame(df: pl.DataFrame, *, tz: str = "UTC", aoristic: bool = True) -> pl.DataFrame:
    if "ts_end" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("ts_end"))
    local = df.select(
        pl.col("ts").dt.convert_time_zone(tz).dt.replace_time_zone(None).alias("t0"),
        pl.col("ts_end").dt.convert_time_zone(tz).dt.replace_time_zone(None).alias("t1"),
    ).filter(pl.col("t0").is_not_null())
    is_window = pl.col("t1").is_not_null() & (pl.col("t1") > pl.col("t0"))
    if not aoristic:
        is_window = pl.lit(False)
    exact = local.filter(~is_window).select(
        (pl.col("t0").dt.weekday() - 1).cast(pl.Int32).alias("weekday"),
        pl.col("t0").dt.hour().cast(pl.Int32).alias("hour"),
        pl.lit(1.0).alias("w"),
    )
    windows = local.filter(is_window)
    long = windows.filter((pl.col("t1") - pl.col("t0")) >= pl.duration(hours=WEEK_H))
    short = windows.filter((pl.col("t1") - pl.col("t0")) < pl.duration(hours=WEEK_H))
    spread = (
        short.with_columns(
            pl.datetime_ranges(
                pl.col("t0").dt.truncate("1h"), pl.col("t1"), interval="1h", closed="left"
            ).alias("b")
        )
        .explode("b")
        .with_columns(
            (
                (
                    pl.min_horizontal(pl.col("b") + pl.duration(hours=1), pl.col("t1"))
                    - pl.max_horizontal(pl.col("b"), pl.col("t0"))
                ).dt.total_microseconds()
                / (pl.col("t1") - pl.col("t0")).dt.total_microseconds()
            ).alias("w")
        )
        .filter(pl.col("w") > 0)
        .select(
            (pl.col("b").dt.weekday() - 1).cast(pl.Int32).alias("weekday"),
            pl.col("b").dt.hour().cast(pl.Int32).alias("hour"),
            pl.col("w"),
        )
    )
    grid = pl.DataFrame(
        {"weekday": [d for d in range(7) for _ in range(24)], "hour": list(range(24)) * 7},
        schema={"weekday": pl.Int32, "hour": pl.Int32},
    )
    ex = exact.group_by("weekday", "hour").agg(pl.col("w").sum().alias("exact"))
    win = spread.group_by("weekday", "hour").agg(pl.col("w").sum().alias("windowed"))
    out = (
        grid.join(ex, on=["weekday", "hour"], how="left")
        .join(win, on=["weekday", "hour"], how="left")
        .with_columns(pl.col("exact").fill_null(0.0), pl.col("windowed").fill_null(0.0))
        .with_columns((pl.col("windowed") + long.height / WEEK_H).alias("windowed"))
        .with_columns(
            (pl.col("exact") + pl.col("windowed")).alias("count"),
            pl.col("weekday").replace_strict(dict(enumerate(WEEKDAYS)), return_dtype=pl.String).alias("day"),
        )
        .select("weekday", "day", "hour", "count", "exact", "windowed")
        .sort("weekday", "hour")
    )
    return out


def pivot(table: pl.DataFrame, value: str = "count") -> pl.DataFrame:
    """Wide form for display: one row per hour, one column per weekday (Mon..Sun)."""
    wide = table.pivot(on="day", index="hour", values=value, aggregate_function="sum").sort("hour")
    return wide.select("hour", *[d for d in WEEKDAYS if d in wide.columns])
