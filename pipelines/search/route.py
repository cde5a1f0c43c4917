"""The route of one vehicle: its sightings in time order, with place, travel time and the implied
speed between consecutive cameras. A hop faster than ``max_speed_kmh`` is physically impossible
and flagged: one of the two reads is a misread, or two vehicles carry the same (cloned) plate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse import Lakehouse
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
from pipelines.search import plate_match as pm
from pipelines.search.area import Area, haversine_m
from pipelines.search.filters import camera_rows, resolve_filter
from pipelines.search.plates import find_plates

DEFAULT_MAX_SPEED_KMH = 200.0
#: hops shorter than this are never flagged (neighbouring cameras, clock jitter)
DEFAULT_MIN_DISTANCE_M = 100.0


@dataclass(frozen=True)
class RouteQuery:
    """Whose route: ``plate`` (a full plate, no wildcards), ``fuzzy`` to also take OCR-near reads,
    the query's own ``cameras`` / ``area``, and when a hop is impossible (faster than
    ``max_speed_kmh`` over at least ``min_distance_m``)."""

    plate: str
    fuzzy: float = 0
    cameras: tuple[str, ...] | None = None
    area: Area | None = None
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH
    min_distance_m: float = DEFAULT_MIN_DISTANCE_M
    strategy: str = "auto"

    def __post_init__(self) -> None:
        if self.cameras is not None:
            object.__setattr__(self, "cameras", tuple(str(c) for c in self.cameras))


def plate_route(lh: Lakehouse, query: RouteQuery, scope: ReadScope) -> list[dict[str, Any]]:
    """Sightings of the query's plate (best read or any candidate, within ``fuzzy``) oldest first.
    Each step adds ``step, camera_name, lat, lon`` and, from the previous step, ``from_camera_id,
    travel_s, distance_m, speed_kmh, impossible``. Needs a case number and purpose; audited as
    plates.route."""
    require_case(scope.ctx, lh, "plates.route")
    p = pm.parse_pattern(query.plate, query.fuzzy)
    if p.has_wildcards:
        raise pm.PatternError("a route needs a full plate, without ? or *")
    cams = camera_rows(lh)
    cameras = None if query.cameras is None else list(query.cameras)
    versions = scope.begin(lh, "plates.route", "plates", plate=p.text, cameras=cameras, area=query.area)
    flt = resolve_filter(lh, scope, data_type="plates", cameras=cameras, area=query.area, cams=cams)
    hits, total, used = find_plates(lh, p, flt, limit=None, strategy=query.strategy)
    route = build_route(hits, cams, max_speed_kmh=query.max_speed_kmh, min_distance_m=query.min_distance_m)
    params = {
        "plate": p.text,
        "fuzzy": p.fuzzy,
        "from": flt.start,
        "to": flt.end,
        "cameras": sorted(cameras) if cameras is not None else None,
        "area": query.area.as_dict() if query.area is not None else None,
        "max_speed_kmh": query.max_speed_kmh,
        "strategy": used,
        "impossible_hops": sum(1 for s in route if s["impossible"]),
    }
    audit(
        lh,
        scope,
        "plates.route",
        params,
        len(route),
        result_ids=[s["read_id"] for s in route],
        versions=versions,
    )
    return route


def build_route(
    hits: list[dict[str, Any]],
    cams: list[dict[str, Any]],
    *,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
) -> list[dict[str, Any]]:
    """Order sightings by time and add places and hop metrics (pure function, no I/O)."""
    where = {c["camera_id"]: c for c in cams}
    steps = sorted(hits, key=lambda h: (h["ts"], h["camera_id"], h["read_id"]))
    out: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for i, h in enumerate(steps, start=1):
        cam = where.get(h["camera_id"], {})
        step = dict(h)
        step.update(step=i, camera_name=cam.get("name"), lat=cam.get("lat"), lon=cam.get("lon"))
        step.update(from_camera_id=None, travel_s=None, distance_m=None, speed_kmh=None, impossible=False)
        if prev is not None:
            travel = (h["ts"] - prev["ts"]).total_seconds()
            step["from_camera_id"] = prev["camera_id"]
            step["travel_s"] = round(travel, 3)
            if None not in (step["lat"], step["lon"], prev["lat"], prev["lon"]):
                dist = float(haversine_m(prev["lat"], prev["lon"], step["lat"], step["lon"]))
                step["distance_m"] = round(dist, 1)
                if travel > 0:
                    speed = dist / travel * 3.6
                else:
                    speed = float("inf") if dist > 0 else 0.0
                step["speed_kmh"] = round(speed, 1) if speed != float("inf") else speed
                step["impossible"] = bool(dist >= min_distance_m and speed > max_speed_kmh)
        out.append(step)
        prev = step
    return out
