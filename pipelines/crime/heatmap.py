"""Incident counts per H3 cell, optionally split by type and by period (day, week, month)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from pipelines.crime.data import Source, load_incidents
from pipelines.crime.grid import cell_centers, cells_at_res

PERIODS = {"day": "1d", "week": "1w", "month": "1mo"}


def h3_counts(
    source: Source,
    *,
    res: int = 9,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    by_type: bool = False,
    period: str | None = None,
    centers: bool = True,
) -> pl.DataFrame:
    """Counts per H3 cell at ``res``: columns ``h3``, [``type``], [``period`` (start, UTC)],
    ``count``, and the cell centre ``lat``/``lon``; sorted by count (desc) then h3.

    ``period`` is one of ``day``, ``week`` (ISO weeks, Monday start) or ``month``."""
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {period!r}")
    df = load_incidents(source, types=types, start=start, end=end, columns=["ts", "lat", "lon", "h3", "type"])
    return counts_from_frame(df, res=res, by_type=by_type, period=period, centers=centers)


def counts_from_frame(
    df: pl.DataFrame, *, res: int = 9, by_type: bool = False, period: str | None = None, centers: bool = True
) -> pl.DataFrame:
    """:func:`h3_counts` on an already loaded frame (columns lat, lon, h3, ts, type)."""
    keys = ["h3"]
    frame = df.with_columns(cells_at_res(df, res).alias("h3"))
    if by_type:
        keys.append("type")
    if period is not None:
        frame = frame.with_columns(pl.col("ts").dt.truncate(PERIODS[period]).alias("period"))
        keys.append("period")
    out = (
        frame.filter(pl.col("h3").is_not_null())
        .group_by(keys)
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort(["count", *keys], descending=[True] + [False] * len(keys))
    )
    if centers:
        uniq = out["h3"].unique().to_list()
        lat, lon = cell_centers(uniq)
        cen = pl.DataFrame({"h3": uniq, "lat": lat, "lon": lon}, schema={"h3": pl.String, "lat": pl.Float64,
                                                                          "lon": pl.Float64})
        out = out.join(cen, on="h3", how="left", maintain_order="left")
    return out
