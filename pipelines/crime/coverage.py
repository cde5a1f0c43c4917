"""Camera coverage against Gi* hot spots, and which hot cells to cover first.

A hot-spot cell counts as covered when its centre lies within ``radius_m`` of a camera (the
``cameras`` table). The priority list is a greedy maximum-coverage ranking: a camera placed at an
uncovered hot cell's centre covers every hot cell within ``radius_m``; each step picks the site that
covers the most not-yet-covered hot-spot incidents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from scipy.spatial import cKDTree

from lakehouse import Lakehouse
from pipelines.crime.data import Source
from pipelines.crime.grid import project_m
from pipelines.crime.hotspots import gi_star


@dataclass
class CoverageResult:
    summary: dict[str, Any]
    cells: pl.DataFrame  # hot cells: h3, count, z, p, lat, lon, covered, nearest_camera, distance_m
    priorities: pl.DataFrame  # rank, h3, lat, lon, gain_incidents, gain_cells, cumulative_share
    hotspots: pl.DataFrame = field(repr=False, default_factory=pl.DataFrame)  # the full Gi* table


def load_cameras(lh: Lakehouse, ctx: Any = None) -> pl.DataFrame:
    """Registered cameras; with ``ctx`` (a SearchContext) only those its agency may know of
    (:func:`pipelines.governance.scope.context_cameras`)."""
    lh.ensure("cameras")
    df = pl.from_arrow(lh.read("cameras", columns=["camera_id", "agency", "name", "lat", "lon"]))
    if ctx is not None:
        from pipelines.governance.scope import context_cameras

        visible = context_cameras(lh, ctx)
        if visible is not None:
            df = df.filter(pl.col("camera_id").is_in(sorted(visible)))
    return df


def camera_coverage(
    source: Source,
    *,
    cameras: pl.DataFrame | pa.Table | None = None,
    radius_m: float = 150.0,
    res: int = 9,
    k: int = 1,
    alpha: float = 0.05,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    top: int = 10,
    ctx: Any = None,
) -> CoverageResult:
    """Share of Gi* hot-spot cells (and of their incidents) within ``radius_m`` of a camera, and
    the ``top`` sites to cover next. Cameras default to the Lakehouse's ``cameras`` table (those
    ``ctx`` may know of, when given)."""
    if radius_m <= 0:
        raise ValueError("radius_m must be positive")
    if cameras is None:
        if not isinstance(source, Lakehouse):
            raise ValueError("pass cameras= when the incidents do not come from a Lakehouse")
        cameras = load_cameras(source, ctx)
    cams = pl.from_arrow(cameras) if isinstance(cameras, pa.Table) else cameras
    assert isinstance(cams, pl.DataFrame)
    cams = cams.filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())

    table = gi_star(source, res=res, k=k, types=types, start=start, end=end)
    hot = table.filter((pl.col("z") > 0) & (pl.col("p") < alpha) & (pl.col("count") > 0))
    return coverage_of_cells(hot, cams, radius_m=radius_m, top=top, hotspots=table)


def coverage_of_cells(
    hot: pl.DataFrame,
    cams: pl.DataFrame,
    *,
    radius_m: float,
    top: int = 10,
    hotspots: pl.DataFrame | None = None,
) -> CoverageResult:
    """Coverage of given hot cells (columns h3, count, lat, lon, ...) by cameras (camera_id, lat, lon)."""
    n_hot = hot.height
    lat0 = float(hot["lat"].mean()) if n_hot else 0.0
    lon0 = float(hot["lon"].mean()) if n_hot else 0.0
    hx, hy, _, _ = project_m(hot["lat"].to_numpy(), hot["lon"].to_numpy(), lat0, lon0)
    counts = hot["count"].to_numpy().astype(float)
    if cams.height and n_hot:
        cx, cy, _, _ = project_m(cams["lat"].to_numpy(), cams["lon"].to_numpy(), lat0, lon0)
        dist, idx = cKDTree(np.column_stack([cx, cy])).query(np.column_stack([hx, hy]))
        nearest = cams["camera_id"].to_numpy()[idx]
    else:
        dist = np.full(n_hot, np.inf)
        nearest = np.full(n_hot, None, dtype=object)
    covered = dist <= radius_m
    cells = hot.with_columns(
        pl.Series("covered", covered, dtype=pl.Boolean),
        pl.Series("nearest_camera", nearest.tolist(), dtype=pl.String),
        pl.Series("distance_m", np.where(np.isfinite(dist), dist, np.nan)),
    )
    total = float(counts.sum())
    summary = {
        "cameras": cams.height,
        "radius_m": radius_m,
        "hot_cells": n_hot,
        "covered_cells": int(covered.sum()),
        "share_cells": float(covered.mean()) if n_hot else None,
        "hot_incidents": int(total),
        "covered_incidents": int(counts[covered].sum()),
        "share_incidents": float(counts[covered].sum() / total) if total else None,
    }
    priorities = _greedy(hot, hx, hy, counts, covered, radius_m, top, total)
    return CoverageResult(
        summary=summary,
        cells=cells,
        priorities=priorities,
        hotspots=hotspots if hotspots is not None else hot,
    )


def _greedy(
    hot: pl.DataFrame,
    hx: np.ndarray,
    hy: np.ndarray,
    counts: np.ndarray,
    covered: np.ndarray,
    radius_m: float,
    top: int,
    total: float,
) -> pl.DataFrame:
    schema = {
        "rank": pl.Int64,
        "h3": pl.String,
        "lat": pl.Float64,
        "lon": pl.Float64,
        "gain_incidents": pl.Int64,
        "gain_cells": pl.Int64,
        "cumulative_share": pl.Float64,
    }
    if hot.height == 0:
        return pl.DataFrame(schema=schema)
    tree = cKDTree(np.column_stack([hx, hy]))
    reach = tree.query_ball_point(np.column_stack([hx, hy]), radius_m)
    done = covered.copy()
    cum = float(counts[done].sum())
    rows = []
    for rank in range(1, top + 1):
        gains = np.array([counts[[m for m in r if not done[m]]].sum() for r in reach])
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        newly = [m for m in reach[best] if not done[m]]
        done[newly] = True
        cum += gains[best]
        rows.append(
            {
                "rank": rank,
                "h3": hot["h3"][best],
                "lat": float(hot["lat"][best]),
                "lon": float(hot["lon"][best]),
                "gain_incidents": int(gains[best]),
                "gain_cells": len(newly),
                "cumulative_share": cum / total if total else None,
            }
        )
    return pl.DataFrame(rows, schema=schema)
