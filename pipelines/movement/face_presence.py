"""People (faces) present in several place x time windows, ranked by rarity — the face half of
crime-series leads (:mod:`pipelines.movement.leads`).

A face has no plate: one person is recognised by descriptor distance (128-d, L2 at most
``max_distance``; default the watchlist's ``face_max_distance``). The searchable sightings inside
the windows are grouped by single linkage (two sightings closer than ``max_distance`` are one
person); a person seen in ``min_windows`` or more windows is a candidate. Rarity is the plates'
(:func:`pipelines.movement.stakeout.rank_presence`): for window ``i`` the days of the baseline
period on which a sighting within ``max_distance`` of the person was made at the window's cameras
at the window's time of day (± ``slack_s``) give ``p_i = (d_i + 0.5) / (D_i + 1)``, and the
p-value is Poisson-binomial. A shopkeeper seen at the incident's camera every day is no lead.

One scan of ``face_sightings``: the union of the windows' cameras during each window's time-of-day
slices over the baseline period (``date`` and ``ts`` pruned). Reads respect agency scope for
``faces`` and the current model version. Unaudited core: the caller needs a case and audits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from lakehouse.timeutil import TimeRange
from pipelines.governance.scope import ReadScope
from pipelines.movement.significance import poisson_binomial_sf
from pipelines.movement.stakeout import DAY_S, PlaceWindow, day_slices, epoch_s, other_days, slices_sql
from pipelines.search.filters import camera_rows, resolve_filter

TABLE = "face_sightings"
COLUMNS = [
    "rank",
    "face",
    "windows_hit",
    "windows",
    "p_value",
    "score",
    "expected_windows",
    "sightings",
    "cameras",
    "first_ts",
    "last_ts",
]


def default_max_distance(lh: Lakehouse) -> float:
    """The face distance a watchlist hit uses (settings ``watchlist.face_max_distance``)."""
    return float(lh.settings.watchlist.face_max_distance)


def rank_faces(
    lh: Lakehouse,
    scope: ReadScope,
    windows: Sequence[PlaceWindow],
    *,
    min_windows: int = 2,
    max_distance: float | None = None,
    min_quality: float = 0.0,
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    baseline_days: int = 14,
    slack_s: float = 3600.0,
) -> list[dict[str, Any]]:
    """People seen in ``min_windows`` or more of ``windows``, rarest first (see the module doc)."""
    if not windows:
        raise ValueError("need at least one window")
    if min_windows < 1:
        raise ValueError("--min must be >= 1")
    thr = default_max_distance(lh) if max_distance is None else float(max_distance)
    if not 0 < thr <= 2:
        raise ValueError("max_distance must be in (0, 2]")
    if not lh.exists(TABLE):
        return []
    cams = camera_rows(lh)
    if baseline is None:
        lo = min(w.start for w in windows) - dt.timedelta(days=baseline_days)
        hi = max(w.end for w in windows) + dt.timedelta(days=baseline_days)
        if scope.time.start is not None and scope.time.end is not None:
            lo, hi = scope.time.start, scope.time.end
        baseline = (lo, hi)
    hit_exprs, base_exprs, slices, active = [], [], [], set()
    scan_cams: set[str] | None = set()
    for i, w in enumerate(windows):
        flt = resolve_filter(
            lh,
            scope.replace(time=TimeRange(w.start, w.end)),
            data_type="faces",
            cameras=w.cameras,
            area=w.area,
            cams=cams,
        )
        if flt.nothing:
            continue
        active.add(i)
        base = resolve_filter(
            lh,
            scope.replace(time=TimeRange(*baseline)),
            data_type="faces",
            cameras=w.cameras,
            area=w.area,
            cams=cams,
        )
        if scan_cams is not None:
            scan_cams = None if flt.cameras is None else scan_cams | set(flt.cameras)
        origin = epoch_s(w.start) - slack_s
        span = epoch_s(w.end) - epoch_s(w.start) + 2 * slack_s
        slices += day_slices(origin, span, baseline)
        k = f"floor((epoch(ts) - {origin}) / {DAY_S})"
        hit_exprs.append(f"CASE WHEN {flt.sql()} THEN {i} END")
        base_exprs.append(
            f"CASE WHEN {base.sql()} AND (epoch(ts) - {origin}) - {k} * {DAY_S} < {span} AND {k} <> 0 "
            f"THEN struct_pack(w := {i}, k := CAST({k} AS BIGINT)) END"
        )
    if not active:
        return []
    where = ["searchable", f"coalesce(quality, 0) >= {float(min_quality)}", slices_sql(slices)]
    if scan_cams is not None:
        where.append("camera_id IN (" + ", ".join(sql_literal(c) for c in sorted(scan_cams)) + ")")
    con = lh.duckdb([TABLE])
    try:
        con.execute("SET TimeZone = 'UTC'")
        found = con.sql(
            f"""
            WITH s AS MATERIALIZED (
              SELECT sighting_id, camera_id, ts, agency, date, video_id, model_version, quality, embedding
              FROM {TABLE} WHERE {" AND ".join(where)}),
            t AS (SELECT sighting_id, camera_id, ts, quality, embedding,
                         list_filter([{", ".join(hit_exprs)}], lambda x: x IS NOT NULL) AS hit,
                         list_filter([{", ".join(base_exprs)}], lambda x: x IS NOT NULL) AS base
                  FROM s)
            SELECT * FROM t WHERE len(hit) > 0 OR len(base) > 0 ORDER BY ts, sighting_id"""
        ).to_arrow_table()
    finally:
        con.close()
    if found.num_rows == 0:
        return []
    rows = found.drop_columns(["embedding"]).to_pylist()
    emb = np.asarray(found["embedding"].to_pylist(), dtype=np.float32)
    hit_idx = [j for j, r in enumerate(rows) if r["hit"]]
    people = _components(emb[hit_idx], thr)
    groups: dict[int, list[int]] = {}
    for j, g in zip(hit_idx, people, strict=True):
        groups.setdefault(g, []).append(j)
    cands = []
    for members in groups.values():
        wins = sorted({w for j in members for w in rows[j]["hit"]})
        if len(wins) >= min_windows:
            cands.append((members, wins))
    base_idx = [j for j, r in enumerate(rows) if r["base"]]
    n_days = [other_days(w, baseline, slack_s) for w in windows]
    out = []
    for members, wins in cands:
        seen: dict[int, set[int]] = {}
        if base_idx:
            d = _min_distance(emb[base_idx], emb[members])
            for j, dist in zip(base_idx, d, strict=True):
                if dist <= thr:
                    for x in rows[j]["base"]:
                        seen.setdefault(int(x["w"]), set()).add(int(x["k"]))
        days_seen = [len(seen.get(i, ())) for i in range(len(windows))]
        probs = [
            min((days_seen[i] + 0.5) / (n_days[i] + 1), 1.0) if i in active else 0.0
            for i in range(len(windows))
        ]
        p = poisson_binomial_sf(probs, len(wins))
        hits = [rows[j] for j in members]
        best = max(hits, key=lambda r: (r["quality"] or 0.0, r["sighting_id"]))
        out.append(
            {
                "face": best["sighting_id"],
                "windows_hit": len(wins),
                "windows": wins,
                "p_value": p,
                "score": -math.log10(max(p, 1e-300)),
                "expected_windows": sum(probs),
                "sightings": len(hits),
                "sighting_ids": [r["sighting_id"] for r in hits],
                "cameras": sorted({r["camera_id"] for r in hits}),
                "first_ts": min(r["ts"] for r in hits),
                "last_ts": max(r["ts"] for r in hits),
                "best_quality": best["quality"],
                "baseline_days_seen": days_seen,
            }
        )
    out.sort(key=lambda r: (r["p_value"], -r["windows_hit"], r["sightings"], r["face"]))
    for i, r in enumerate(out, 1):
        r["rank"] = i
    return out


def _components(emb: np.ndarray, thr: float, chunk: int = 2048) -> list[int]:
    """Single-linkage groups of rows closer than ``thr`` (union-find over chunked distances)."""
    n = len(emb)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    sq = (emb * emb).sum(axis=1)
    for lo in range(0, n, chunk):
        block = emb[lo : lo + chunk]
        d2 = sq[lo : lo + chunk, None] + sq[None, :] - 2.0 * block @ emb.T
        ii, jj = np.nonzero(d2 <= thr * thr)
        for a, b in zip((ii + lo).tolist(), jj.tolist(), strict=True):
            if a < b:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return [find(a) for a in range(n)]


def _min_distance(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """For each row of ``a``, its smallest L2 distance to a row of ``b``."""
    sb = (b * b).sum(axis=1)
    out = np.empty(len(a), dtype=np.float64)
    for lo in range(0, len(a), chunk):
        block = a[lo : lo + chunk]
        d2 = (block * block).sum(axis=1)[:, None] + sb[None, :] - 2.0 * block @ b.T
        out[lo : lo + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


__all__ = ["COLUMNS", "TABLE", "default_max_distance", "rank_faces"]
