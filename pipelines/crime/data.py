"""Read incidents for the crime analytics: from the ``incidents`` table through :class:`Lakehouse`
(with partition pruning on ``date``) or from an in-memory table, filtered by type and time.

Every analytic takes a ``source`` that is a :class:`~lakehouse.Lakehouse`, a Polars DataFrame or a
pyarrow Table with the incidents columns, so the same code serves the CLI, the app, notebooks and
benchmarks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from lakehouse import Lakehouse

Source = Lakehouse | pl.DataFrame | pa.Table

DEFAULT_COLUMNS = ["incident_id", "ts", "ts_end", "lat", "lon", "h3", "type"]


def parse_when(value: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """``2026-01-31``, ``2026-01-31T10:00``, an aware/naive datetime or a date -> aware UTC datetime
    (naive values are taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not a date/time: {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from exc
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def normalize_types(types: str | Iterable[str] | None) -> list[str] | None:
    """``"theft,robbery"`` or ``["Theft"]`` -> ``["THEFT", "ROBBERY"]``; empty -> None (all types)."""
    if types is None:
        return None
    if isinstance(types, str):
        types = types.split(",")
    out = [t.strip().upper() for t in types if t and t.strip()]
    return out or None


def load_incidents(
    source: Source,
    *,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    columns: Sequence[str] | None = None,
    require_location: bool = True,
) -> pl.DataFrame:
    """Incidents with ``start <= ts < end`` and ``type`` in ``types`` (case-insensitive).

    ``require_location`` drops rows without lat/lon (the importer never writes such rows, but other
    writers might)."""
    type_list = normalize_types(types)
    t0, t1 = parse_when(start), parse_when(end)
    cols = list(columns or DEFAULT_COLUMNS)
    if isinstance(source, Lakehouse):
        expr = _arrow_filter(type_list, t0, t1, require_location)
        source.ensure("incidents")
        table = source.read("incidents", columns=cols, filter=expr)
        return pl.from_arrow(table)  # type: ignore[return-value]
    df = pl.from_arrow(source) if isinstance(source, pa.Table) else source
    assert isinstance(df, pl.DataFrame)
    pred = _polars_filter(type_list, t0, t1, require_location)
    if pred is not None:
        df = df.filter(pred)
    return df.select([c for c in cols if c in df.columns])


def _arrow_filter(
    types: list[str] | None, t0: dt.datetime | None, t1: dt.datetime | None, require_location: bool
) -> ds.Expression | None:
    parts: list[ds.Expression] = []
    if types:
        # cast: pyarrow cannot prune string_view parquet statistics against a string value set
        parts.append(pc.field("type").cast(pa.string()).isin(types))
    ts_type = pa.timestamp("us", tz="UTC")
    if t0 is not None:
        parts.append(pc.field("date") >= pa.scalar(t0.date(), pa.date32()))
        parts.append(pc.field("ts") >= pa.scalar(t0, ts_type))
    if t1 is not None:
        parts.append(pc.field("date") <= pa.scalar(t1.date(), pa.date32()))
        parts.append(pc.field("ts") < pa.scalar(t1, ts_type))
    if require_location:
        parts.append(pc.field("lat").is_valid() & pc.field("lon").is_valid())
    if not parts:
        return None
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return expr


def _polars_filter(
    types: list[str] | None, t0: dt.datetime | None, t1: dt.datetime | None, require_location: bool
) -> pl.Expr | None:
    parts: list[pl.Expr] = []
    if types:
        parts.append(pl.col("type").str.to_uppercase().is_in(types))
    if t0 is not None:
        parts.append(pl.col("ts") >= t0)
    if t1 is not None:
        parts.append(pl.col("ts") < t1)
    if require_location:
        parts.append(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    if not parts:
        return None
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return expr


def filters_dict(types: Any = None, start: Any = None, end: Any = None) -> dict[str, Any]:
    """The filters as plain values, for reports and audit parameters."""
    t0, t1 = parse_when(start), parse_when(end)
    return {
        "types": normalize_types(types),
        "from": t0.isoformat() if t0 else None,
        "to": t1.isoformat() if t1 else None,
    }
