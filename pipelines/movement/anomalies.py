"""Movement anomalies across the whole (visible) network, each hit with a plain explanation.

- ``circling``: the same plate passes ``min_cameras`` or more cameras at least ``min_passes`` times
  each within ``circling_window_s`` (a car casing a block). Vehicles active ``service_hours`` or
  more distinct hours of one day (buses, taxis) follow routes all day: they are counted, not hit.
- ``night_visits``: the same plate at the same camera at night (local time of the home time zone,
  ``night_start``..``night_end``) on ``min_nights`` or more distinct nights (service vehicles, as
  above, excluded).
- ``clone``: two reads of the plate at places too far apart for the time between them (faster than
  ``max_speed_kmh`` over at least ``min_distance_m``). Only *clean* reads count: a read with a
  confidence under ``min_confidence`` or an ambiguous second candidate (score at least
  ``ambiguity`` x the best) is an OCR misread candidate; impossible hops through such reads are
  counted as ``misreads_discounted`` and never become hits.

Names plates: needs a case; audited (``movement.anomalies``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from lakehouse.timeutil import zone
from pipelines.governance.audit import audit, require_case
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE, arrow, camera_positions, connect, scoped_reads

ACTION = "movement.anomalies"
KINDS = ("circling", "night_visits", "clone")
COLUMNS = ["kind", "plate", "first_ts", "last_ts", "cameras", "events", "explanation"]


@dataclass(frozen=True)
class AnomalyParams:
    circling_window_s: float = 3600.0
    min_passes: int = 3
    min_cameras: int = 2
    service_hours: int = 12
    night_start: int = 22  # local hour, inclusive
    night_end: int = 5  # local hour, exclusive
    min_nights: int = 3
    max_speed_kmh: float = 200.0
    min_distance_m: float = 1000.0
    min_confidence: float = 0.6
    ambiguity: float = 0.8


@dataclass
class AnomalyResult:
    rows: list[dict[str, Any]]
    counts: dict[str, int]  # hits per kind, plus misreads_discounted and service_vehicles
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)


def _fmt(t: dt.datetime, tz: dt.tzinfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _circling(con: Any, where: str, p: AnomalyParams, tz: dt.tzinfo) -> tuple[list[dict[str, Any]], int]:
    w = f"INTERVAL {int(p.circling_window_s * 1e6) - 1} MICROSECOND"
    cand = arrow(
        con,
        f"""
        WITH r AS (SELECT plate, camera_id, ts FROM {TABLE} WHERE {where} AND plate IS NOT NULL AND plate <> ''),
        loops AS (SELECT plate, camera_id, count(*) OVER (PARTITION BY plate, camera_id ORDER BY ts
                  RANGE BETWEEN CURRENT ROW AND {w} FOLLOWING) AS n FROM r),
        c AS (SELECT plate FROM loops WHERE n >= {int(p.min_passes)} GROUP BY plate
              HAVING count(DISTINCT camera_id) >= {int(p.min_cameras)}),
        busy AS (SELECT plate, max(h) AS hours FROM (SELECT plate, ts::date AS d,
                 count(DISTINCT date_trunc('hour', ts)) AS h FROM r WHERE plate IN (SELECT plate FROM c)
                 GROUP BY plate, d) GROUP BY plate)
        SELECT r.plate, r.camera_id, r.ts, busy.hours FROM r JOIN busy USING (plate) ORDER BY r.plate, r.ts""",
    )
    by_plate: dict[str, list[tuple[str, dt.datetime, int]]] = defaultdict(list)
    for r in cand.to_pylist():
        by_plate[r["plate"]].append((r["camera_id"], r["ts"], int(r["hours"])))
    hits, service = [], 0
    win = dt.timedelta(seconds=p.circling_window_s)
    for plate, reads in by_plate.items():
        if reads[0][2] >= p.service_hours:
            service += 1
            continue
        episodes: list[tuple[int, int]] = []  # (start index, end index) of maximal qualifying windows
        j = 0
        for i in range(len(reads)):
            j = max(j, i)
            while j + 1 < len(reads) and reads[j + 1][1] - reads[i][1] < win:
                j += 1
            passes: dict[str, int] = defaultdict(int)
            for cam, _, _ in reads[i : j + 1]:
                passes[cam] += 1
            if sum(1 for n in passes.values() if n >= p.min_passes) >= p.min_cameras:
                if episodes and i <= episodes[-1][1]:
                    episodes[-1] = (episodes[-1][0], j)
                else:
                    episodes.append((i, j))
        for a, b in episodes:
            seg = reads[a : b + 1]
            passes = defaultdict(int)
            for cam, _, _ in seg:
                passes[cam] += 1
            looped = sorted((c for c, n in passes.items() if n >= p.min_passes), key=lambda c: -passes[c])
            text = ", ".join(f"{c} {passes[c]}x" for c in looped)
            hits.append(
                {
                    "kind": "circling",
                    "plate": plate,
                    "first_ts": seg[0][1],
                    "last_ts": seg[-1][1],
                    "cameras": looped,
                    "events": len(seg),
                    "explanation": f"passed {text} between {_fmt(seg[0][1], tz)} and {_fmt(seg[-1][1], tz)} "
                    f"(>= {p.min_passes} passes at >= {p.min_cameras} cameras within "
                    f"{p.circling_window_s / 60:g} min)",
                }
            )
    return hits, service


def _service_sql(p: AnomalyParams) -> str:
    """Plates active ``service_hours`` or more distinct hours of some day (buses, taxis), from ``r``."""
    return (
        f"SELECT plate FROM (SELECT plate, ts::date AS d, count(DISTINCT date_trunc('hour', ts)) AS h FROM r "
        f"GROUP BY plate, d) GROUP BY plate HAVING max(h) >= {int(p.service_hours)}"
    )


def _night_visits(
    con: Any, where: str, p: AnomalyParams, tz_name: str, tz: dt.tzinfo
) -> list[dict[str, Any]]:
    night = (
        f"(hour(lt) >= {int(p.night_start)} OR hour(lt) < {int(p.night_end)})"
        if p.night_start > p.night_end
        else f"(hour(lt) >= {int(p.night_start)} AND hour(lt) < {int(p.night_end)})"
    )
    rows = arrow(
        con,
        f"""
        WITH r AS (SELECT plate, camera_id, ts, timezone('{tz_name}', ts) AS lt FROM {TABLE}
                   WHERE {where} AND plate IS NOT NULL AND plate <> ''),
        n AS (SELECT plate, camera_id, ts, (lt - INTERVAL 12 HOUR)::date AS night FROM r WHERE {night}
              AND plate IN (SELECT plate FROM r WHERE {night}) AND plate NOT IN ({_service_sql(p)}))
        SELECT plate, camera_id, count(DISTINCT night) AS nights, list(DISTINCT night ORDER BY night) AS dates,
               list(ts ORDER BY ts) AS times, min(ts) AS first_ts, max(ts) AS last_ts
        FROM n GROUP BY plate, camera_id HAVING count(DISTINCT night) >= {int(p.min_nights)}
        ORDER BY plate, camera_id""",
    ).to_pylist()
    hits = []
    for r in rows:
        times = ", ".join(t.astimezone(tz).strftime("%m-%d %H:%M") for t in r["times"][:8])
        hits.append(
            {
                "kind": "night_visits",
                "plate": r["plate"],
                "first_ts": r["first_ts"],
                "last_ts": r["last_ts"],
                "cameras": [r["camera_id"]],
                "events": int(r["nights"]),
                "explanation": f"at {r['camera_id']} on {r['nights']} distinct nights "
                f"({p.night_start:02d}:00-{p.night_end:02d}:00 local): {times}",
            }
        )
    return hits


def _clones(
    con: Any, where: str, p: AnomalyParams, cams: list[dict[str, Any]], tz: dt.tzinfo
) -> tuple[list[dict[str, Any]], int]:
    pos = camera_positions(cams)
    if not pos:
        return [], 0
    import pyarrow as pa

    con.register(
        "_campos",
        pa.table(
            {"camera_id": list(pos), "lat": [v[0] for v in pos.values()], "lon": [v[1] for v in pos.values()]}
        ),
    )
    clean = (
        f"(coalesce(confidence, 1) >= {float(p.min_confidence)} AND coalesce(list_max(list_transform("
        f"list_filter(candidates, lambda c: c.text <> plate), lambda c: c.score)), 0) < {float(p.ambiguity)} * "
        f"coalesce(list_max(list_transform(list_filter(candidates, lambda c: c.text = plate), lambda c: c.score)), "
        f"confidence, 1))"
    )
    hops_sql = """
        h AS (SELECT *, lag(camera_id) OVER w AS pcam, lag(ts) OVER w AS pts, lag(lat) OVER w AS plat,
                     lag(lon) OVER w AS plon, lag(clean) OVER w AS pclean, lag(read_id) OVER w AS pread
              FROM {src} WINDOW w AS (PARTITION BY plate ORDER BY ts, read_id)),
        d AS (SELECT *, 2 * 6371008.8 * asin(sqrt(pow(sin(radians(lat - plat) / 2), 2) + cos(radians(plat))
                     * cos(radians(lat)) * pow(sin(radians(lon - plon) / 2), 2))) AS dist_m,
                     epoch(ts) - epoch(pts) AS dt_s FROM h WHERE pcam IS NOT NULL),
        bad AS (SELECT * FROM d WHERE dist_m >= {min_d} AND (dt_s <= 0 OR dist_m / dt_s * 3.6 > {vmax}))"""
    fmt = {"min_d": float(p.min_distance_m), "vmax": float(p.max_speed_kmh)}
    base = (
        f"WITH r0 AS (SELECT read_id, plate, camera_id, ts, {clean} AS clean FROM {TABLE} WHERE {where} "
        f"AND plate IS NOT NULL AND plate <> ''), "
        f"r AS (SELECT r0.*, c.lat, c.lon FROM r0 JOIN _campos c USING (camera_id)), "
    )
    # impossible hops through a misread candidate: counted, never hits
    misreads = arrow(
        con,
        base
        + hops_sql.format(src="r", **fmt)
        + """
        SELECT count(DISTINCT x) AS n FROM (SELECT CASE WHEN NOT clean THEN read_id ELSE pread END AS x
        FROM bad WHERE NOT (clean AND pclean))""",
    )["n"][0].as_py()
    rows = arrow(
        con,
        base
        + hops_sql.format(src="(SELECT * FROM r WHERE clean)", **fmt)
        + """
        SELECT plate, pcam, camera_id, pts, ts, dist_m, dt_s FROM bad ORDER BY plate, ts""",
    ).to_pylist()
    by_plate: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_plate[r["plate"]].append(r)
    hits = []
    for plate, hops in by_plate.items():
        h = hops[0]
        speed = h["dist_m"] / h["dt_s"] * 3.6 if h["dt_s"] > 0 else float("inf")
        hits.append(
            {
                "kind": "clone",
                "plate": plate,
                "first_ts": hops[0]["pts"],
                "last_ts": hops[-1]["ts"],
                "cameras": sorted({c for x in hops for c in (x["pcam"], x["camera_id"])}),
                "events": len(hops),
                "explanation": f"clear reads at {h['pcam']} {_fmt(h['pts'], tz)} and {h['camera_id']} "
                f"{_fmt(h['ts'], tz)}: {h['dist_m'] / 1000:.1f} km in {h['dt_s']:.0f} s "
                f"({speed:.0f} km/h > {p.max_speed_kmh:g}); {len(hops)} impossible hop(s)",
            }
        )
    return hits, int(misreads or 0)


def anomalies(
    lh: Lakehouse,
    scope: ReadScope,
    *,
    kinds: tuple[str, ...] | list[str] = KINDS,
    params: AnomalyParams | None = None,
    tz: str | None = None,
) -> AnomalyResult:
    """Anomalies of ``kinds`` during ``scope.time`` (both ends required) over the reader's visible
    cameras. ``tz`` is the home time zone (night is local). Needs a case; audited."""
    require_case(scope.ctx, lh, ACTION)
    bad = sorted(set(kinds) - set(KINDS))
    if bad or not kinds:
        raise ValueError(f"unknown anomaly kind(s) {bad}; choose from {', '.join(KINDS)}")
    if scope.time.start is None or scope.time.end is None:
        raise ValueError("anomalies need a time window: --from and --to")
    p = params or AnomalyParams()
    t0 = time.perf_counter()
    tz_name = tz or "UTC"
    tzinfo = zone(tz_name)
    sr = scoped_reads(lh, scope)
    rows: list[dict[str, Any]] = []
    counts = {k: 0 for k in kinds} | {"misreads_discounted": 0, "service_vehicles": 0}
    if not sr.nothing:
        with connect(lh) as con:
            if "circling" in kinds:
                hits, counts["service_vehicles"] = _circling(con, sr.where(), p, tzinfo)
                rows += hits
            if "night_visits" in kinds:
                rows += _night_visits(con, sr.where(), p, tz_name, tzinfo)
            if "clone" in kinds:
                hits, counts["misreads_discounted"] = _clones(con, sr.where(), p, sr.cams, tzinfo)
                rows += hits
    for r in rows:
        counts[r["kind"]] += 1
    rows.sort(key=lambda r: (KINDS.index(r["kind"]), r["first_ts"], r["plate"]))
    params_out = {
        **scope.time.as_dict(),
        "kinds": list(kinds),
        "tz": tz_name,
        **p.__dict__,
        "model_version": scope.versions.model_version,
        "counts": counts,
    }
    audit(lh, scope.ctx, ACTION, params_out, len(rows))
    return AnomalyResult(rows, counts, time.perf_counter() - t0, params_out)


__all__ = ["ACTION", "COLUMNS", "KINDS", "AnomalyParams", "AnomalyResult", "anomalies"]
