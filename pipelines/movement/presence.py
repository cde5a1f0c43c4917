"""Plate presence: the plate-clustered index the convoy search looks plates up in.

``plate_reads`` is laid out by time (``date`` partitions, rows in time order), so "where was plate
X" and "how often was each of these 2,000 plates at these cameras" scan whole days. The Delta table
``plate_presence`` (lakehouse/specs.py) holds, per UTC day, one row per plate x camera (x agency,
source video, model version, so agency scope and the version filter apply unchanged) with the
read count and every read time, sorted by plate in small row groups: DuckDB skips the row groups
whose plate range misses the looked-up plates (``=`` and ``IN`` lists alike).

Exactness: each day is built from one snapshot of that day's ``plate_reads`` files and carries their
fingerprint (partition ``source``). A reader (:func:`register`) uses a day's presence only while
the fingerprint still matches the day's current files; any other day (never built, appended to,
deleted from by retention) is aggregated from ``plate_reads`` on the fly. Results are therefore the
same with or without the table; it only makes them fast. :func:`build_presence` (re)builds the
days whose files changed: the daily Dagster movement asset calls it, ``pesquisa movement presence``
runs it by hand; a rebuild of a day replaces its partition in one commit (idempotent).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.specs import spec
from lakehouse.store import sql_literal
from pipelines.search.filters import RowFilter

TABLE = "plate_presence"
SOURCE = "plate_reads"
VIEW = "presence"
#: rows per Parquet row group: a plate lookup reads ~one group per day
ROW_GROUP_ROWS = 8192
_GROUP = "plate, camera_id, agency, video_id, model_version"


@dataclass(frozen=True)
class DayFiles:
    """One ``date`` partition of a table's current snapshot: its data files and their fingerprint."""

    day: dt.date
    paths: tuple[str, ...]  # absolute local paths (or table-relative ones off local storage)

    @property
    def fingerprint(self) -> str:
        names = sorted(p.rsplit("/", 1)[-1] for p in self.paths)
        return hashlib.sha1("\n".join(names).encode()).hexdigest()[:16]


def _day_files(lh: Lakehouse, name: str, extra: str | None = None) -> dict[tuple[dt.date, str], list[str]]:
    """Current data files of ``name`` per (date[, ``extra`` partition value]); nothing is created
    (a reader, a replay's pinned view, must not write)."""
    if not lh.exists(name):
        return {}
    actions = pa.table(lh.table(name).get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return {}
    root = lh.uri(name).removeprefix("file://")
    paths = [str(Path(root) / unquote(p)) if lh.storage.is_local else p for p in actions["path"].to_pylist()]
    days = actions["partition.date"].to_pylist()
    extras = actions[f"partition.{extra}"].to_pylist() if extra else [""] * len(paths)
    out: dict[tuple[dt.date, str], list[str]] = {}
    for p, d, x in zip(paths, days, extras, strict=True):
        if d is not None:
            out.setdefault((d, x or ""), []).append(p)
    return out


def source_days(lh: Lakehouse) -> dict[dt.date, DayFiles]:
    """``plate_reads``' current files per day."""
    return {d: DayFiles(d, tuple(sorted(ps))) for (d, _), ps in _day_files(lh, SOURCE).items()}


def built_days(lh: Lakehouse) -> dict[dt.date, tuple[str, list[str]]]:
    """``plate_presence``' days: (fingerprint it was built from, its files)."""
    return {d: (src, ps) for (d, src), ps in _day_files(lh, TABLE, "source").items()}


def fresh_days(lh: Lakehouse) -> dict[dt.date, list[str]]:
    """Days whose presence matches the current ``plate_reads`` files -> presence files to read."""
    src = source_days(lh)
    return {d: ps for d, (fp, ps) in built_days(lh).items() if d in src and src[d].fingerprint == fp and ps}


def stale_days(lh: Lakehouse) -> list[dt.date]:
    """Days of ``plate_reads`` without a matching presence, plus presence days whose reads are gone."""
    src = source_days(lh)
    built = built_days(lh)
    missing = [d for d, f in src.items() if built.get(d, ("", []))[0] != f.fingerprint]
    gone = [d for d in built if d not in src]
    return sorted(set(missing) | set(gone))


def build_presence(lh: Lakehouse, days: Iterable[dt.date] | None = None) -> dict[str, Any]:
    """(Re)build the presence of ``days`` (default: every stale day). One commit per day; a day with
    no reads left loses its presence rows. Returns rows written per day and seconds."""
    import duckdb

    t0 = time.perf_counter()
    todo = sorted(set(days)) if days is not None else stale_days(lh)
    src = source_days(lh)
    lh.ensure(TABLE)
    written: dict[str, int] = {}
    for day in todo:
        files = src.get(day)
        predicate = f"date = '{day.isoformat()}'"
        if files is None or not files.paths:
            lh.replace(TABLE, spec(TABLE).schema.empty_table(), predicate=predicate)
            written[day.isoformat()] = 0
            continue
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            table = con.sql(
                f"""SELECT {_GROUP}, count(*)::BIGINT AS reads, min(ts) AS first_ts, max(ts) AS last_ts,
                       list(ts ORDER BY ts) AS ts, DATE '{day.isoformat()}' AS date,
                       {sql_literal(files.fingerprint)} AS source
                FROM {_day_source(con, lh, files)}
                WHERE plate IS NOT NULL AND plate <> ''
                GROUP BY ALL ORDER BY {_GROUP}"""
            ).to_arrow_table()
        finally:
            con.close()
        written[day.isoformat()] = lh.replace(
            TABLE, table, predicate=predicate, row_group_rows=ROW_GROUP_ROWS
        )
    return {"days": written, "seconds": round(time.perf_counter() - t0, 3)}


def _day_source(con: Any, lh: Lakehouse, files: DayFiles) -> str:
    """The FROM clause reading one day of ``plate_reads``: its files by path on local storage; off
    local storage (S3) the paths are table-relative and DuckDB has no credentials, so the day is
    read through the Delta table (partition-pruned) and registered as an Arrow table."""
    if lh.storage.is_local:
        listed = ", ".join(sql_literal(p) for p in files.paths)
        return f"read_parquet([{listed}], union_by_name = true)"
    import pyarrow.dataset as ds

    day_rows = lh.dataset(SOURCE).to_table(filter=ds.field("date") == pa.scalar(files.day, pa.date32()))
    con.register("presence_day_source", day_rows)
    return "presence_day_source"


def register(con: Any, lh: Lakehouse) -> dict[str, Any]:
    """Create the view ``presence`` on ``con`` (a :func:`pipelines.movement.reads.connect`
    connection, ``plate_reads`` registered): presence files of the fresh days, ``plate_reads``
    aggregated the same way for every other day. Returns which days came from where."""
    fresh = fresh_days(lh) if lh.storage.is_local else {}
    agg = (
        f"SELECT {_GROUP}, count(*)::BIGINT AS reads, list(ts ORDER BY ts) AS ts, date FROM plate_reads "
        "WHERE plate IS NOT NULL AND plate <> ''"
    )
    if fresh:
        days = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(fresh))
        listed = ", ".join(sql_literal(p) for ps in fresh.values() for p in ps)
        sql = (
            f"SELECT {_GROUP}, reads, ts, date FROM read_parquet([{listed}], hive_partitioning = true, "
            "hive_types = {'date': DATE, 'source': VARCHAR}, union_by_name = true) "
            f"UNION ALL {agg} AND date NOT IN ({days}) GROUP BY {_GROUP}, date"
        )
    else:
        sql = f"{agg} GROUP BY {_GROUP}, date"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {VIEW} AS {sql}")
    return {"fresh_days": len(fresh)}


def _full_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """First and last UTC day lying wholly inside ``[start, end)`` (None: none does)."""
    first = (
        start.date() if start.timetz() == dt.time(0, tzinfo=start.tzinfo) else start.date() + dt.timedelta(1)
    )
    last = end.date() - dt.timedelta(days=1)
    return (first, last) if first <= last else None


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC)


def rows_where(flt: RowFilter, days: Iterable[dt.date] | None = None) -> str:
    """Conditions on ``presence`` rows for ``flt``: its cameras, agency scope and version filter
    as they are, its time range as ``date`` bounds (the read times are filtered by :func:`times`);
    ``days`` narrows to those dates."""
    conds = [replace(flt, start=None, end=None).sql()]
    if flt.start is not None:
        conds.append(f"date >= DATE '{_utc(flt.start).date().isoformat()}'")
    if flt.end is not None:
        last = (_utc(flt.end) - dt.timedelta(microseconds=1)).date()
        conds.append(f"date <= DATE '{last.isoformat()}'")
    if days is not None:
        listed = sorted(set(days))
        conds.append(
            "date IN (" + ", ".join(f"DATE '{d.isoformat()}'" for d in listed) + ")" if listed else "FALSE"
        )
    return " AND ".join(conds)


def times(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """The row's read times inside ``[start, end)`` (a list expression)."""
    conds = []
    if start is not None:
        conds.append(f"x >= TIMESTAMPTZ '{_utc(start).isoformat()}'")
    if end is not None:
        conds.append(f"x < TIMESTAMPTZ '{_utc(end).isoformat()}'")
    return f"list_filter(ts, lambda x: {' AND '.join(conds)})" if conds else "ts"


def counts_sql(where: str, start: dt.datetime, end: dt.datetime) -> str:
    """``plate, camera_id, n``: per presence row matching ``where``, its reads inside
    ``[start, end)``. Days wholly inside count ``reads`` (the read times are not even decoded); the
    first and last day count their times."""
    whole = _full_days(_utc(start), _utc(end))
    edge = f"SELECT plate, camera_id, len({times(start, end)}) AS n FROM {VIEW} WHERE {where}"
    if whole is None:
        return edge
    inside = f"date BETWEEN DATE '{whole[0].isoformat()}' AND DATE '{whole[1].isoformat()}'"
    return (
        f"SELECT plate, camera_id, reads AS n FROM {VIEW} WHERE {where} AND {inside} "
        f"UNION ALL {edge} AND NOT ({inside})"
    )


__all__ = [
    "ROW_GROUP_ROWS",
    "TABLE",
    "VIEW",
    "DayFiles",
    "build_presence",
    "built_days",
    "counts_sql",
    "fresh_days",
    "register",
    "rows_where",
    "source_days",
    "stale_days",
    "times",
]
