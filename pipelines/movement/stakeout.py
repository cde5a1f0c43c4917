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


def _epoch_s(t: dt.datetime) -> float:
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
    """Unaudited core shared by stakeout and crime-series leads: (ranked rows, resolved windows)."""
    if not windows:
        raise ValueError("need at least one window")
    if min_windows < 1:
        raise ValueError("--min must be >= 1")
    cams = camera_rows(lh)
    version = version_condition(lh, scope)
    parts, resolved = [], []
    for i, w in enumerate(windows):
        flt = resolve_filter(
            lh, scope.replace(time=TimeRange(w.start, w.end)), cameras=w.cameras, area=w.area, cams=cams
        )
        visible = sorted(flt.cameras) if flt.cameras is not None else None
        if flt.scope is not None and visible is not None:
            visible = [c for c in visible if c in flt.scope.cameras]
        resolved.append({**w.as_dict(), "index": i, "resolved_cameras": visible, "_flt": flt})
        if not flt.nothing:
            parts.append(
                f"SELECT plate, camera_id, ts, {i} AS w FROM {TABLE} WHERE {flt.sql()} AND {version} "
                f"AND plate IS NOT NULL AND plate <> ''"
            )
    if baseline is None:
        lo = min(w.start for w in windows) - dt.timedelta(days=baseline_days)
        hi = max(w.end for w in windows) + dt.timedelta(days=baseline_days)
        if scope.time.start is not None and scope.time.end is not None:
            lo, hi = scope.time.start, scope.time.end
        baseline = (lo, hi)
    rows: list[dict[str, Any]] = []
    if parts:
        with connect(lh) as con:
            hits = arrow(
                con,
                f"""
                WITH h AS ({" UNION ALL ".join(parts)})
                SELECT plate, count(DISTINCT w) AS windows_hit, list(DISTINCT w ORDER BY w) AS windows,
                       count(*) AS reads, min(ts) AS first_ts, max(ts) AS last_ts
                FROM h GROUP BY plate HAVING count(DISTINCT w) >= {int(min_windows)}""",
            ).to_pylist()
            per_window = [{r["plate"]: 0 for r in hits} for _ in windows]
            if hits:
                plates_sql = ", ".join(sql_literal(r["plate"]) for r in hits)
                for i, w in enumerate(windows):
                    flt = resolved[i]["_flt"]
                    if flt.nothing:
                        continue
                    base = resolve_filter(
                        lh,
                        scope.replace(time=TimeRange(baseline[0], baseline[1])),
                        cameras=w.cameras,
                        area=w.area,
                        cams=cams,
                    )
                    origin = _epoch_s(w.start) - slack_s
                    span = _epoch_s(w.end) - _epoch_s(w.start) + 2 * slack_s
                    q = f"""
                        SELECT plate, count(DISTINCT k) AS d FROM (
                          SELECT plate, floor((epoch(ts) - {origin}) / {DAY_S}) AS k,
                                 (epoch(ts) - {origin}) - floor((epoch(ts) - {origin}) / {DAY_S}) * {DAY_S} AS x
                          FROM {TABLE} WHERE {base.sql()} AND {version} AND plate IN ({plates_sql}))
                        WHERE x < {span} AND k <> 0 GROUP BY plate"""
                    for r in arrow(con, q).to_pylist():
                        per_window[i][r["plate"]] = int(r["d"])
        n_days = [_other_days(w, baseline, slack_s) for w in windows]
        for r in hits:
            probs = [
                (per_window[i].get(r["plate"], 0) + 0.5) / (n_days[i] + 1)
                if not resolved[i]["_flt"].nothing
                else 0.0
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
    for w in resolved:
        w.pop("_flt")
    return rows, resolved


def _other_days(w: PlaceWindow, baseline: tuple[dt.datetime, dt.datetime], slack_s: float) -> int:
    """Days k != 0 for which the window shifted by k days lies inside the baseline period."""
    lo, hi = _epoch_s(baseline[0]), _epoch_s(baseline[1])
    s, e = _epoch_s(w.start) - slack_s, _epoch_s(w.end) + slack_s
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


__all__ = ["ACTION", "COLUMNS", "PlaceWindow", "StakeoutResult", "rank_presence", "stakeout"]
