"""H3 and local-metric helpers shared by the crime analytics.

The incidents table stores each incident's H3 cell at resolution 9; other resolutions are computed
from lat/lon (the cell that contains the point).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h3
import numpy as np
import polars as pl
from h3.api import memview_int as _h3_mv
from h3.api import numpy_int as _h3_int

STORED_RES = 9
M_PER_DEG_LAT = 111_320.0


def latlng_to_cells(
    lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, res: int
) -> list[str | None]:
    """H3 cell of each point (None where a coordinate is missing or not finite)."""
    return cells_series(lat, lon, res).to_list()


def cells_series(
    lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray, res: int, name: str = "cell"
) -> pl.Series:
    """H3 cells (strings) of points as a Polars Series, null where a coordinate is missing.

    One h3 call per point with the integer API (about twice as fast as the string one); the hex
    strings are made once per distinct cell."""
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    out = np.zeros(la.shape[0], dtype=np.uint64)
    if ok.any():
        f = _h3_int.latlng_to_cell
        n_ok = int(ok.sum())
        out[ok] = np.fromiter(
            (f(a, b, res) for a, b in zip(la[ok].tolist(), lo[ok].tolist(), strict=True)),
            dtype=np.uint64,
            count=n_ok,
        )
    ints = pl.Series(name, out, dtype=pl.UInt64)
    distinct = ints.unique().to_list()
    mapping = {c: h3.int_to_str(c) for c in distinct if c}
    return ints.replace_strict(mapping, default=None, return_dtype=pl.String)


def cells_at_res(df: pl.DataFrame, res: int) -> pl.Series:
    """The H3 cell of every incident at ``res``: the stored cell at resolution 9, otherwise the
    cell that contains the point (computed from lat/lon). Parents of the stored cell are *not*
    used: H3 containment across resolutions is approximate and the parent differs from the
    containing cell for ~7% of points (Chicago sample, res 8)."""
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0..15, got {res}")
    if res == STORED_RES and "h3" in df.columns and df["h3"].null_count() == 0:
        return df["h3"].rename("cell")
    return cells_series(df["lat"].to_numpy(), df["lon"].to_numpy(), res)


def cell_centers(cells: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) of each cell's centre."""
    if len(cells) == 0:
        return np.empty(0), np.empty(0)
    f = _h3_int.cell_to_latlng
    ll = np.array([f(h3.str_to_int(c)) for c in cells])
    return ll[:, 0], ll[:, 1]


def study_area(cells: Iterable[str], buffer_k: int) -> list[str]:
    """The cells with incidents plus every cell within ``buffer_k`` rings of one (sorted).

    Gi* needs the zero-count cells around activity as part of the lattice; this keeps the lattice
    to where the city is instead of a bounding box that may be half lake or countryside."""
    occupied = sorted(set(cells))
    if buffer_k <= 0 or not occupied:
        return occupied
    ints = [h3.str_to_int(c) for c in occupied]
    disks = np.unique(np.concatenate([np.asarray(_h3_mv.grid_disk(c, buffer_k)) for c in ints]))
    return sorted(h3.int_to_str(int(c)) for c in disks)


def cell_spacing_m(res: int) -> float:
    """Distance between neighbouring cell centres at ``res`` (about sqrt(3) x the edge length)."""
    return float(np.sqrt(3.0) * h3.average_hexagon_edge_length(res, unit="m"))


def neighbor_pairs(
    cells: Sequence[str], *, k: int | None = 1, distance_m: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(focal, neighbour) index arrays into ``cells`` (self excluded): k-ring neighbours, or cells
    whose centres lie within ``distance_m`` (great-circle) when ``distance_m`` is given. Neighbours
    outside ``cells`` are ignored."""
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    if len(cells) == 0:
        return empty
    if distance_m is not None:
        if distance_m <= 0:
            raise ValueError("distance_m must be positive")
        ring = int(np.ceil(distance_m / (0.85 * cell_spacing_m(h3.get_resolution(cells[0]))))) + 1
    else:
        if k is None or k < 1:
            raise ValueError("k must be >= 1")
        ring = k
    ints = np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64)
    order = np.argsort(ints)
    sorted_ints = ints[order]
    disks = [_h3_mv.grid_disk(c, ring) for c in ints.tolist()]
    sizes = np.fromiter((len(d) for d in disks), dtype=np.int64, count=len(disks))
    focal = np.repeat(np.arange(len(cells), dtype=np.int64), sizes)
    cand = np.concatenate(disks).astype(np.uint64)
    pos = np.searchsorted(sorted_ints, cand)
    pos_c = np.minimum(pos, len(sorted_ints) - 1)
    found = sorted_ints[pos_c] == cand
    neigh = order[pos_c]
    keep = found & (neigh != focal)
    focal, neigh = focal[keep], neigh[keep].astype(np.int64)
    if distance_m is not None:
        lat, lon = cell_centers(cells)
        d = haversine_m(lat[focal], lon[focal], lat[neigh], lon[neigh])
        within = d <= distance_m
        focal, neigh = focal[within], neigh[within]
    return focal, neigh


def haversine_m(
    lat1: float | np.ndarray, lon1: float | np.ndarray, lat2: float | np.ndarray, lon2: float | np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres."""
    r = 6_371_008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def project_m(
    lat: np.ndarray, lon: np.ndarray, lat0: float | None = None, lon0: float | None = None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Local equirectangular projection to metres around (lat0, lon0) (default: the data centre).
    Accurate to well under 1% over a city; returns x, y, lat0, lon0."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat0 is None:
        lat0 = float(np.nanmean(lat)) if lat.size else 0.0
    if lon0 is None:
        lon0 = float(np.nanmean(lon)) if lon.size else 0.0
    x = (lon - lon0) * M_PER_DEG_LAT * np.cos(np.radians(lat0))
    y = (lat - lat0) * M_PER_DEG_LAT
    return x, y, lat0, lon0


def unproject_m(x: np.ndarray, y: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`project_m`."""
    lat = lat0 + np.asarray(y) / M_PER_DEG_LAT
    lon = lon0 + np.asarray(x) / (M_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return lat, lon
