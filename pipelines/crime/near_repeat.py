"""Near-repeat analysis: the Knox test for space-time interaction, with Monte Carlo significance.

Every pair of incidents falls in a distance band and a time band. Under the null of no
space-time interaction the pair counts of the table are what you get with the incidents' times
shuffled among their places; we count the observed pairs per (distance, time) band and compare
with ``permutations`` shuffles (as the Near Repeat Calculator does):

- ``expected`` is the mean count over the shuffles, ``ratio`` = observed / expected (the Knox ratio);
- ``p`` is the Monte Carlo p-value ``(1 + #shuffles with count >= observed) / (1 + permutations)``
  (one-sided: is there an *excess* of pairs close in space and time).

Only pairs closer than the last distance edge are enumerated (k-d tree); the "beyond" row comes
from the time-difference totals over all pairs, which shuffling cannot change. Distances are
metres in a local projection; times are days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from pipelines.crime.data import Source, load_incidents
from pipelines.crime.grid import project_m

DEFAULT_DISTANCE_BANDS_M = (0.0, 100.0, 200.0, 400.0, 800.0)
DEFAULT_TIME_BANDS_DAYS = (0.0, 7.0, 14.0, 21.0, 28.0)
MAX_PAIRS = 40_000_000


@dataclass
class KnoxResult:
    """Banded Knox table plus the cumulative "close in space and time" test."""

    table: pl.DataFrame
    n: int
    pairs_within: int
    permutations: int
    close: dict[str, Any] = field(default_factory=dict)

    def cell(self, distance_band: str, time_band: str) -> dict[str, Any]:
        rows = self.table.filter(
            (pl.col("distance_band") == distance_band) & (pl.col("time_band") == time_band)
        )
        if rows.height != 1:
            raise KeyError(f"no cell {distance_band!r} x {time_band!r}")
        return rows.row(0, named=True)


def _label(lo: float, hi: float | None, unit: str) -> str:
    if hi is None:
        return f">{lo:g}{unit}"
    return f"{lo:g}-{hi:g}{unit}"


def knox(
    source: Source,
    *,
    distance_bands_m: Sequence[float] = DEFAULT_DISTANCE_BANDS_M,
    time_bands_days: Sequence[float] = DEFAULT_TIME_BANDS_DAYS,
    close: tuple[float, float] | None = (200.0, 7.0),
    permutations: int = 199,
    seed: int = 0,
    types: str | Sequence[str] | None = None,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
) -> KnoxResult:
    """Knox test on the (filtered) incidents. ``close = (metres, days)`` also tests the cumulative
    2x2 Knox statistic: pairs with distance < metres and time difference < days."""
    df = load_incidents(source, types=types, start=start, end=end, columns=["ts", "lat", "lon"])
    # in a fixed order: the permutations (seeded) then do not depend on how the table stores its rows
    df = df.filter(pl.col("ts").is_not_null()).sort(["ts", "lat", "lon"])
    x, y, _, _ = project_m(df["lat"].to_numpy(), df["lon"].to_numpy())
    t = df["ts"].dt.epoch("us").to_numpy().astype(np.float64) / 86_400e6
    return knox_from_arrays(
        x,
        y,
        t,
        distance_bands_m=distance_bands_m,
        time_bands_days=time_bands_days,
        close=close,
        permutations=permutations,
        seed=seed,
    )


def knox_from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    t_days: np.ndarray,
    *,
    distance_bands_m: Sequence[float] = DEFAULT_DISTANCE_BANDS_M,
    time_bands_days: Sequence[float] = DEFAULT_TIME_BANDS_DAYS,
    close: tuple[float, float] | None = (200.0, 7.0),
    permutations: int = 199,
    seed: int = 0,
) -> KnoxResult:
    """Knox test on projected coordinates (metres) and times (days)."""
    d_edges = np.asarray(distance_bands_m, dtype=float)
    t_edges = np.asarray(time_bands_days, dtype=float)
    for name, e in (("distance", d_edges), ("time", t_edges)):
        if e.size < 2 or e[0] != 0 or np.any(np.diff(e) <= 0):
            raise ValueError(f"{name} bands must start at 0 and increase, got {e.tolist()}")
    if permutations < 1:
        raise ValueError("permutations must be >= 1")
    x, y, t = (np.asarray(a, dtype=float) for a in (x, y, t_days))
    n = len(t)
    nd, nt = len(d_edges) - 1, len(t_edges)  # time has a final "beyond" band
    max_d = d_edges[-1]
    if close is not None:
        max_d = max(max_d, float(close[0]))

    pairs = _pairs_within(x, y, max_d)
    i, j = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(x[i] - x[j], y[i] - y[j])
    in_bands = dist < d_edges[-1]
    d_bin = np.searchsorted(d_edges, dist[in_bands], side="right") - 1
    bi, bj = i[in_bands], j[in_bands]
    close_mask = dist < close[0] if close is not None else None

    def band_counts(tt: np.ndarray) -> np.ndarray:
        dtd = np.abs(tt[bi] - tt[bj])
        t_bin = np.minimum(np.searchsorted(t_edges, dtd, side="right") - 1, nt - 1)
        return np.bincount(d_bin * nt + t_bin, minlength=nd * nt).reshape(nd, nt)

    def close_count(tt: np.ndarray) -> int:
        assert close is not None and close_mask is not None
        return int(np.count_nonzero(np.abs(tt[i[close_mask]] - tt[j[close_mask]]) < close[1]))

    obs = band_counts(t)
    obs_close = close_count(t) if close is not None else 0
    rng = np.random.default_rng(seed)
    sims = np.empty((permutations, nd, nt), dtype=np.int64)
    sims_close = np.empty(permutations, dtype=np.int64)
    for k in range(permutations):
        tp = t[rng.permutation(n)]
        sims[k] = band_counts(tp)
        if close is not None:
            sims_close[k] = close_count(tp)

    # "beyond" distance row: all pairs per time band (shuffle-invariant) minus the rows above
    marg = _time_band_totals(t, t_edges)
    obs_all = np.vstack([obs, marg - obs.sum(axis=0)])
    sims_all = np.concatenate([sims, (marg - sims.sum(axis=1))[:, None, :]], axis=1)
    expected = sims_all.mean(axis=0)
    exceed = (sims_all >= obs_all[None]).sum(axis=0)
    p = (1 + exceed) / (1 + permutations)

    d_labels = [_label(d_edges[a], d_edges[a + 1], "m") for a in range(nd)] + [_label(d_edges[-1], None, "m")]
    t_labels = [_label(t_edges[b], t_edges[b + 1], "d") for b in range(nt - 1)] + [
        _label(t_edges[-1], None, "d")
    ]
    rows = []
    for a in range(nd + 1):
        for b in range(nt):
            exp_ab = float(expected[a, b])
            rows.append(
                {
                    "distance_band": d_labels[a],
                    "time_band": t_labels[b],
                    "observed": int(obs_all[a, b]),
                    "expected": exp_ab,
                    "ratio": float(obs_all[a, b] / exp_ab) if exp_ab > 0 else None,
                    "p": float(p[a, b]),
                }
            )
    table = pl.DataFrame(
        rows,
        schema={
            "distance_band": pl.String,
            "time_band": pl.String,
            "observed": pl.Int64,
            "expected": pl.Float64,
            "ratio": pl.Float64,
            "p": pl.Float64,
        },
    )
    close_info: dict[str, Any] = {}
    if close is not None:
        exp_close = float(sims_close.mean())
        close_info = {
            "distance_m": float(close[0]),
            "days": float(close[1]),
            "observed": obs_close,
            "expected": exp_close,
            "ratio": obs_close / exp_close if exp_close > 0 else None,
            "p": float((1 + np.count_nonzero(sims_close >= obs_close)) / (1 + permutations)),
        }
    return KnoxResult(
        table=table, n=n, pairs_within=int(len(pairs)), permutations=permutations, close=close_info
    )


def _pairs_within(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    if len(x) < 2:
        return np.empty((0, 2), dtype=np.int64)
    tree = cKDTree(np.column_stack([x, y]))
    # rough size guard before enumerating: expected pairs from a sample
    sample = np.random.default_rng(0).choice(len(x), size=min(len(x), 2000), replace=False)
    neigh = tree.query_ball_point(np.column_stack([x[sample], y[sample]]), r, return_length=True)
    est = float(np.mean(neigh) - 1) * len(x) / 2
    if est > MAX_PAIRS:
        raise ValueError(
            f"about {est:,.0f} incident pairs lie within {r:g} m: too many for the Knox test; "
            "narrow the type/time filters or the distance bands"
        )
    return tree.query_pairs(r, output_type="ndarray").astype(np.int64)


def _time_band_totals(t: np.ndarray, t_edges: np.ndarray) -> np.ndarray:
    """Pairs (i<j) per time band over ALL pairs, from the sorted times: O(n log n)."""
    ts = np.sort(t)
    n = len(ts)
    total = n * (n - 1) // 2
    cum = []  # pairs with |dt| < edge, for each edge > 0
    for e in t_edges[1:]:
        cum.append(int((np.searchsorted(ts, ts + e, side="left") - np.arange(n) - 1).sum()))
    cum_arr = np.array([0, *cum, total], dtype=np.int64)
    return np.diff(cum_arr)
