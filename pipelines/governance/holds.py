"""Legal holds (issue 12.5): named plate reads, face sightings, or a camera's data in a time range
are kept past retention until the hold is released. Placing and releasing are audited;
:func:`lakehouse.maintenance.retention` skips held rows in the tables (:func:`exempt_predicate`)
and keeps only the held rows of expired derived files (:func:`held_mask`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.specs import spec
from lakehouse.store import sql_literal

TABLE = "holds"


class HoldError(ValueError):
    """A hold request that cannot be honoured (nothing named, unknown hold, already released)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_hold(
    lh: Lakehouse,
    ctx: Any,
    case_number: str,
    *,
    read_ids: list[str] | None = None,
    sighting_ids: list[str] | None = None,
    camera_id: str | None = None,
    time_from: dt.datetime | None = None,
    time_to: dt.datetime | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Place a hold under ``case_number`` (audited as ``holds.add``)."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(
        lh,
        ctx.__class__(**{**ctx.as_dict(), "case_number": (case_number or "").strip()}),
        "cases",
        "holds.add",
        {"case_number": case_number},
    )
    case_number = (case_number or "").strip()
    if not case_number:
        raise HoldError("a hold needs a case number")
    reads = sorted({r.strip() for r in read_ids or [] if r.strip()})
    sightings = sorted({s.strip() for s in sighting_ids or [] if s.strip()})
    if camera_id is not None and (time_from is None or time_to is None):
        raise HoldError("a camera hold needs a time range (--from and --to)")
    if camera_id is None and (time_from is not None or time_to is not None):
        raise HoldError("a time range holds nothing without --camera")
    if time_from is not None and time_to is not None and time_to <= time_from:
        raise HoldError("the hold's time range ends before it starts")
    if not reads and not sightings and camera_id is None:
        raise HoldError("name what to hold: --reads, --sightings or --camera with --from/--to")
    row = {
        "hold_id": uuid.uuid4().hex[:16],
        "case_number": case_number,
        "reason": reason,
        "read_ids": reads or None,
        "sighting_ids": sightings or None,
        "camera_id": camera_id,
        "time_from": time_from,
        "time_to": time_to,
        "created_by": ctx.user,
        "created_at": _now(),
        "released_by": None,
        "released_at": None,
    }
    lh.append(TABLE, [row])
    audit_admin(
        lh,
        ctx.__class__(**{**ctx.as_dict(), "case_number": case_number}),
        "holds.add",
        {k: v for k, v in row.items() if k not in ("created_at", "released_by", "released_at")},
    )
    return row


def list_holds(lh: Lakehouse, *, active_only: bool = False) -> list[dict[str, Any]]:
    """Every hold, newest first (only unreleased ones with ``active_only``)."""
    rows = lh.table(TABLE).to_pyarrow_table().to_pylist()
    if active_only:
        rows = [r for r in rows if r["released_at"] is None]
    return sorted(rows, key=lambda r: r["created_at"] or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)


def release_hold(lh: Lakehouse, ctx: Any, hold_id: str) -> dict[str, Any]:
    """Release a hold (supervisors and admins; audited as ``holds.release``): the data it kept
    falls under retention again at the next run."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(lh, ctx, "audit", "holds.release", {"hold_id": hold_id})
    found = [r for r in list_holds(lh) if r["hold_id"] == hold_id]
    if not found:
        raise HoldError(f"no hold {hold_id!r} (see `pesquisa hold list`)")
    row = found[0]
    if row["released_at"] is not None:
        raise HoldError(f"hold {hold_id} was already released at {row['released_at'].isoformat()}")
    row = {**row, "released_by": ctx.user, "released_at": _now()}
    lh.upsert(TABLE, [row])
    audit_admin(
        lh,
        ctx.__class__(**{**ctx.as_dict(), "case_number": row["case_number"]}),
        "holds.release",
        {"hold_id": hold_id},
    )
    return row


def exempt_predicate(table: str, holds: list[dict[str, Any]]) -> str | None:
    """SQL (delta-rs) that is true for ``table``'s rows an active hold protects; None if none."""
    s = spec(table)
    cols = set(s.columns)
    parts: list[str] = []
    for h in holds:
        if h.get("released_at") is not None:
            continue
        for col, ids in (("read_id", h.get("read_ids")), ("sighting_id", h.get("sighting_ids"))):
            if ids and col in cols:
                parts.append(f"{col} IN ({', '.join(sql_literal(i) for i in ids)})")
        if h.get("camera_id") and "camera_id" in cols and s.time_column:
            tc = s.time_column
            parts.append(
                f"(camera_id = {sql_literal(h['camera_id'])} AND {tc} >= '{_ts(h['time_from'])}' "
                f"AND {tc} <= '{_ts(h['time_to'])}')"
            )
    return " OR ".join(parts) if parts else None


#: time columns a derived result may carry, in the order a camera hold looks for one
DERIVED_TIME_COLUMNS = ("ts", "start", "first_ts", "window_start", "start_ts")


def held_mask(table: pa.Table, holds: list[dict[str, Any]]) -> pa.ChunkedArray | None:
    """Which rows of an arbitrary result table (a derived Parquet file) an active hold protects:
    by ``read_id`` / ``sighting_id``, or by ``camera_id`` plus a time column in the hold's range.
    ``None`` when the table has no column a hold can name (then no row of it is held)."""
    import pyarrow.compute as pc

    names = set(table.column_names)
    tcol = next(
        (c for c in DERIVED_TIME_COLUMNS if c in names and pa.types.is_timestamp(table.schema.field(c).type)),
        None,
    )
    usable = {"read_id", "sighting_id"} & names or ("camera_id" in names and tcol is not None)
    if not usable:
        return None
    mask = pa.chunked_array([pa.array([False] * table.num_rows, pa.bool_())])
    for h in holds:
        if h.get("released_at") is not None:
            continue
        for col, ids in (("read_id", h.get("read_ids")), ("sighting_id", h.get("sighting_ids"))):
            if ids and col in names:
                mask = pc.or_(mask, pc.fill_null(pc.is_in(table[col], value_set=pa.array(ids)), False))
        if h.get("camera_id") and "camera_id" in names and tcol is not None:
            t = table[tcol]
            lo = pa.scalar(h["time_from"], t.type)
            hi = pa.scalar(h["time_to"], t.type)
            cam = pc.and_(
                pc.equal(table["camera_id"], h["camera_id"]),
                pc.and_(pc.greater_equal(t, lo), pc.less_equal(t, hi)),
            )
            mask = pc.or_(mask, pc.fill_null(cam, False))
    return mask
