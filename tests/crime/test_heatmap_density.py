"""H3 counts equal an independent DuckDB group-by on the real Chicago CSV; the binned KDE equals an
exact sum of Gaussians."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import h3
import numpy as np
import polars as pl
import pytest
from crime_testkit import BBOX, START, with_h3

from pipelines.crime.density import density_from_points, kernel_density
from pipelines.crime.grid import project_m
from pipelines.crime.heatmap import h3_counts
from pipelines.synth.incidents import generate_incidents


def _duckdb_reference(csv_path: Path, res: int, by_type: bool, where: str = "") -> dict[tuple, int]:
    con = duckdb.connect()
    raw = con.execute(
        f"SELECT latitude, longitude, primary_type FROM read_csv('{csv_path}', all_varchar=true) "
        "WHERE latitude IS NOT NULL AND longitude IS NOT NULL" + (f" AND {where}" if where else "")
    ).fetchall()
    cells = pl.DataFrame(
        {
            "cell": [h3.latlng_to_cell(float(a), float(b), res) for a, b, _ in raw],
            "type": [t for _, _, t in raw],
        }
    )
    con.register("cells", cells.to_arrow())
    keys = "cell, type" if by_type else "cell"
    rows = con.execute(f"SELECT {keys}, count(*) FROM cells GROUP BY {keys}").fetchall()
    return {tuple(r[:-1]): r[-1] for r in rows}


@pytest.mark.parametrize(("res", "by_type"), [(9, False), (8, False), (7, True), (10, False)])
def test_h3_counts_equal_duckdb_groupby_on_chicago(
    chicago_home, chicago_csv, res: int, by_type: bool
) -> None:
    ours = h3_counts(chicago_home, res=res, by_type=by_type)
    keys = ["h3", "type"] if by_type else ["h3"]
    got = {tuple(r[:-1]): r[-1] for r in ours.select(*keys, "count").iter_rows()}
    ref = _duckdb_reference(chicago_csv, res, by_type)
    print(f"res {res} by_type={by_type}: {len(got)} groups, {sum(got.values())} incidents")
    assert got == ref
    assert sum(got.values()) == 4967
    # sorted by count, and cell centres attached
    assert ours["count"].is_sorted(descending=True)
    la, lo = h3.cell_to_latlng(ours["h3"][0])
    assert (ours["lat"][0], ours["lon"][0]) == pytest.approx((la, lo))


def test_h3_counts_type_and_time_filters_on_chicago(chicago_home, chicago_csv) -> None:
    # Chicago times are local (America/Chicago, CDT = UTC-5 in July); filter on UTC
    start = dt.datetime(2026, 7, 15, 5, tzinfo=dt.UTC)
    end = dt.datetime(2026, 7, 17, 5, tzinfo=dt.UTC)
    ours = h3_counts(chicago_home, res=8, types=["theft", "Battery"], start=start, end=end)
    ref = _duckdb_reference(
        chicago_csv,
        8,
        False,
        "primary_type IN ('THEFT', 'BATTERY') AND date >= '2026-07-15T00:00:00' "
        "AND date < '2026-07-17T00:00:00'",
    )
    got = {(r[0],): r[1] for r in ours.select("h3", "count").iter_rows()}
    assert got == ref and 100 < sum(got.values()) < 4967


def test_h3_counts_by_period(chicago_home) -> None:
    daily = h3_counts(chicago_home, res=8, period="day")
    assert daily["count"].sum() == 4967
    days = sorted({p.date() for p in daily["period"].to_list()})
    assert days[0] >= dt.date(2026, 7, 10) and days[-1] <= dt.date(2026, 7, 18) and len(days) >= 7


def _exact_kde(x: np.ndarray, y: np.ndarray, qx: np.ndarray, qy: np.ndarray, h: float) -> np.ndarray:
    """Exact isotropic Gaussian KDE intensity (per m^2) at query points."""
    d2 = (qx[:, None] - x[None, :]) ** 2 + (qy[:, None] - y[None, :]) ** 2
    return np.exp(-d2 / (2 * h * h)).sum(axis=1) / (2 * np.pi * h * h)


def test_binned_kde_matches_exact_kde() -> None:
    syn = generate_incidents(3000, BBOX, seed=2, start=START)
    lat, lon = syn.table["lat"].to_numpy(), syn.table["lon"].to_numpy()
    h = 250.0
    kde = density_from_points(lat, lon, bandwidth_m=h, res=9)
    x, y, lat0, lon0 = project_m(lat, lon)
    qx, qy, _, _ = project_m(kde["lat"].to_numpy(), kde["lon"].to_numpy(), lat0, lon0)
    exact = _exact_kde(x, y, qx, qy, h) * 1e6
    got = kde["density"].to_numpy()
    big = exact > 0.05 * exact.max()
    rel = np.abs(got[big] - exact[big]) / exact[big]
    print(f"KDE: {big.sum()} cells, max rel error {rel.max():.4f}, median {np.median(rel):.5f}")
    assert rel.max() < 0.02
    # intensity integrates to the number of incidents (cells cover the mass)
    assert kde["expected"].sum() == pytest.approx(3000, rel=0.03)
    # the densest cells are at the planted hot spots
    top = set(kde.head(10)["h3"].to_list())
    assert top <= set(syn.truth["hotspot_cells"]) | {
        n for c in syn.truth["hotspot_cells"] for n in h3.grid_disk(c, 1)
    }


def test_kernel_density_reads_lakehouse_filters(chicago_home) -> None:
    all_types = kernel_density(chicago_home, bandwidth_m=300, res=8)
    theft = kernel_density(chicago_home, bandwidth_m=300, res=8, types="THEFT")
    assert all_types["density"].max() > theft["density"].max() > 0
    assert all_types["expected"].sum() == pytest.approx(4967, rel=0.05)


def test_synthetic_frame_and_lakehouse_give_same_counts(planted, lakehouse) -> None:
    df = with_h3(planted)
    lakehouse.append("incidents", df.to_arrow())
    a = h3_counts(df, res=8).select("h3", "count").sort("h3")
    b = h3_counts(lakehouse, res=8).select("h3", "count").sort("h3")
    assert a.equals(b)
