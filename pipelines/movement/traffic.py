"""Traffic for analysts and traffic engineers: counts per camera and hour, ring entry / exit and
origin-destination flows between porticos, over scoped reads (DuckDB).

Direction comes from the camera heading: a portico camera watches one direction of travel, and
its heading (degrees from north) is that direction. A heading pointing into the ring (within 90°
of the bearing from the portico to the ring centre, the mean of the porticos' positions) makes its
reads *entries*, otherwise *exits*. Porticos without a heading fall back to alternation: a plate's
first portico read is an entry, the next an exit, and so on.

Per plate, an entry is matched with its next exit: that pair is a trip inside the ring (time
inside, an OD pair counted in the hour of entry). An entry with no later exit in the range is a
vehicle that *entered and did not leave*. Aggregates name no plate and need no case; the list of
plates that did not leave (``include_plates=True``) does, and is audited (``movement.flows``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE, arrow, connect, scoped_reads

FLOWS_ACTION = "movement.flows"
COUNT_COLUMNS = ["camera_id", "hour", "reads", "plates"]
OD_COLUMNS = ["hour", "origin", "destination", "trips", "median_inside_s"]


def camera_counts(
    lh: Lakehouse, scope: ReadScope, *, cameras: list[str] | None = None, bucket_s: int = 3600
) -> pa.Table:
    """Reads and distinct plates per camera and time bucket (default hour), within the scope."""
    if bucket_s <= 0:
        raise ValueError("bucket must be positive seconds")
    sr = scoped_reads(lh, scope, cameras=cameras)
    if sr.nothing:
        return pa.table({c: [] for c in COUNT_COLUMNS})
    with connect(lh) as con:
        return arrow(
            con,
            f"""
            SELECT camera_id, to_timestamp(floor(epoch(ts) / {int(bucket_s)}) * {int(bucket_s)}) AS hour,
                   count(*) AS reads, count(DISTINCT plate) AS plates
            FROM {TABLE} WHERE {sr.where()} GROUP BY ALL ORDER BY hour, camera_id""",
        )


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def portico_directions(cams: list[dict[str, Any]]) -> dict[str, str | None]:
    """portico camera -> ``in`` / ``out`` from its heading (None: no heading or no position)."""
    ports = [c for c in cams if c.get("kind") == "portico"]
    placed = [c for c in ports if c.get("lat") is not None and c.get("lon") is not None]
    if not placed:
        return {c["camera_id"]: None for c in ports}
    clat = sum(c["lat"] for c in placed) / len(placed)
    clon = sum(c["lon"] for c in placed) / len(placed)
    out: dict[str, str | None] = {}
    for c in ports:
        if c.get("heading") is None or c.get("lat") is None or c.get("lon") is None:
            out[c["camera_id"]] = None
            continue
        to_centre = _bearing(c["lat"], c["lon"], clat, clon)
        diff = abs((float(c["heading"]) - to_centre + 180) % 360 - 180)
        out[c["camera_id"]] = "in" if diff < 90 else "out"
    return out


def _portico_name(cam: dict[str, Any]) -> str:
    """Group the per-direction cameras of one portico by name (``portico N inbound`` -> ``portico N``)."""
    name = str(cam.get("name") or cam["camera_id"])
    for suffix in (" inbound", " outbound"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class FlowsResult:
    od: list[dict[str, Any]]  # per hour of entry: origin, destination, trips, median time inside
    entries: int
    exits: int
    trips: int  # entry matched with an exit
    stayed: int  # entered and did not leave (within the range)
    inside_s: dict[str, float | None]  # median / p90 time inside (None: nobody inside)
    per_portico: list[dict[str, Any]]  # portico, direction, reads
    stayed_plates: list[dict[str, Any]] = field(default_factory=list)  # only with include_plates
    seconds: float = 0.0


def ring_flows(lh: Lakehouse, scope: ReadScope, *, include_plates: bool = False) -> FlowsResult:
    """Ring entries / exits, OD per hour, time inside and vehicles that did not leave."""
    if include_plates:
        require_case(scope.ctx, lh, FLOWS_ACTION)
    if scope.time.start is None or scope.time.end is None:
        raise ValueError("flows need a time window: --from and --to")
    t0 = time.perf_counter()
    sr = scoped_reads(lh, scope)
    dirs = portico_directions(sr.cams)
    names = {c["camera_id"]: _portico_name(c) for c in sr.cams if c.get("kind") == "portico"}
    rows: list[dict[str, Any]] = []
    if dirs and not sr.nothing:
        ids = ", ".join(sql_literal(c) for c in sorted(dirs))
        with connect(lh) as con:
            rows = arrow(
                con,
                f"SELECT plate, camera_id, ts FROM {TABLE} WHERE {sr.where()} AND plate IS NOT NULL "
                f"AND plate <> '' AND camera_id IN ({ids}) ORDER BY plate, ts",
            ).to_pylist()
    per_portico = Counter((names[r["camera_id"]], dirs[r["camera_id"]] or "?") for r in rows)
    by_plate: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_plate[r["plate"]].append(r)
    od: dict[tuple[dt.datetime, str, str], list[float]] = defaultdict(list)
    inside: list[float] = []
    stayed: list[dict[str, Any]] = []
    entries = exits = 0
    for plate, reads in by_plate.items():
        open_entry: dict[str, Any] | None = None
        for r in reads:
            d = dirs[r["camera_id"]] or ("out" if open_entry is not None else "in")
            if d == "in":
                entries += 1
                if (
                    open_entry is not None
                    and names[open_entry["camera_id"]] == names[r["camera_id"]]
                    and (r["ts"] - open_entry["ts"]).total_seconds() < 60
                ):
                    continue  # the same pass read twice
                open_entry = r  # a later entry replaces an unmatched one (exit not seen)
            else:
                exits += 1
                if open_entry is not None:
                    secs = (r["ts"] - open_entry["ts"]).total_seconds()
                    hour = open_entry["ts"].replace(minute=0, second=0, microsecond=0)
                    od[(hour, names[open_entry["camera_id"]], names[r["camera_id"]])].append(secs)
                    inside.append(secs)
                    open_entry = None
        if open_entry is not None:
            stayed.append(
                {"plate": plate, "entered_at": open_entry["ts"], "portico": names[open_entry["camera_id"]]}
            )
    od_rows = [
        {"hour": h, "origin": o, "destination": d, "trips": len(v), "median_inside_s": _q(v, 0.5)}
        for (h, o, d), v in sorted(od.items())
    ]
    res = FlowsResult(
        od=od_rows,
        entries=entries,
        exits=exits,
        trips=len(inside),
        stayed=len(stayed),
        inside_s={"median": _q(inside, 0.5), "p90": _q(inside, 0.9)},
        per_portico=[{"portico": p, "direction": d, "reads": n} for (p, d), n in sorted(per_portico.items())],
        stayed_plates=stayed if include_plates else [],
        seconds=time.perf_counter() - t0,
    )
    if include_plates:
        audit(
            lh,
            scope.ctx,
            FLOWS_ACTION,
            {**scope.time.as_dict(), "include_plates": True, "model_version": scope.versions.model_version},
            len(stayed),
        )
    return res


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return float(v[min(len(v) - 1, int(q * len(v)))])


__all__ = ["COUNT_COLUMNS", "FlowsResult", "OD_COLUMNS", "camera_counts", "portico_directions", "ring_flows"]
