"""Getis-Ord Gi* hot and cold spots on H3 cells (``esda.G_Local`` with ``star=True``).

The lattice is every cell with an incident plus the cells within ``buffer_k`` rings of one (zero
counts included: a hot spot is only hot against its quiet surroundings). Weights are binary: the
k-ring of each cell, or every cell whose centre lies within ``distance_m``; the cell itself is
included (Gi*, self-weight 1).

Significance: ``z`` is esda's analytical Gi* z-score and ``p`` its **two-sided normal-approximation
p-value**, ``2 * (1 - Phi(|z|))`` (esda's own ``p_norm`` is one-sided; we double it). With
``permutations > 0`` the table also carries ``p_sim``, esda's conditional-randomisation pseudo
p-value (folded, i.e. one-sided towards the observed tail, ``(extreme + 1) / (permutations + 1)``).
Classification (``hot``/``cold`` and ``confidence`` 99/95/90) uses ``p``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from pipelines.crime.data import Source
from pipelines.crime.grid import cell_centers, neighbor_pairs, study_area
from pipelines.crime.heatmap import cell_counts


def gi_star(
    source: Source,
    *,
    res: int = 9,
    k: int = 1,
    distance_m: float | None = None,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    buffer_k: int | None = None,
    permutations: int = 0,
    seed: int = 0,
) -> pl.DataFrame:
    """Gi* per H3 cell of the study area: ``h3, count, z, p, [p_sim], hot, cold, confidence,
    neighbors, lat, lon``; sorted by z (desc). ``buffer_k`` defaults to ``k``."""
    counts = cell_counts(source, res=res, types=types, start=start, end=end)
    if counts.height == 0:
        return empty_table(permutations > 0)
    return gi_star_from_counts(
        counts["h3"].to_list(),
        counts["count"].to_numpy(),
        k=k,
        distance_m=distance_m,
        buffer_k=k if buffer_k is None else buffer_k,
        permutations=permutations,
        seed=seed,
    )


def gi_star_from_counts(
    cells: Sequence[str],
    counts: Sequence[float] | np.ndarray,
    *,
    k: int = 1,
    distance_m: float | None = None,
    buffer_k: int = 1,
    permutations: int = 0,
    seed: int = 0,
) -> pl.DataFrame:
    """Gi* on given per-cell counts; the lattice is ``cells`` plus ``buffer_k`` rings (count 0)."""
    from esda.getisord import G_Local
    from libpysal.graph import Graph

    given = dict(zip(cells, np.asarray(counts, dtype=float), strict=True))
    lattice = study_area(given.keys(), buffer_k)
    n = len(lattice)
    if n < 3:
        raise ValueError(f"Gi* needs at least 3 cells in the study area, got {n}")
    y = np.array([given.get(c, 0.0) for c in lattice])
    focal, neigh = neighbor_pairs(lattice, k=k, distance_m=distance_m)
    weight = np.ones(len(focal))
    isolated = np.setdiff1d(np.arange(n), focal)
    if isolated.size:  # libpysal encodes an isolate as a zero-weight self loop
        focal = np.concatenate([focal, isolated])
        neigh = np.concatenate([neigh, isolated])
        weight = np.concatenate([weight, np.zeros(isolated.size)])
    graph = Graph.from_arrays(focal, neigh, weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant y gives 0/0 z-scores (NaN)
        g = G_Local(
            y, graph, transform="B", star=True, permutations=permutations, seed=seed, keep_simulations=False
        )
    # esda orders results by the graph's unique ids, which are our indices 0..n-1 (sorted)
    order = np.asarray(graph.unique_ids)
    z = np.full(n, np.nan)
    z[order] = np.asarray(g.Zs, dtype=float)
    p = 2.0 * stats.norm.sf(np.abs(z))
    card = np.bincount(focal[weight > 0], minlength=n) + 1
    lat, lon = cell_centers(lattice)
    conf = np.select([p < 0.01, p < 0.05, p < 0.10], [99, 95, 90], default=0)
    data = {
        "h3": lattice,
        "count": y.astype(np.int64) if np.all(y == np.round(y)) else y,
        "z": z,
        "p": p,
    }
    if permutations:
        ps = np.full(n, np.nan)
        ps[order] = np.asarray(g.p_sim, dtype=float)
        data["p_sim"] = ps
    data.update(
        {
            "hot": (z > 0) & (p < 0.05),
            "cold": (z < 0) & (p < 0.05),
            "confidence": np.where(np.isnan(z), 0, conf).astype(np.int64),
            "neighbors": card.astype(np.int64),
            "lat": lat,
            "lon": lon,
        }
    )
    return pl.DataFrame(data).sort(["z", "h3"], descending=[True, False], nulls_last=True)


def empty_table(with_p_sim: bool = False) -> pl.DataFrame:
    """A Gi* table with no rows (no incidents matched)."""
    schema = {"h3": pl.String, "count": pl.Int64, "z": pl.Float64, "p": pl.Float64}
    if with_p_sim:
        schema["p_sim"] = pl.Float64
    schema.update(
        {
            "hot": pl.Boolean,
            "cold": pl.Boolean,
            "confidence": pl.Int64,
            "neighbors": pl.Int64,
            "lat": pl.Float64,
            "lon": pl.Float64,
        }
    )
    return pl.DataFrame(schema=schema)


def hot_cells(table: pl.DataFrame, alpha: float = 0.05) -> list[str]:
    """Cells of a :func:`gi_star` table that are hot at ``alpha``."""
    return table.filter((pl.col("z") > 0) & (pl.col("p") < alpha))["h3"].to_list()
