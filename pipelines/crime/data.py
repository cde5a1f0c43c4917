"""Read incidents for the crime analytics: from the ``incidents`` table through :class:`Lakehouse`
(a Polars ``scan_delta`` with the filters pushed down and ``date`` partitions pruned) or from an in-memory table, filtered by type and time.

Every analytic takes a ``source`` that is a :class:`~lakehouse.Lakehouse`, a Polars DataFrame or a
pyarrow Table with the incidents columns, so the same code serves the CLI, the app, notebooks and
benchmarks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import polars as pl
import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.timeutil import TimeLike, TimeRange

Source: TypeAlias = Lakehouse | pl.DataFrame | pa.Table

DEFAULT_COLUMNS = ["incident_id", "ts", "ts_end", "lat", "lon", "h3", "type"]


def time_range(start: TimeLike = None, end: TimeLike = None, *, tz: str | None = None) -> TimeRange:
    """``start`` / ``end`` as :mod:`lakehouse.timeutil` reads ``--from`` / ``--to`` (a bare date as
    ``end`` is that whole day; naive times in ``tz``, the home time zone)."""
    return TimeRange.parse(start, end, tz=tz)


def home_zone(source: Source) -> str | None:
    """The home time zone of a Lakehouse source (None: UTC for in-memory tables)."""
    return source.settings.time.zone if isinstance(source, Lakehouse) else None


def normalize_types(types: str | Iterable[str] | None) -> list[str] | None:
    """``"theft,robbery"`` or ``["Theft"]`` -> ``["THEFT", "ROBBERY"]``; empty -> None (all types)."""
    if types is None:
        return None
    if isinstance(types, str):
        types = types.split(",")
    out = [t.strip().upper() for t in types if t and t.strip()]
    return out or None


def incidents_lazy(
    source: Source,
    *,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    require_location: bool = True,
) -> pl.LazyFrame:
    """A Polars lazy scan of the filtered incidents. From a Lakehouse this is ``scan_delta`` with
    the filters pushed down (``date`` partitions pruned), so aggregations stream over the table
    without materialising it."""
    type_list = normalize_types(types)
    window = time_range(start, end, tz=home_zone(source))
    t0, t1 = window.start, window.end
    if isinstance(source, Lakehouse):
        lf = source.scan("incidents")
        has_date = True
    else:
        df = pl.from_arrow(source) if isinstance(source, pa.Table) else source
        assert isinstance(df, pl.DataFrame)
        lf = df.lazy()
        has_date = "date" in df.columns
    parts: list[pl.Expr] = []
    if type_list:
        parts.append(pl.col("type").is_in(type_list))  # stored upper case (see the incidents spec)
    if t0 is not None:
        if has_date:
            parts.append(pl.col("date") >= t0.date())
        parts.append(pl.col("ts") >= t0)
    if t1 is not None:
        if has_date:
            parts.append(pl.col("date") <= (t1 - dt.timedelta(microseconds=1)).date())
        parts.append(pl.col("ts") < t1)
    if require_location:
        parts.append(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    if parts:
        expr = parts[0]
        for p in parts[1:]:
            expr = expr & p
        lf = lf.filter(expr)
    return lf


def load_incidents(
    source: Source,
    *,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    columns: Sequence[str] | None = None,
    require_location: bool = True,
) -> pl.DataFrame:
    """Incidents with ``start <= ts < end`` and ``type`` in ``types`` (case-insensitive), only the
    given ``columns``.

    ``require_location`` drops rows without lat/lon (the importer never writes such rows, but other
    writers might)."""
    lf = incidents_lazy(source, types=types, start=start, end=end, require_location=require_location)
    names = lf.collect_schema().names()
    cols = [c for c in (columns or DEFAULT_COLUMNS) if c in names]
    return lf.select(cols).collect()


def filters_dict(
    types: Any = None, start: Any = None, end: Any = None, *, tz: str | None = None
) -> dict[str, Any]:
    """The filters as plain values, for reports and audit parameters."""
    window = time_range(start, end, tz=tz)
    t0, t1 = window.start, window.end
    return {
        "types": normalize_types(types),
        "from": t0.isoformat() if t0 else None,
        "to": t1.isoformat() if t1 else None,
    }


def incident_overview(lh: Lakehouse) -> dict[str, Any]:
    """What the incidents table holds: ``types`` (most frequent first), ``n`` rows, ``first`` and
    ``last`` incident time (None when empty)."""
    lf = lh.scan("incidents")
    types = (
        lf.filter(pl.col("type").is_not_null())
        .group_by("type")
        .agg(pl.len().alias("n"))
        .sort(["n", "type"], descending=[True, False])
        .collect()
    )
    span = lf.select(
        pl.len().alias("n"), pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last")
    ).collect()
    row = span.row(0, named=True)
    return {"types": types["type"].to_list(), "n": int(row["n"]), "first": row["first"], "last": row["last"]}
