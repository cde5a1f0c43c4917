"""Stakeout: vehicles present in several place x time windows (near three robberies, at two
addresses on the nights of interest), ranked by how unlikely their presence is by chance.

A window is cameras and/or an area plus ``[start, end)``; each window is resolved with the same
filter builder as plate search (agency scope, version policy, ``date`` pruning). A plate present
in ``min_windows`` or more windows is a candidate.

Rarity, per time of day: for window ``i`` the baseline is every other day of the baseline period
at the same cameras and the same time of day (± ``slack_s``). If the plate was there on ``d_i`` of
those ``D_i`` days, its chance to be in window ``i`` anyway is ``p_i = (d_i + 0.5) / (D_i + 1)``;
the number of windows it would hit is Poisson-binomial and the candidate's ``p_value`` is the
chance of hitting at least as many as it did. A bus that passes every camera all day and a
commuter who is there every morning score p-values near 1; a car seen only at the windows scores
a tiny one. Names plates: needs a case; audited (``movement.stakeout``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from lakehouse.timeutil import TimeRange, parse_instant, to_epoch_us
from pipelines.governance.audit import audit, require_case, table_versions
from pipelines.governance.replay import READ_TABLES
from pipelines.governance.scope import ReadScope
from pipelines.movement.reads import TABLE, arrow, connect, version_condition
from pipelines.movement.significance import poisson_binomial_sf
from pipelines.search.area import Area, parse_bbox, parse_near
from pipelines.search.filters import camera_rows, resolve_filter

ACTION = "movement.stakeout"
DAY_S = 86400
COLUMNS = [
    "rank",
    "plate",
    "windows_hit",
    "windows",
    "p_value",
    "score",
    "expected_windows",
    "reads",
    "first_ts",
    "last_ts",
]


@dataclass(frozen=True)
class PlaceWindow:
    """Cameras and/or an area, during ``[start, end)`` (UTC)."""

    start: dt.datetime
    end: dt.datetime
    cameras: tuple[str, ...] | None = None
    area: Area | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.cameras is None and self.area is None:
            raise ValueError("a window needs cameras or an area")
        if self.end <= self.start:
            raise ValueError(f"empty window {self.start} .. {self.end}")

    @classmethod
    def parse(cls, text: str, *, tz: Any = None) -> PlaceWindow:
        """``CAM[,CAM...]@FROM..TO``, ``near:LAT,LON,M@FROM..TO`` or ``bbox:W,S,E,N@FROM..TO``
        (times as ``--from`` / ``--to``: a bare date as TO means that whole day)."""
        where, sep, when = str(text).rpartition("@")
        if not sep or ".." not in when or not where:
            raise ValueError(
                f"--at needs PLACE@FROM..TO (e.g. C0101@2026-03-02T08:00..2026-03-02T09:00), got {text!r}"
            )
        a, b = when.split("..", 1)
        start, end = parse_instant(a, tz=tz), parse_instant(b, tz=tz, end=True)
        if start is None or end is None:
            raise ValueError(f"--at needs both times: {text!r}")
        kind, _, rest = where.partition(":")
        if kind == "near" and rest:
            return cls(start, end, area=Area(near=parse_near(rest)), label=text)
        if kind == "bbox" and rest:
            return cls(start, end, area=Area(bbox=parse_bbox(rest)), label=text)
        cams = tuple(c for c in re.split(r"[,\s]+", where) if c)
        return cls(start, end, cameras=cams, label=text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "cameras": list(self.cameras) if self.cameras is not None else None,
            "area": self.area.as_dict() if self.area is not None else None,
            "label": self.label,
        }


@dataclass
class StakeoutResult:
    rows: list[dict[str, Any]]
    windows: list[dict[str, Any]]  # each window with its resolved cameras and plates seen
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)


def epoch_s(t: dt.datetime) -> float:
    return to_epoch_us(t) / 1e6


def rank_presence(
    lh: Lakehouse,
    scope: ReadScope,
    windows: Sequence[PlaceWindow],
    *,
    min_windows: int = 2,
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    baseline_days: int = 14,
    slack_s: float = 3600.0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Unaudited core shared by stakeout and crime-series leads: (ranked rows, resolved windows).

    One scan: the union of the windows' cameras during each window's time-of-day slice (± slack)
    on every day of the baseline period, by explicit ``ts`` ranges and ``date`` lists (files and
    row groups outside them are skipped). Hits (day 0, inside the window) and baseline days per
    window are then counted over those few rows."""
    if not windows:
        raise ValueError("need at least one window")
    if min_windows < 1:
        raise ValueError("--min must be >= 1")
    cams = camera_rows(lh)
    version = version_condition(lh, scope)
    if baseline is None:
        lo = min(w.start for w in windows) - dt.timedelta(days=baseline_days)
        hi = max(w.end for w in windows) + dt.timedelta(days=baseline_days)
        if scope.time.start is not None and scope.time.end is not None:
            lo, hi = scope.time.start, scope.time.end
        baseline = (lo, hi)
    resolved: list[dict[str, Any]] = []
    hit_parts, base_parts, slices = [], [], []
    scan_cams: set[str] | None = set()
    active: set[int] = set()
    for i, w in enumerate(windows):
        flt = resolve_filter(
            lh, scope.replace(time=TimeRange(w.start, w.end)), cameras=w.cameras, area=w.area, cams=cams
        )
        visible = sorted(flt.cameras) if flt.cameras is not None else None
        if flt.scope is not None and visible is not None:
            visible = [c for c in visible if c in flt.scope.cameras]
        resolved.append({**w.as_dict(), "index": i, "resolved_cameras": visible})
        if flt.nothing:
            continue
        active.add(i)
        base = resolve_filter(
            lh, scope.replace(time=TimeRange(*baseline)), cameras=w.cameras, area=w.area, cams=cams
        )
        if scan_cams is not None:
            scan_cams = None if flt.cameras is None else scan_cams | set(flt.cameras)
        hit_parts.append(f"SELECT plate, ts, {i} AS w FROM s WHERE {flt.sql()}")
        origin = epoch_s(w.start) - slack_s
        span = epoch_s(w.end) - epoch_s(w.start) + 2 * slack_s
        slices += day_slices(origin, span, baseline)
        base_parts.append(
            f"SELECT plate, {i} AS w, floor((epoch(ts) - {origin}) / {DAY_S}) AS k, "
            f"(epoch(ts) - {origin}) - floor((epoch(ts) - {origin}) / {DAY_S}) * {DAY_S} AS x "
            f"FROM s WHERE {base.sql()} AND plate IN (SELECT plate FROM cand)"
        )
        base_parts[-1] = f"SELECT plate, w, k FROM ({base_parts[-1]}) WHERE x < {span} AND k <> 0"
    rows: list[dict[str, Any]] = []
    per_window: list[dict[str, int]] = [{} for _ in windows]
    hits: list[dict[str, Any]] = []
    if hit_parts:
        where = [version, "plate IS NOT NULL", "plate <> ''", slices_sql(slices)]
        if scan_cams is not None:
            where.append("camera_id IN (" + ", ".join(sql_literal(c) for c in sorted(scan_cams)) + ")")
        with connect(lh) as con:
            found = arrow(
                con,
                f"""
                WITH s AS MATERIALIZED (
                  SELECT plate, camera_id, ts, agency, date, video_id, model_version FROM {TABLE} WHERE {" AND ".join(where)}),
                h AS ({" UNION ALL ".join(hit_parts)}),
                cand AS MATERIALIZED (
                  SELECT plate, count(DISTINCT w) AS windows_hit, list(DISTINCT w ORDER BY w) AS windows,
                         count(*) AS reads, min(ts) AS first_ts, max(ts) AS last_ts
                  FROM h GROUP BY plate HAVING count(DISTINCT w) >= {int(min_windows)}),
                b AS (SELECT plate, w, count(DISTINCT k) AS d FROM ({" UNION ALL ".join(base_parts)})
                      GROUP BY plate, w)
                SELECT cand.*, (SELECT list(struct_pack(w := b.w, d := b.d)) FROM b WHERE b.plate = cand.plate)
                       AS baseline
                FROM cand""",
            ).to_pylist()
        for r in found:
            for x in r.pop("baseline") or []:
                per_window[int(x["w"])][r["plate"]] = int(x["d"])
            hits.append(r)
    n_days = [other_days(w, baseline, slack_s) for w in windows]
    for r in hits:
        probs = [
            (per_window[i].get(r["plate"], 0) + 0.5) / (n_days[i] + 1) if i in active else 0.0
            for i in range(len(windows))
        ]
        probs = [min(p, 1.0) for p in probs]
        p = poisson_binomial_sf(probs, int(r["windows_hit"]))
        rows.append(
            dict(
                r,
                expected_windows=sum(probs),
                p_value=p,
                score=-math.log10(max(p, 1e-300)),
                baseline_days_seen=[per_window[i].get(r["plate"], 0) for i in range(len(windows))],
            )
        )
    rows.sort(key=lambda r: (r["p_value"], -r["windows_hit"], r["reads"], r["plate"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows, resolved


def day_slices(
    origin: float, span: float, baseline: tuple[dt.datetime, dt.datetime]
) -> list[tuple[float, float]]:
    """``[origin + k·day, origin + k·day + span)`` for every day ``k`` whose slice meets the baseline
    period (k = 0 included: the window itself); the whole period when the slices would overlap."""
    lo, hi = epoch_s(baseline[0]), epoch_s(baseline[1])
    if span >= DAY_S:
        return [(min(lo, origin), max(hi, origin + span))]
    k0 = math.floor((lo - origin - span) / DAY_S)
    k1 = math.ceil((hi - origin) / DAY_S)
    out = [(origin + k * DAY_S, origin + k * DAY_S + span) for k in range(k0, k1 + 1) if k != 0]
    return [(origin, origin + span)] + [(a, b) for a, b in out if b > lo and a < hi]


def slices_sql(slices: list[tuple[float, float]]) -> str:
    """``ts`` in any of the (merged) slices, with the ``date`` partitions they touch listed."""
    merged: list[list[float]] = []
    for a, b in sorted(slices):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    days: set[dt.date] = set()
    ranges = []
    for a, b in merged:
        ta = dt.datetime.fromtimestamp(a, dt.UTC)
        tb = dt.datetime.fromtimestamp(b, dt.UTC)
        d = ta.date()
        while d <= (tb - dt.timedelta(microseconds=1)).date():
            days.add(d)
            d += dt.timedelta(days=1)
        ranges.append(f"(ts >= TIMESTAMPTZ '{ta.isoformat()}' AND ts < TIMESTAMPTZ '{tb.isoformat()}')")
    date_list = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(days))
    return f"date IN ({date_list}) AND ({' OR '.join(ranges)})"


def other_days(w: PlaceWindow, baseline: tuple[dt.datetime, dt.datetime], slack_s: float) -> int:
    """Days k != 0 for which the window shifted by k days lies inside the baseline period."""
    lo, hi = epoch_s(baseline[0]), epoch_s(baseline[1])
    s, e = epoch_s(w.start) - slack_s, epoch_s(w.end) + slack_s
    k_min = math.ceil((lo - s) / DAY_S)
    k_max = math.floor((hi - e) / DAY_S)
    return max(0, k_max - k_min + 1 - (1 if k_min <= 0 <= k_max else 0))


def stakeout(
    lh: Lakehouse,
    scope: ReadScope,
    windows: Sequence[PlaceWindow],
    *,
    min_windows: int = 2,
    baseline_days: int = 14,
    limit: int | None = 50,
) -> StakeoutResult:
    """Plates present in ``min_windows`` or more of ``windows``, rarest first. ``scope.time`` (if
    set) is the baseline period; else ``baseline_days`` around the windows. Needs a case; audited."""
    require_case(scope.ctx, lh, ACTION)
    t0 = time.perf_counter()
    versions = table_versions(lh, READ_TABLES["movement"])  # for `pesquisa audit replay`
    rows, resolved = rank_presence(lh, scope, windows, min_windows=min_windows, baseline_days=baseline_days)
    total = len(rows)
    rows = rows[:limit] if limit else rows
    params = {
        "windows": [w.as_dict() for w in windows],
        "min_windows": min_windows,
        "baseline_days": baseline_days,
        **scope.time.as_dict(),
        "model_version": scope.versions.model_version,
        "limit": limit,
        "candidates": total,
    }
    audit(lh, scope.ctx, ACTION, params, len(rows), result_ids=[r["plate"] for r in rows], versions=versions)
    return StakeoutResult(rows, resolved, time.perf_counter() - t0, params)


__all__ = [
    "ACTION",
    "COLUMNS",
    "PlaceWindow",
    "StakeoutResult",
    "day_slices",
    "epoch_s",
    "other_days",
    "rank_presence",
    "slices_sql",
    "stakeout",
]
