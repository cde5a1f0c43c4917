"""Crime-series leads: vehicles seen near ``min_incidents`` or more incidents of a series, ranked by
rarity (a plate seen everywhere every day is no lead).

Vehicles by plate; people by face (:mod:`pipelines.movement.face_presence`: sightings grouped by
descriptor distance, the same rarity against the person's own baseline), unless ``faces=False``.

Each incident becomes a place x time window — the cameras within ``radius_m`` of it during
``[ts - window, (ts_end or ts) + window)`` — and the windows are ranked exactly as a stakeout
(:func:`pipelines.movement.stakeout.rank_presence`: presence per time of day against the plate's
own baseline). The series is picked by incident ids, or by type and time (``scope.time``).
Names plates: needs a case; audited (``crime.leads``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pds

from lakehouse import Lakehouse
from lakehouse.timeutil import TimeRange
from pipelines.governance.audit import audit, require_case, table_versions
from pipelines.governance.replay import READ_TABLES
from pipelines.governance.scope import ReadScope
from pipelines.movement.face_presence import rank_faces
from pipelines.movement.stakeout import PlaceWindow, rank_presence
from pipelines.search.area import Area

ACTION = "crime.leads"
COLUMNS = ["rank", "plate", "incidents_hit", "incidents", "p_value", "score", "expected_windows", "reads"]
FACE_COLUMNS = [
    "rank",
    "face",
    "incidents_hit",
    "incidents",
    "p_value",
    "score",
    "expected_windows",
    "sightings",
    "cameras",
]


@dataclass
class LeadsResult:
    rows: list[dict[str, Any]]
    incidents: list[dict[str, Any]]  # each with the cameras covering it
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    #: people seen near the incidents (``face`` = the best sighting's id), rarest first
    faces: list[dict[str, Any]] = field(default_factory=list)


def series_incidents(
    lh: Lakehouse,
    scope: ReadScope,
    *,
    incident_ids: Sequence[str] | None = None,
    incident_type: str | None = None,
) -> list[dict[str, Any]]:
    """The incidents of a series: by ids, or by type within ``scope.time``."""
    if not lh.exists("incidents"):
        return []
    cols = ["incident_id", "ts", "ts_end", "lat", "lon", "type", "description"]
    if incident_ids:
        expr = pds.field("incident_id").isin([str(i) for i in incident_ids])
    else:
        if not incident_type or scope.time.start is None or scope.time.end is None:
            raise ValueError("pick the series by --incident IDs, or by --type with --from and --to")
        ts_type = pa.timestamp("us", tz="UTC")
        expr = (
            (pds.field("type") == incident_type.strip().upper())
            & (pds.field("ts") >= pa.scalar(scope.time.start, ts_type))
            & (pds.field("ts") < pa.scalar(scope.time.end, ts_type))
        )
    rows = lh.read("incidents", columns=cols, filter=expr).to_pylist()
    rows.sort(key=lambda r: (r["ts"] or dt.datetime.min.replace(tzinfo=dt.UTC), r["incident_id"]))
    return rows


def crime_leads(
    lh: Lakehouse,
    scope: ReadScope,
    *,
    incident_ids: Sequence[str] | None = None,
    incident_type: str | None = None,
    radius_m: float = 500.0,
    window_s: float = 1800.0,
    min_incidents: int = 2,
    baseline_days: int = 14,
    limit: int | None = 50,
    faces: bool = True,
    face_max_distance: float | None = None,
) -> LeadsResult:
    """Vehicles (and, with ``faces``, people) near ``min_incidents`` or more incidents of the
    series, rarest first. Audited: the plates are the logged result (what `pesquisa audit replay`
    compares); the faces returned are listed in the parameters, and ``face_sightings``' version is
    recorded with the others so a replay reads the same sightings."""
    require_case(scope.ctx, lh, ACTION)
    if radius_m <= 0 or window_s <= 0:
        raise ValueError("need --radius > 0 and --window > 0")
    t0 = time.perf_counter()
    read_tables = READ_TABLES["movement"] + (("face_sightings",) if faces else ())
    versions = table_versions(lh, read_tables)  # for `pesquisa audit replay`
    incidents = series_incidents(lh, scope, incident_ids=incident_ids, incident_type=incident_type)
    if incident_ids:
        missing = sorted(set(map(str, incident_ids)) - {r["incident_id"] for r in incidents})
        if missing:
            raise ValueError(f"unknown incident(s): {', '.join(missing)}")
    usable = [r for r in incidents if r["ts"] is not None and r["lat"] is not None and r["lon"] is not None]
    if len(usable) < min_incidents:
        raise ValueError(f"{len(usable)} incident(s) with a time and a place; need at least {min_incidents}")
    pad = dt.timedelta(seconds=window_s)
    windows = [
        PlaceWindow(
            r["ts"] - pad,
            (r["ts_end"] or r["ts"]) + pad,
            area=Area(near=(float(r["lat"]), float(r["lon"]), float(radius_m))),
            label=r["incident_id"],
        )
        for r in usable
    ]
    # the baseline is around the incidents, not the series pick range
    rows, resolved = rank_presence(
        lh, scope.replace(time=TimeRange()), windows, min_windows=min_incidents, baseline_days=baseline_days
    )
    people: list[dict[str, Any]] = []
    if faces:
        people = rank_faces(
            lh,
            scope.replace(time=TimeRange()),
            windows,
            min_windows=min_incidents,
            max_distance=face_max_distance,
            baseline_days=baseline_days,
        )
    ids = [r["incident_id"] for r in usable]
    for r in [*rows, *people]:
        r["incidents_hit"] = r.pop("windows_hit")
        r["incidents"] = [ids[i] for i in r.pop("windows")]
    inc = [dict(r, cameras=w["resolved_cameras"]) for r, w in zip(usable, resolved, strict=True)]
    total, total_faces = len(rows), len(people)
    rows = rows[:limit] if limit else rows
    people = people[:limit] if limit else people
    params = {
        "incident_ids": list(incident_ids) if incident_ids else None,
        "type": incident_type,
        **scope.time.as_dict(),
        "radius_m": radius_m,
        "window_s": window_s,
        "min_incidents": min_incidents,
        "baseline_days": baseline_days,
        "incidents": ids,
        "model_version": scope.versions.model_version,
        "limit": limit,
        "candidates": total,
        "faces": faces,
        "face_candidates": total_faces,
        "face_results": [r["face"] for r in people],
    }
    audit(lh, scope.ctx, ACTION, params, len(rows), result_ids=[r["plate"] for r in rows], versions=versions)
    return LeadsResult(rows, inc, time.perf_counter() - t0, params, people)


__all__ = ["ACTION", "COLUMNS", "FACE_COLUMNS", "LeadsResult", "crime_leads", "series_incidents"]
