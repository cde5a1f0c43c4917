"""Synthetic incident reports with planted, known patterns (ground truth for the crime analytics).

What is planted, and recorded in :attr:`SyntheticIncidents.truth`:

- **hot spots**: ``hotspots`` clusters; each is an H3 cell at ``hotspot_res`` plus its k-ring
  (``hotspot_k``), and its incidents are spread uniformly over those cells. The planted cells are
  listed exactly, so a hot-spot method can be scored cell by cell.
- **background**: incidents uniform over the bounding box (a clean null for false detections).
- **near repeats**: ``near_repeat_share`` of the incidents are follow-ups of a background
  incident, within ``near_repeat_m`` metres and ``near_repeat_days`` days after it (same type),
  the space-time interaction a Knox test should find.
- **time of day / weekday**: each type has an hour-of-day profile and all share a weekday profile.
- **time windows**: ``window_share`` of the incidents only have a window ``ts..ts_end`` (1-10 h),
  as for a burglary found in the morning.

:func:`generate_incident_table` builds the columnar Arrow table (fast, millions of rows);
:func:`generate_incidents` wraps it with rows as dicts; :func:`write_incidents_csv` writes a CSV in
open-data portal layout (``id,case_number,date,date_end,primary_type,description,latitude,
longitude,...``) that ``pesquisa incidents import`` reads back.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pyarrow as pa

from lakehouse.ids import stable_id

__all__ = [
    "DEFAULT_TYPES",
    "SyntheticIncidents",
    "generate_incident_table",
    "generate_incidents",
    "write_incidents_csv",
]

M_PER_DEG_LAT = 111_320.0

DEFAULT_TYPES = [
    "THEFT",
    "BATTERY",
    "CRIMINAL DAMAGE",
    "ASSAULT",
    "BURGLARY",
    "ROBBERY",
    "MOTOR VEHICLE THEFT",
    "NARCOTICS",
]
#: relative frequency of each default type
_TYPE_WEIGHTS = {
    "THEFT": 0.26,
    "BATTERY": 0.18,
    "CRIMINAL DAMAGE": 0.12,
    "ASSAULT": 0.10,
    "BURGLARY": 0.10,
    "ROBBERY": 0.08,
    "MOTOR VEHICLE THEFT": 0.09,
    "NARCOTICS": 0.07,
}
#: hour of peak activity per type (others: 18h); the profile is a von Mises-like bump on the clock
_PEAK_HOUR = {
    "THEFT": 15,
    "BATTERY": 23,
    "CRIMINAL DAMAGE": 21,
    "ASSAULT": 20,
    "BURGLARY": 11,
    "ROBBERY": 22,
    "MOTOR VEHICLE THEFT": 2,
    "NARCOTICS": 19,
}
#: Monday .. Sunday
WEEKDAY_WEIGHTS = [0.9, 0.85, 0.9, 0.95, 1.15, 1.3, 1.1]

_DESCRIPTIONS = {
    "THEFT": ["POCKET-PICKING", "RETAIL THEFT", "FROM BUILDING", "$500 AND UNDER"],
    "BATTERY": ["SIMPLE", "DOMESTIC BATTERY SIMPLE", "AGGRAVATED"],
    "CRIMINAL DAMAGE": ["TO VEHICLE", "TO PROPERTY"],
    "ASSAULT": ["SIMPLE", "AGGRAVATED - HANDGUN"],
    "BURGLARY": ["FORCIBLE ENTRY", "UNLAWFUL ENTRY"],
    "ROBBERY": ["ARMED - HANDGUN", "STRONG ARM - NO WEAPON"],
    "MOTOR VEHICLE THEFT": ["AUTOMOBILE", "MOTORCYCLE"],
    "NARCOTICS": ["POSSESS - CANNABIS", "POSSESS - COCAINE"],
}


def hour_profile(type_: str) -> np.ndarray:
    """Probability of each hour 0..23 for an incident type (sums to 1)."""
    peak = _PEAK_HOUR.get(type_, 18)
    hours = np.arange(24)
    w = np.exp(1.6 * np.cos(2 * np.pi * (hours - peak) / 24.0))
    return w / w.sum()


@dataclass
class SyntheticIncidents:
    """Generated incidents plus the ground truth of what was planted."""

    table: pa.Table
    hotspot_centers: list[tuple[float, float]]
    truth: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Rows as dicts: incident_id, ts, ts_end, lat, lon, type, description, source, agency."""
        return self.table.to_pylist()

    def __len__(self) -> int:
        return self.table.num_rows


def _uniform_in_cells(rng: np.random.Generator, cells: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform over the union of (near equal-area) H3 cells, by rejection sampling in
    each hexagon's bounding box against its (convex) boundary."""
    lat = np.empty(n)
    lon = np.empty(n)
    which = rng.integers(0, len(cells), size=n)
    for ci, cell in enumerate(cells):
        idx = np.flatnonzero(which == ci)
        if idx.size == 0:
            continue
        poly = np.array(h3.cell_to_boundary(cell))  # (k, 2) lat, lon; counter-clockwise
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        got_lat: list[np.ndarray] = []
        got_lon: list[np.ndarray] = []
        need = idx.size
        while need > 0:
            m = int(need * 1.6) + 16
            cand = rng.uniform(lo, hi, size=(m, 2))
            inside = _in_convex(poly, cand)
            cand = cand[inside][:need]
            got_lat.append(cand[:, 0])
            got_lon.append(cand[:, 1])
            need -= len(cand)
        lat[idx] = np.concatenate(got_lat)
        lon[idx] = np.concatenate(got_lon)
    return lat, lon


def _in_convex(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points strictly inside a convex polygon (vertices in order, either orientation)."""
    nxt = np.roll(poly, -1, axis=0)
    cross = (nxt[:, 0] - poly[:, 0])[None, :] * (pts[:, 1:2] - poly[None, :, 1]) - (nxt[:, 1] - poly[:, 1])[
        None, :
    ] * (pts[:, 0:1] - poly[None, :, 0])
    return np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)


def _pick_hotspot_cells(
    rng: np.random.Generator, bbox: tuple[float, float, float, float], count: int, res: int, k: int
) -> list[str]:
    """Hot-spot centre cells inside the inner 80% of the bbox, far enough apart that their k-rings
    and the ring around them never touch."""
    min_lon, min_lat, max_lon, max_lat = bbox
    mx, my = 0.1 * (max_lon - min_lon), 0.1 * (max_lat - min_lat)
    centers: list[str] = []
    tries = 0
    while len(centers) < count:
        tries += 1
        if tries > 20_000:
            raise ValueError(f"cannot place {count} separated hot spots in bbox {bbox} at H3 res {res}")
        lat = rng.uniform(min_lat + my, max_lat - my)
        lon = rng.uniform(min_lon + mx, max_lon - mx)
        c = h3.latlng_to_cell(lat, lon, res)
        if all(_far(c, o, 2 * k + 4) for o in centers):
            centers.append(c)
    return centers


def _far(a: str, b: str, d: int) -> bool:
    try:
        return h3.grid_distance(a, b) >= d
    except h3.H3BaseException:  # too far apart to measure on the grid
        return True


def _sample_times(
    rng: np.random.Generator, types: np.ndarray, type_names: list[str], start: dt.datetime, days: int
) -> np.ndarray:
    """Epoch microseconds: day by weekday profile, hour by the type's hour profile."""
    n = len(types)
    day_weekday = np.array([(start + dt.timedelta(days=d)).weekday() for d in range(days)])
    wd = np.asarray(WEEKDAY_WEIGHTS)[day_weekday]
    day = rng.choice(days, size=n, p=wd / wd.sum())
    hour = np.empty(n, dtype=np.int64)
    for ti, name in enumerate(type_names):
        idx = np.flatnonzero(types == ti)
        if idx.size:
            hour[idx] = rng.choice(24, size=idx.size, p=hour_profile(name))
    seconds = rng.integers(0, 3600, size=n)
    t0 = int(start.timestamp() * 1_000_000)
    return t0 + (day.astype(np.int64) * 86_400 + hour * 3600 + seconds) * 1_000_000


def generate_incident_table(
    n: int,
    bbox: tuple[float, float, float, float],
    *,
    seed: int = 0,
    start: dt.datetime,
    days: int = 90,
    hotspots: int = 5,
    hotspot_share: float = 0.4,
    near_repeat_share: float = 0.1,
    types: list[str] | None = None,
    hotspot_res: int = 9,
    hotspot_k: int = 1,
    near_repeat_m: float = 200.0,
    near_repeat_days: float = 7.0,
    window_share: float = 0.1,
    agency: str = "police911",
    source: str = "synthetic",
) -> SyntheticIncidents:
    """Columnar generator; see the module docstring for what is planted. ``bbox`` is
    ``(min_lon, min_lat, max_lon, max_lat)``; ``start`` must be timezone-aware."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    if not 0 <= hotspot_share + near_repeat_share <= 1:
        raise ValueError("hotspot_share + near_repeat_share must be within 0..1")
    rng = np.random.default_rng(seed)
    type_names = list(types or DEFAULT_TYPES)
    tw = np.array([_TYPE_WEIGHTS.get(t, 1.0 / len(type_names)) for t in type_names])
    tw = tw / tw.sum()

    n_hot = round(n * hotspot_share) if hotspots else 0
    n_nr = round(n * near_repeat_share)
    n_bg = n - n_hot - n_nr
    if n_nr and n_bg < 1:
        raise ValueError("near repeats need background incidents to repeat")
    min_lon, min_lat, max_lon, max_lat = bbox

    lat = np.empty(n)
    lon = np.empty(n)
    typ = np.empty(n, dtype=np.int64)
    # background
    lat[:n_bg] = rng.uniform(min_lat, max_lat, n_bg)
    lon[:n_bg] = rng.uniform(min_lon, max_lon, n_bg)
    typ[:n_bg] = rng.choice(len(type_names), size=n_bg, p=tw)

    # hot spots: equal shares; each has a dominant type (60%) over the overall mix
    centers = _pick_hotspot_cells(rng, bbox, hotspots, hotspot_res, hotspot_k) if n_hot else []
    hot_info: list[dict[str, Any]] = []
    pos = n_bg
    for hi, c in enumerate(centers):
        m = n_hot // len(centers) + (1 if hi < n_hot % len(centers) else 0)
        cells = sorted(h3.grid_disk(c, hotspot_k))
        hl, ho = _uniform_in_cells(rng, cells, m)
        lat[pos : pos + m], lon[pos : pos + m] = hl, ho
        dom = int(rng.integers(len(type_names)))
        t = rng.choice(len(type_names), size=m, p=tw)
        t[rng.random(m) < 0.6] = dom
        typ[pos : pos + m] = t
        clat, clon = h3.cell_to_latlng(c)
        hot_info.append(
            {"center": (clat, clon), "cell": c, "cells": cells, "n": m, "dominant_type": type_names[dom]}
        )
        pos += m

    ts = np.empty(n, dtype=np.int64)
    ts[:pos] = _sample_times(rng, typ[:pos], type_names, start, days)

    # near repeats: follow-ups of background incidents early enough for the follow-up to fit
    end_us = int((start + dt.timedelta(days=days)).timestamp() * 1_000_000)
    nr_us = int(near_repeat_days * 86_400 * 1_000_000)
    seeds_idx = np.empty(0, dtype=np.int64)
    if n_nr:
        eligible = np.flatnonzero(ts[:n_bg] < end_us - nr_us)
        if eligible.size == 0:
            raise ValueError("period too short for the near-repeat window")
        n_seeds = max(1, n_nr // 2)
        seeds_idx = rng.choice(eligible, size=min(n_seeds, eligible.size), replace=False)
        # every seed gets one follow-up; the others go to random seeds (2 per seed on average)
        extra = seeds_idx[rng.integers(0, seeds_idx.size, size=n_nr - seeds_idx.size)]
        parent = np.concatenate([seeds_idx, extra])
        r = near_repeat_m * np.sqrt(rng.random(n_nr))
        ang = rng.uniform(0, 2 * np.pi, n_nr)
        plat = lat[parent]
        lat[pos:] = plat + r * np.sin(ang) / M_PER_DEG_LAT
        lon[pos:] = lon[parent] + r * np.cos(ang) / (M_PER_DEG_LAT * np.cos(np.radians(plat)))
        ts[pos:] = ts[parent] + rng.integers(1, nr_us, size=n_nr)
        typ[pos:] = typ[parent]

    # time windows: ts stays the window start, ts_end 1..10 h later
    has_window = rng.random(n) < window_share
    ts_end = np.where(has_window, ts + rng.integers(3600, 10 * 3600, size=n) * 1_000_000, 0)

    # shuffle row order so position says nothing about the pattern
    order = rng.permutation(n)
    inv_role = np.empty(n, dtype=object)
    inv_role[:n_bg] = "background"
    inv_role[n_bg:pos] = "hotspot"
    inv_role[pos:] = "near_repeat"
    prefix = stable_id("synthetic-incident", seed, tuple(bbox), start.isoformat(), length=10)
    ids = np.char.add(f"syn-{prefix}-", np.char.zfill(np.arange(n).astype("U10"), 8)).astype(object)

    desc_choices = [np.array(_DESCRIPTIONS.get(t, ["UNSPECIFIED"]), dtype=object) for t in type_names]
    desc = np.empty(n, dtype=object)
    pick = rng.random(n)
    for ti in range(len(type_names)):
        idx = np.flatnonzero(typ == ti)
        opts = desc_choices[ti]
        desc[idx] = opts[(pick[idx] * len(opts)).astype(int)]

    ts_arr = pa.array(ts[order], pa.timestamp("us", tz="UTC"))
    te = ts_end[order]
    ts_end_arr = pa.array(te, pa.timestamp("us", tz="UTC"), mask=te == 0)
    table = pa.table(
        {
            "incident_id": pa.array(ids[order], pa.string()),
            "ts": ts_arr,
            "ts_end": ts_end_arr,
            "lat": pa.array(lat[order]),
            "lon": pa.array(lon[order]),
            "type": pa.array(np.array(type_names, dtype=object)[typ[order]], pa.string()),
            "description": pa.array(desc[order], pa.string()),
            "source": pa.array(np.full(n, source, dtype=object), pa.string()),
            "agency": pa.array(np.full(n, agency, dtype=object), pa.string()),
        }
    )
    roles = inv_role[order]
    truth = {
        "seed": seed,
        "n": n,
        "bbox": tuple(bbox),
        "start": start.isoformat(),
        "days": days,
        "hotspot_res": hotspot_res,
        "hotspot_k": hotspot_k,
        "hotspots": hot_info,
        "hotspot_cells": sorted({c for h in hot_info for c in h["cells"]}),
        "near_repeat": {
            "distance_m": near_repeat_m,
            "days": near_repeat_days,
            "n_seeds": int(seeds_idx.size),
            "n_followups": int(n_nr),
            "seed_ids": sorted(ids[seeds_idx].tolist()),
        },
        "role_counts": {r: int((roles == r).sum()) for r in ("background", "hotspot", "near_repeat")},
        "hour_profiles": {t: hour_profile(t).round(5).tolist() for t in type_names},
        "weekday_weights": list(WEEKDAY_WEIGHTS),
        "window_share": window_share,
        "n_windows": int(has_window.sum()),
    }
    return SyntheticIncidents(table=table, hotspot_centers=[h["center"] for h in hot_info], truth=truth)


def generate_incidents(
    n: int,
    bbox: tuple[float, float, float, float],
    *,
    seed: int = 0,
    start: dt.datetime,
    days: int = 90,
    hotspots: int = 5,
    hotspot_share: float = 0.4,
    near_repeat_share: float = 0.1,
    types: list[str] | None = None,
    **kwargs: Any,
) -> SyntheticIncidents:
    """Synthetic incidents with planted hot spots and near repeats (see module docstring).

    ``.rows`` are dicts (incident_id, ts, ts_end, lat, lon, type, description, source, agency);
    ``.hotspot_centers`` the (lat, lon) of each planted hot spot; ``.truth`` what was planted.
    Extra keyword arguments go to :func:`generate_incident_table`."""
    return generate_incident_table(
        n,
        bbox,
        seed=seed,
        start=start,
        days=days,
        hotspots=hotspots,
        hotspot_share=hotspot_share,
        near_repeat_share=near_repeat_share,
        types=types,
        **kwargs,
    )


CSV_COLUMNS = [
    "id",
    "case_number",
    "date",
    "date_end",
    "primary_type",
    "description",
    "latitude",
    "longitude",
    "agency",
]


def write_incidents_csv(
    rows: Iterable[Mapping[str, Any]] | pa.Table | SyntheticIncidents, path: str | Path
) -> None:
    """Write incidents as an open-data style CSV (ISO 8601 times with UTC offset) that
    ``pesquisa incidents import`` reads back to the same rows."""
    if isinstance(rows, SyntheticIncidents):
        rows = rows.table
    if isinstance(rows, pa.Table):
        rows = rows.to_pylist()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            iid = r["incident_id"]
            w.writerow(
                [
                    iid,
                    "SY" + iid[-8:].upper(),
                    _iso(r.get("ts")),
                    _iso(r.get("ts_end")),
                    r.get("type") or "",
                    r.get("description") or "",
                    _num(r.get("lat")),
                    _num(r.get("lon")),
                    r.get("agency") or "",
                ]
            )


def _iso(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return v.astimezone(dt.UTC).isoformat()
    return str(v)


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(float(v))
