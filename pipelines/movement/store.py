"""Movement results as Delta tables (``movement_trips|counts|flows|convoys`` in
:mod:`lakehouse.specs`), one ``date`` partition per daily run, replaced in one commit per table on a
re-run (idempotent). Each row carries the agency of its (first) camera and the model version(s) of
the reads the run used, so agency scope, version and retention apply to them like to any table.

:func:`read_movement` is their reader: the scope's agency cameras and time; tables that name
plates (trips, convoys) need a case and are audited (``movement.read``).
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


def read_movement(lh: Lakehouse, scope: ReadScope, name: str) -> pa.Table:
    """Rows of a stored movement result within the scope: days of ``scope.time``, the reader's
    agency cameras (and own rows), a pinned model version. Trips and convoys need a case; audited."""
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
        cam_col = CAMERA_OF[name]
        rows_cams = table[cam_col] if cam_col else pc.list_element(table["cameras"], 0)
        keep = pc.or_(
            pc.is_in(rows_cams, pa.array(sorted(cams.cameras), pa.string())),
            pc.equal(table["agency"], cams.agency),
        )
        table = table.filter(pc.fill_null(keep, False))
    pinned = scope.versions.model_version
    if pinned and table.num_rows:
        table = table.filter(pc.fill_null(pc.match_substring(table["model_version"], pinned), False))
    if name in NAMES_PLATES:
        audit(lh, scope.ctx, "movement.read", {"result": name, **scope.time.as_dict()}, table.num_rows)
    return table


__all__ = ["TABLE_OF", "read_movement", "store_movement"]
