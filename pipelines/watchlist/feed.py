"""What each agency sees of the alerts, and acknowledging them (per agency).

An agency sees an alert when it is among its ``recipients`` (the owner always; the camera's agency
unless the entry is covert), or when a sharing agreement in force shares the camera agency's
``alerts`` with it (never a covert entry's); an administrator sees every alert, a non-admin context
without an agency none (:mod:`pipelines.governance.scope`).
Acknowledgements live in ``alert_acks``, one per alert and agency: each agency acknowledges a shared
alert on its own, and each sees who of the agencies acknowledged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.dataset as pds

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext
from pipelines.governance.scope import ReadScope
from pipelines.watchlist.entries import WatchlistError

TABLE = "alerts"
ACKS = "alert_acks"
#: columns of a listed alert (crops on request)
LIST_COLUMNS = [
    "alert_id",
    "entry_id",
    "kind",
    "value",
    "ts",
    "camera_id",
    "agency",
    "camera_agency",
    "recipients",
    "covert",
    "priority",
    "reason",
    "case_number",
    "score",
    "distance",
    "matched_text",
    "read_id",
    "sighting_id",
    "source_uri",
    "raised_at",
    "latency_s",
]


def sees(alert: dict[str, Any], agency: str | None, shared: Any = None) -> bool:
    """``shared``: the reader's :class:`~pipelines.governance.scope.CameraScope` for ``alerts``."""
    if agency is None or agency in (alert.get("recipients") or []):
        return True
    return (
        shared is not None
        and not alert.get("covert")
        and shared.allows(alert.get("camera_id"), alert.get("camera_agency"))
    )


def list_alerts(
    lh: Lakehouse,
    scope: ReadScope | SearchContext,
    *,
    since: dt.datetime | None = None,
    limit: int | None = 200,
    unacknowledged: bool = False,
    with_crops: bool = False,
    with_positions: bool = False,
) -> list[dict[str, Any]]:
    """Alerts the reader may see, newest first, in the scope's time range (``since`` narrows its
    start), each with ``acks`` ({agency: user}) and ``acknowledged`` (by the reader's agency; any
    agency for an administrator). ``with_positions`` adds the camera's lat/lon/name."""
    if isinstance(scope, SearchContext):
        scope = ReadScope(ctx=scope)
    ctx = scope.ctx
    agency = ctx.visible_agency
    start, end = scope.time.start, scope.time.end
    if since is not None:
        start = since if start is None else max(start, since)
    flt = None
    if start is not None:
        flt = (pds.field("date") >= start.date()) & (pds.field("ts") >= start)
    if end is not None:
        e = (pds.field("date") <= end.date()) & (pds.field("ts") < end)
        flt = e if flt is None else flt & e
    cols = LIST_COLUMNS + (["crop_jpeg"] if with_crops else [])
    from pipelines.governance.scope import camera_scope

    shared = None if agency is None else camera_scope(lh, ctx, "alerts")
    rows = [r for r in lh.read(TABLE, columns=cols, filter=flt).to_pylist() if sees(r, agency, shared)]
    rows.sort(key=lambda r: (r["ts"], r["alert_id"]), reverse=True)
    if limit:
        rows = rows[: int(limit)]
    acks = _acks(lh, [r["alert_id"] for r in rows])
    cams = _cameras(lh) if with_positions else {}
    for r in rows:
        r["acks"] = acks.get(r["alert_id"], {})
        r["acknowledged"] = bool(r["acks"]) if agency is None else agency in r["acks"]
        if with_positions:
            c = cams.get(r["camera_id"], {})
            r["camera_name"], r["lat"], r["lon"] = c.get("name"), c.get("lat"), c.get("lon")
    if unacknowledged:
        rows = [r for r in rows if not r["acknowledged"]]
    return rows


def _acks(lh: Lakehouse, alert_ids: list[str]) -> dict[str, dict[str, str]]:
    if not alert_ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    for a in lh.read(ACKS, filter=pds.field("alert_id").isin(alert_ids)).to_pylist():
        out.setdefault(a["alert_id"], {})[a["agency"]] = a["user"]
    return out


def _cameras(lh: Lakehouse) -> dict[str, dict[str, Any]]:
    return {
        r["camera_id"]: r for r in lh.read("cameras", columns=["camera_id", "name", "lat", "lon"]).to_pylist()
    }


def _audit_ack(
    lh: Lakehouse,
    ctx: SearchContext,
    alert: dict[str, Any],
    agency: str,
    note: str,
    *,
    first: bool,
    now: dt.datetime,
) -> None:
    """One ``alerts.ack`` audit row per acknowledgement, under the reader's case when it names one,
    else the case of the watchlist entry that raised the alert."""
    from dataclasses import replace

    from pipelines.governance.audit import audit

    audited = replace(
        ctx,
        case_number=(ctx.case_number or "").strip() or alert.get("case_number") or "",
        purpose=(ctx.purpose or "").strip() or "alert acknowledgement",
    )
    audit(
        lh,
        audited,
        "alerts.ack",
        {
            "alert_id": alert["alert_id"],
            "entry_id": alert.get("entry_id"),
            "camera_id": alert.get("camera_id"),
            "ack_agency": agency,
            "note": note or None,
            "first": first,  # False: this agency had already acknowledged (the first ack is kept)
        },
        1,
        now=now,
        result_ids=[alert["alert_id"]],
    )


def acknowledge(
    lh: Lakehouse,
    ctx: SearchContext,
    alert_id: str,
    *,
    agency: str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Acknowledge an alert for ctx's agency (an administrator names ``agency``). Idempotent: a
    second acknowledgement by the same agency keeps the first. Every acknowledgement is audited
    (``alerts.ack``, under the reader's case or the alert's entry case)."""
    who = ctx.agency if not ctx.sees_all_agencies or not agency else agency
    who = who or agency
    if not who:
        raise WatchlistError("acknowledging needs an agency: pass --agency (or PESQUISA_AGENCY)")
    rows = lh.read(TABLE, columns=LIST_COLUMNS, filter=pds.field("alert_id") == alert_id).to_pylist()
    if not rows or not (sees(rows[0], ctx.visible_agency) and who in rows[0]["recipients"]):
        raise WatchlistError(f"no alert {alert_id} for agency {who}")
    ack_ts = now or dt.datetime.now(dt.UTC)
    ack = {
        "alert_id": alert_id,
        "agency": who,
        "user": ctx.user,
        "ts": ack_ts,
        "note": note or None,
    }
    before = _acks(lh, [alert_id]).get(alert_id, {})
    lh.insert_new(ACKS, [ack])
    existing = _acks(lh, [alert_id]).get(alert_id, {})
    _audit_ack(lh, ctx, rows[0], who, note, first=who not in before, now=ack_ts)
    return {
        **rows[0],
        "acks": existing,
        "acknowledged": who in existing,
        "acknowledged_by": existing.get(who),
    }
