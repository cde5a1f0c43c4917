"""What each agency sees of the alerts, and acknowledging them (per agency).

An agency sees an alert when it is among its ``recipients`` (the owner always; the camera's agency
unless the entry is covert); an administrator (or a context without agency) sees every alert.
Acknowledgements live in ``alert_acks``, one per alert and agency: each agency acknowledges a shared
alert on its own, and each sees who of the agencies acknowledged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.dataset as pds

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext
from pipelines.watchlist.entries import WatchlistError

TABLE = "alerts"
ACKS = "alert_acks"
#: columns of a listed alert (crops on request)
LIST_COLUMNS = ["alert_id", "entry_id", "kind", "value", "ts", "camera_id", "agency", "camera_agency", "recipients",
                "covert", "priority", "reason", "case_number", "score", "distance", "matched_text", "read_id",
                "sighting_id", "source_uri", "raised_at", "latency_s"]


def sees(alert: dict[str, Any], agency: str | None) -> bool:
    return agency is None or agency in (alert.get("recipients") or [])


def list_alerts(
    lh: Lakehouse,
    ctx: SearchContext,
    *,
    since: dt.datetime | None = None,
    limit: int | None = 200,
    unacknowledged: bool = False,
    with_crops: bool = False,
    with_positions: bool = False,
) -> list[dict[str, Any]]:
    """Alerts ``ctx`` may see, newest first, each with ``acks`` ({agency: user}) and ``acknowledged``
    (by ctx's agency; any agency for an administrator). ``with_positions`` adds camera lat/lon/name."""
    agency = None if ctx.sees_all_agencies else ctx.agency
    flt = None
    if since is not None:
        flt = (pds.field("date") >= since.date()) & (pds.field("ts") >= since)
    cols = LIST_COLUMNS + (["crop_jpeg"] if with_crops else [])
    rows = [r for r in lh.read(TABLE, columns=cols, filter=flt).to_pylist() if sees(r, agency)]
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
    return {r["camera_id"]: r for r in lh.read("cameras", columns=["camera_id", "name", "lat", "lon"]).to_pylist()}


def acknowledge(lh: Lakehouse, ctx: SearchContext, alert_id: str, *, agency: str | None = None, note: str = "",
                now: dt.datetime | None = None) -> dict[str, Any]:
    """Acknowledge an alert for ctx's agency (an administrator names ``agency``). Idempotent: a
    second acknowledgement by the same agency keeps the first."""
    who = ctx.agency if not ctx.sees_all_agencies or not agency else agency
    who = who or agency
    if not who:
        raise WatchlistError("acknowledging needs an agency: pass --agency (or PESQUISA_AGENCY)")
    rows = lh.read(TABLE, columns=LIST_COLUMNS, filter=pds.field("alert_id") == alert_id).to_pylist()
    if not rows or not (sees(rows[0], None if ctx.sees_all_agencies else ctx.agency) and who in rows[0]["recipients"]):
        raise WatchlistError(f"no alert {alert_id} for agency {who}")
    ack = {"alert_id": alert_id, "agency": who, "user": ctx.user, "ts": now or dt.datetime.now(dt.UTC),
           "note": note or None}
    lh.insert_new(ACKS, [ack])
    existing = _acks(lh, [alert_id]).get(alert_id, {})
    return {**rows[0], "acks": existing, "acknowledged": who in existing, "acknowledged_by": existing.get(who)}
