"""Movement results as Delta tables (``movement_trips|counts|flows|convoys`` in
:mod:`lakehouse.specs`), one ``date`` partition per daily run, replaced in one commit per table on a
re-run (idempotent). Each row carries the agency of its (first) camera and the model version(s) of
the reads the run used, so agency scope, version and retention apply to them like to any table.

:func:`read_movement` is their reader: the scope's time; tables that name plates (trips, convoys)
need a case and are audited (``movement.read``).

Agency scope: a daily run computes over every agency's reads, so a stored row can carry what its
reader may not see (another agency's read at a camera, a trip through another agency's camera, a
convoy's background rates). A reader who is not an administrator sees a row only when the reads it
derives from are all visible to it, checked on the reads themselves (:func:`cleared_cameras`): a
count or a trip when every camera of the row has that day only reads the reader may see (and at
least one); flows and convoys (aggregates over the whole day) only for a day whose reads it may
all see. Anything else is withheld (the live tools compute over exactly what the reader may see).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE as READS_TABLE
from pipelines.movement.reads import registry

TABLE_OF = {
    "trips": "movement_trips",
    "counts": "movement_counts",
    "flows": "movement_flows",
    "convoys": "movement_convoys",
}
CAMERA_OF = {"trips": "first_camera", "counts": "camera_id", "flows": "origin", "convoys": None}
NAMES_PLATES = {"trips", "convoys"}


def _first(values: Any) -> str | None:
    return values[0] if values else None


def store_movement(lh: Lakehouse, result: Any, day: dt.date, *, run_id: str | None = None) -> dict[str, int]:
    """Write a :class:`~pipelines.movement.runner.MovementResult` as the ``day`` partition of the
    four tables (replacing what a previous run of that day wrote). Returns rows per table."""
    agency_of = {c["camera_id"]: c.get("agency") for c in registry(lh)}
    versions = "+".join(sorted(getattr(result, "model_versions", []) or [])) or None
    run_id = run_id or uuid.uuid4().hex[:12]
    written = {}
    for name, table in result.tables.items():
        cam_col = CAMERA_OF[name]
        cams = table[cam_col].to_pylist() if cam_col else [_first(c) for c in table["cameras"].to_pylist()]
        n = table.num_rows
        table = (
            table.append_column("agency", pa.array([agency_of.get(c) for c in cams], pa.string()))
            .append_column("model_version", pa.array([versions] * n, pa.string()))
            .append_column("run_id", pa.array([run_id] * n, pa.string()))
            .append_column("date", pa.array([day] * n, pa.date32()))
        )
        written[TABLE_OF[name]] = lh.replace(TABLE_OF[name], table, predicate=f"date = '{day.isoformat()}'")
    return written


def cleared_cameras(
    lh: Lakehouse, cams: Any, days: list[dt.date]
) -> tuple[dict[dt.date, set[str]], set[dt.date]]:
    """For the reader whose visibility is ``cams`` (a :class:`CameraScope`): per UTC day, the cameras
    whose reads that day the reader may ALL see (at least one), and the days whose reads it may all
    see (at least one). Stored rows of erased days are cleared for nobody."""
    from pipelines.movement.reads import arrow, connect

    if not days:
        return {}, set()
    lo, hi = min(days) - dt.timedelta(days=1), max(days) + dt.timedelta(days=1)
    with connect(lh) as con:
        t = arrow(
            con,
            f"""SELECT camera_id, CAST(ts AS DATE) AS d, bool_and(vis) AS all_seen FROM (
                    SELECT camera_id, ts, COALESCE({cams.sql()}, FALSE) AS vis FROM {READS_TABLE}
                    WHERE date BETWEEN DATE '{lo.isoformat()}' AND DATE '{hi.isoformat()}')
                GROUP BY ALL""",
        ).to_pylist()
    cleared: dict[dt.date, set[str]] = {}
    dirty: set[dt.date] = set()
    for r in t:
        if r["all_seen"]:
            cleared.setdefault(r["d"], set()).add(r["camera_id"])
        else:
            dirty.add(r["d"])
    return cleared, {d for d in cleared if d not in dirty}


def _visible_rows(lh: Lakehouse, cams: Any, name: str, table: pa.Table) -> pa.Table:
    """The rows of a stored result a non-administrator may see (module doc)."""
    dates = table["date"].to_pylist()
    cleared, clean_days = cleared_cameras(lh, cams, sorted(set(dates)))
    if name in ("flows", "convoys"):
        keep = [d in clean_days for d in dates]
    else:
        col = table[CAMERA_OF[name]].to_pylist() if name == "counts" else table["cameras"].to_pylist()
        row_cams = [[c] if name == "counts" else (c or []) for c in col]
        keep = [bool(cs) and set(cs) <= cleared.get(d, set()) for cs, d in zip(row_cams, dates, strict=True)]
    return table.filter(pa.array(keep, pa.bool_()))


def read_movement(lh: Lakehouse, scope: ReadScope, name: str) -> pa.Table:
    """Rows of a stored movement result within the scope: days of ``scope.time``, only rows derived
    from reads the reader may all see (module doc), a pinned model version. Trips and convoys need
    a case; audited."""
    if name not in TABLE_OF:
        raise ValueError(f"unknown movement result {name!r}; one of {', '.join(TABLE_OF)}")
    if name in NAMES_PLATES:
        require_case(scope.ctx, lh, "movement.read")
    table_name = TABLE_OF[name]
    lh.ensure(table_name)
    import pyarrow.dataset as pds

    expr = None
    if scope.time.start is not None:
        expr = pds.field("date") >= pa.scalar(scope.time.start.date(), pa.date32())
    if scope.time.end is not None:
        e = pds.field("date") <= pa.scalar(
            (scope.time.end - dt.timedelta(microseconds=1)).date(), pa.date32()
        )
        expr = e if expr is None else expr & e
    table = lh.read(table_name, filter=expr)
    cams = scope.cameras(lh, "plates")
    if cams is not None and table.num_rows:
        table = _visible_rows(lh, cams, name, table)
    pinned = scope.versions.model_version
    if pinned and table.num_rows:
        table = table.filter(pc.fill_null(pc.match_substring(table["model_version"], pinned), False))
    if name in NAMES_PLATES:
        audit(lh, scope.ctx, "movement.read", {"result": name, **scope.time.as_dict()}, table.num_rows)
    return table


__all__ = ["TABLE_OF", "cleared_cameras", "read_movement", "store_movement"]
