"""Kernel density surface of incidents, sampled at H3 cell centres.

A binned Gaussian KDE: incidents are projected to local metres, linearly binned on a regular grid
(step an eighth of the bandwidth, at most 50 m), smoothed with ``scipy.ndimage.gaussian_filter`` and read at
each H3 cell centre by bilinear interpolation. For n incidents this is O(n + grid) instead of the
O(n x cells) of an exact KDE, and agrees with the exact sum of Gaussians to about 1% (tests).

``density`` is an intensity: expected incidents per km^2 (n times the probability density), so
surfaces for different periods or types are comparable; ``expected`` is that times the cell area.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import h3
import numpy as np
import polars as pl
from scipy import ndimage

from pipelines.crime.data import Source, load_incidents
from pipelines.crime.grid import cell_centers, cell_spacing_m, latlng_to_cells, project_m, study_area

MAX_GRID_CELLS = 16_000_000


def kernel_density(
    source: Source,
    *,
    bandwidth_m: float = 250.0,
    res: int = 9,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    min_share: float = 1e-3,
) -> pl.DataFrame:
    """KDE intensity at the centre of every H3 cell (``res``) within about two bandwidths of an
    incident: columns ``h3, lat, lon, density`` (incidents/km^2), ``expected`` (incidents in the
    cell); cells under ``min_share`` of the maximum density are left out; sorted by density."""
    df = load_incidents(source, types=types, start=start, end=end, columns=["lat", "lon"])
    return density_from_points(
        df["lat"].to_numpy(), df["lon"].to_numpy(), bandwidth_m=bandwidth_m, res=res, min_share=min_share
    )


def density_from_points(
    lat: np.ndarray, lon: np.ndarray, *, bandwidth_m: float = 250.0, res: int = 9, min_share: float = 1e-3
) -> pl.DataFrame:
    """:func:`kernel_density` on coordinate arrays."""
    schema = {
        "h3": pl.String,
        "lat": pl.Float64,
        "lon": pl.Float64,
        "density": pl.Float64,
        "expected": pl.Float64,
    }
    if bandwidth_m <= 0:
        raise ValueError("bandwidth_m must be positive")
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    if lat.size == 0:
        return pl.DataFrame(schema=schema)
    x, y, lat0, lon0 = project_m(lat, lon)
    grid = _binned_kde(x, y, bandwidth_m)

    # evaluation cells: occupied cells plus a buffer of about two bandwidths
    if lat.size <= 200_000:
        occupied = {c for c in latlng_to_cells(lat, lon, res) if c is not None}
    else:
        occupied = _occupied_cells_fast(lat, lon, res)
    buffer_k = max(1, math.ceil(2 * bandwidth_m / cell_spacing_m(res)))
    cells = study_area(occupied, buffer_k)
    clat, clon = cell_centers(cells)
    cx, cy, _, _ = project_m(clat, clon, lat0, lon0)
    dens = grid.sample(cx, cy) * 1e6  # per km^2
    area = np.array([h3.cell_area(c, unit="km^2") for c in cells])
    out = pl.DataFrame(
        {"h3": cells, "lat": clat, "lon": clon, "density": dens, "expected": dens * area}, schema=schema
    )
    if dens.size and dens.max() > 0:
        out = out.filter(pl.col("density") >= min_share * dens.max())
    return out.sort(["density", "h3"], descending=[True, False])


def _occupied_cells_fast(lat: np.ndarray, lon: np.ndarray, res: int) -> set[str]:
    """Distinct cells of many points: snap to a fine lat/lon grid first (a 1/4-cell step), then
    look up one point per snapped bin. Every bin with points yields the cell of one of its points;
    neighbouring cells missed this way are covered by the study-area buffer."""
    step_deg = cell_spacing_m(res) / 4 / 111_320.0
    qi = np.floor(lat / step_deg).astype(np.int64)
    qj = np.floor(lon / step_deg).astype(np.int64)
    key = qi * 4_000_003 + qj
    _, first = np.unique(key, return_index=True)
    return {c for c in latlng_to_cells(lat[first], lon[first], res) if c is not None}


class _Grid:
    def __init__(self, values: np.ndarray, x0: float, y0: float, step: float):
        self.values, self.x0, self.y0, self.step = values, x0, y0, step

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation between grid nodes (node (i, j) at x0 + j*step, y0 + i*step);
        0 outside the grid. Values are per m^2."""
        fi = (np.asarray(y) - self.y0) / self.step
        fj = (np.asarray(x) - self.x0) / self.step
        return ndimage.map_coordinates(self.values, [fi, fj], order=1, mode="constant", cval=0.0)


def _binned_kde(x: np.ndarray, y: np.ndarray, bandwidth_m: float) -> _Grid:
    """Linear binning (each point's unit mass shared by its 4 surrounding nodes, Wand 1994), then a
    Gaussian filter with sigma = bandwidth: the standard binned KDE approximation."""
    pad = 4.5 * bandwidth_m
    x0, x1 = x.min() - pad, x.max() + pad
    y0, y1 = y.min() - pad, y.max() + pad
    step = min(bandwidth_m / 8.0, 50.0)
    while ((x1 - x0) / step) * ((y1 - y0) / step) > MAX_GRID_CELLS:
        step *= 1.25
    nx = int(np.ceil((x1 - x0) / step)) + 2
    ny = int(np.ceil((y1 - y0) / step)) + 2
    fx = (x - x0) / step
    fy = (y - y0) / step
    j0 = np.floor(fx).astype(np.int64)
    i0 = np.floor(fy).astype(np.int64)
    wx = fx - j0
    wy = fy - i0
    mass = np.zeros(ny * nx)
    for di, dj, w in (
        (0, 0, (1 - wy) * (1 - wx)),
        (0, 1, (1 - wy) * wx),
        (1, 0, wy * (1 - wx)),
        (1, 1, wy * wx),
    ):
        mass += np.bincount((i0 + di) * nx + (j0 + dj), weights=w, minlength=ny * nx)
    smooth = ndimage.gaussian_filter(
        mass.reshape(ny, nx), sigma=bandwidth_m / step, mode="constant", truncate=4.0
    )
    return _Grid(smooth / (step * step), x0, y0, step)
