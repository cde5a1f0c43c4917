"""Incident counts per H3 cell, optionally split by type and by period (day, week, month).

The counting is an aggregation pushed into the scan: at the stored resolution (9) a streaming
group-by on the ``h3`` column; at other resolutions a group-by on the coordinates, then one H3
lookup per distinct point (portal data often repeats block-level coordinates). Nothing
row-sized is materialised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from pipelines.crime.data import Source, incidents_lazy
from pipelines.crime.grid import STORED_RES, cell_centers, cells_series

PERIODS = {"day": "1d", "week": "1w", "month": "1mo"}


def cell_counts(
    source: Source,
    *,
    res: int = 9,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    by_type: bool = False,
    period: str | None = None,
) -> pl.DataFrame:
    """Unsorted counts: columns ``h3``, [``type``], [``period``], ``count`` (Int64)."""
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0..15, got {res}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {period!r}")
    lf = incidents_lazy(source, types=types, start=start, end=end)
    extra: list[str] = []
    if by_type:
        extra.append("type")
    if period is not None:
        lf = lf.with_columns(pl.col("ts").dt.truncate(PERIODS[period]).alias("period"))
        extra.append("period")
    count = pl.len().cast(pl.Int64).alias("count")
    parts: list[pl.DataFrame] = []
    if res == STORED_RES:
        parts.append(
            lf.filter(pl.col("h3").is_not_null())
            .group_by(["h3", *extra])
            .agg(count)
            .collect(engine="streaming")
        )
        by_point = lf.filter(pl.col("h3").is_null())  # rows some other writer left without a cell
    else:
        by_point = lf
    pts = by_point.group_by(["lat", "lon", *extra]).agg(count).collect(engine="streaming")
    if pts.height:
        cells = cells_series(pts["lat"].to_numpy(), pts["lon"].to_numpy(), res, name="h3")
        parts.append(pts.with_columns(cells).select("h3", *extra, "count"))
    if not parts:
        return pl.DataFrame(schema={"h3": pl.String, "count": pl.Int64})
    out = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    if len(parts) > 1 or res != STORED_RES:
        out = out.group_by(["h3", *extra]).agg(pl.col("count").sum())
    return out


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
    ``count``, and the cell centre ``lat``/``lon``; sorted by count (desc) then the keys.

    ``period`` is one of ``day``, ``week`` (ISO weeks, Monday start) or ``month``."""
    out = cell_counts(source, res=res, types=types, start=start, end=end, by_type=by_type, period=period)
    keys = [c for c in ("h3", "type", "period") if c in out.columns]
    out = out.sort(["count", *keys], descending=[True] + [False] * len(keys))
    if centers:
        uniq = out["h3"].unique().to_list()
        lat, lon = cell_centers(uniq)
        cen = pl.DataFrame(
            {"h3": uniq, "lat": lat, "lon": lon},
            schema={"h3": pl.String, "lat": pl.Float64, "lon": pl.Float64},
        )
        out = out.join(cen, on="h3", how="left", maintain_order="left")
    return out
