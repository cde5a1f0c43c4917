"""Search areas: bounding box, radius around a point, H3 cells, GeoJSON polygon.

Reads and sightings carry no coordinates of their own; an area selects the *cameras* whose
registered position lies inside it (``cameras.lat/lon``), and the search then keeps rows of those
cameras. Cameras without coordinates are never inside an area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray | float:
    """Great-circle distance in metres (vectorized)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    d: np.ndarray | float = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return d


def _points_in_ring(lon: np.ndarray, lat: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd ray casting of points against one closed ring (lon, lat pairs)."""
    inside = np.zeros(len(lon), dtype=bool)
    x1, y1 = ring[:-1, 0], ring[:-1, 1]
    x2, y2 = ring[1:, 0], ring[1:, 1]
    for ax, ay, bx, by in zip(x1, y1, x2, y2, strict=True):
        crosses = (ay > lat) != (by > lat)
        if not crosses.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = ax + (lat - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (lon < xint)
    return inside


def _polygons(geojson: dict[str, Any]) -> list[list[np.ndarray]]:
    """Every polygon (outer ring + holes) of a GeoJSON geometry / Feature / FeatureCollection."""
    t = geojson.get("type")
    if t == "FeatureCollection":
        return [poly for f in geojson.get("features", []) for poly in _polygons(f)]
    if t == "Feature":
        return _polygons(geojson.get("geometry") or {})
    if t == "GeometryCollection":
        return [poly for g in geojson.get("geometries", []) for poly in _polygons(g)]
    if t == "Polygon":
        return [[_ring(r) for r in geojson["coordinates"]]]
    if t == "MultiPolygon":
        return [[_ring(r) for r in poly] for poly in geojson["coordinates"]]
    raise ValueError(f"GeoJSON {t!r} is not a Polygon, MultiPolygon, Feature or FeatureCollection")


def _ring(coords: Sequence[Sequence[float]]) -> np.ndarray:
    ring = np.asarray([(float(c[0]), float(c[1])) for c in coords], dtype=np.float64)
    if len(ring) < 3:
        raise ValueError("a polygon ring needs at least 3 points")
    if not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


@dataclass(frozen=True)
class Area:
    """One of: ``bbox`` (min_lon, min_lat, max_lon, max_lat); ``near`` (lat, lon, metres);
    ``h3_cells`` (cells of any resolution); ``polygon`` (a GeoJSON geometry / Feature /
    FeatureCollection dict). Several given at once must all hold."""

    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float, float] | None = None
    h3_cells: tuple[str, ...] | None = None
    polygon: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.bbox is None and self.near is None and not self.h3_cells and self.polygon is None:
            raise ValueError("an area needs a bbox, a point and radius, H3 cells or a polygon")
        if self.bbox is not None:
            a, b, c, d = map(float, self.bbox)
            if not (a <= c and b <= d):
                raise ValueError(f"bbox must be min_lon,min_lat,max_lon,max_lat; got {self.bbox}")
        if self.near is not None and float(self.near[2]) <= 0:
            raise ValueError("radius must be positive metres")
        if self.h3_cells:
            import h3

            bad = [c for c in self.h3_cells if not h3.is_valid_cell(c)]
            if bad:
                raise ValueError(f"not H3 cells: {', '.join(bad)}")
        if self.polygon is not None:
            _polygons(self.polygon)  # validates

    @classmethod
    def from_geojson_file(cls, path: str | Path) -> Area:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read polygon {path}: {exc}") from exc
        return cls(polygon=data)

    def contains(self, lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray) -> np.ndarray:
        """Boolean mask: which points lie inside (NaN coordinates never do)."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        mask = np.isfinite(lat) & np.isfinite(lon)
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = map(float, self.bbox)
            mask &= (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)
        if self.near is not None:
            plat, plon, radius = map(float, self.near)
            with np.errstate(invalid="ignore"):
                mask &= haversine_m(plat, plon, lat, lon) <= radius
        if self.h3_cells:
            mask &= self._in_cells(lat, lon, mask)
        if self.polygon is not None:
            inside = np.zeros(len(lat), dtype=bool)
            for poly in _polygons(self.polygon):
                p = _points_in_ring(lon, lat, poly[0])
                for hole in poly[1:]:
                    p &= ~_points_in_ring(lon, lat, hole)
                inside |= p
            mask &= inside
        return np.asarray(mask, dtype=bool)

    def _in_cells(self, lat: np.ndarray, lon: np.ndarray, valid: np.ndarray) -> np.ndarray:
        import h3

        by_res: dict[int, set[str]] = {}
        for c in self.h3_cells or ():
            by_res.setdefault(h3.get_resolution(c), set()).add(c)
        out = np.zeros(len(lat), dtype=bool)
        for i in np.flatnonzero(valid):
            for res, cells in by_res.items():
                if h3.latlng_to_cell(float(lat[i]), float(lon[i]), res) in cells:
                    out[i] = True
                    break
        return out

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.bbox is not None:
            d["bbox"] = list(self.bbox)
        if self.near is not None:
            d["near"] = list(self.near)
        if self.h3_cells:
            d["h3"] = list(self.h3_cells)
        if self.polygon is not None:
            d["polygon"] = _polygon_summary(self.polygon)
        return d


def _polygon_summary(geo: dict[str, Any]) -> dict[str, Any]:
    polys = _polygons(geo)
    pts = np.vstack([p[0] for p in polys])
    return {
        "polygons": len(polys),
        "bounds": [
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(pts[:, 0].max()),
            float(pts[:, 1].max()),
        ],
    }


def cameras_in_area(camera_rows: list[dict[str, Any]], area: Area) -> set[str]:
    """Ids of the cameras (rows of the ``cameras`` table) whose position lies in ``area``."""
    if not camera_rows:
        return set()
    lat = np.array([np.nan if r.get("lat") is None else r["lat"] for r in camera_rows], dtype=np.float64)
    lon = np.array([np.nan if r.get("lon") is None else r["lon"] for r in camera_rows], dtype=np.float64)
    inside = area.contains(lat, lon)
    return {r["camera_id"] for r, ok in zip(camera_rows, inside, strict=True) if ok}


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    if len(parts) != 4:
        raise ValueError(f"--bbox needs MIN_LON,MIN_LAT,MAX_LON,MAX_LAT, got {text!r}")
    a, b, c, d = (float(x) for x in parts)
    return a, b, c, d


def parse_near(text: str) -> tuple[float, float, float]:
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    if len(parts) != 3:
        raise ValueError(f"--near needs LAT,LON,METERS, got {text!r}")
    lat, lon, m = (float(x) for x in parts)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not math.isfinite(m):
        raise ValueError(f"--near has an invalid point or radius: {text!r}")
    return lat, lon, m
