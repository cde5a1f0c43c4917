"""Gi* hot spots: planted hot spots are found with few false cells; esda's z-scores equal a
hand-written Getis-Ord Gi* on the real Chicago sample."""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import pytest
from crime_testkit import with_h3

from pipelines.crime.hotspots import gi_star
from pipelines.synth.incidents import SyntheticIncidents


def _score(table: pl.DataFrame, planted: set[str]) -> tuple[float, float, int]:
    hot = set(table.filter((pl.col("z") > 0) & (pl.col("p") < 0.05))["h3"].to_list())
    others = set(table["h3"].to_list()) - planted
    recall = len(hot & planted) / len(planted)
    return recall, len(hot - planted) / len(others), len(others)


def test_gi_star_finds_planted_hot_spots(planted: SyntheticIncidents) -> None:
    df = with_h3(planted)
    truth = set(planted.truth["hotspot_cells"])
    assert len(truth) == 5 * 7 and planted.truth["hotspot_res"] == 9
    table = gi_star(df, res=9, k=1)
    assert truth <= set(table["h3"].to_list())
    recall, false_rate, n_others = _score(table, truth)
    print(f"k-ring Gi*: recall {recall:.3f}, false-cell rate {false_rate:.4f} of {n_others} other cells")
    assert recall >= 0.90
    assert false_rate <= 0.05
    # no planted cell comes out cold, and the strongest cells are planted ones
    assert not table.filter(pl.col("h3").is_in(list(truth)) & pl.col("cold")).height
    assert set(table.head(5)["h3"].to_list()) <= truth


def test_gi_star_distance_band_weights(planted: SyntheticIncidents) -> None:
    df = with_h3(planted)
    truth = set(planted.truth["hotspot_cells"])
    # a band just over one ring at res 9 (centre spacing ~ 300 m) is the k=1 neighbourhood
    kring = gi_star(df, res=9, k=1)
    band = gi_star(df, res=9, distance_m=400.0, buffer_k=1)
    joined = kring.join(band, on="h3", suffix="_band")
    assert np.allclose(joined["z"].to_numpy(), joined["z_band"].to_numpy(), atol=1e-9)
    wide = gi_star(df, res=9, distance_m=700.0)
    recall, false_rate, _ = _score(wide, truth)
    print(f"700 m band Gi*: recall {recall:.3f}, false-cell rate {false_rate:.4f}")
    assert recall >= 0.90 and false_rate <= 0.10  # a wider band smears hot spots over more neighbours


def test_gi_star_uniform_data_has_no_planted_structure() -> None:
    from crime_testkit import BBOX, START

    from pipelines.synth.incidents import generate_incidents

    null = generate_incidents(
        20_000, BBOX, seed=5, start=START, hotspots=0, hotspot_share=0.0, near_repeat_share=0.0
    )
    table = gi_star(with_h3(null), res=9, k=1)
    hot_rate = float(((table["z"] > 0) & (table["p"] < 0.05)).mean())
    print(f"uniform data: {hot_rate:.4f} of cells hot at p < 0.05 (two-sided; nominal 0.025)")
    assert hot_rate < 0.05


def _hand_gi_star(cells: list[str], x: np.ndarray) -> np.ndarray:
    """Getis & Ord (1992) / Ord & Getis (1995) Gi* with binary weights, self included:
    z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1))),  S^2 = sum x^2 / n - xbar^2."""
    n = len(cells)
    index = {c: i for i, c in enumerate(cells)}
    xbar = x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    z = np.empty(n)
    for i, c in enumerate(cells):
        nb = [index[d] for d in h3.grid_disk(c, 1) if d in index]  # includes c itself
        w = len(nb)
        z[i] = (x[nb].sum() - xbar * w) / (s * np.sqrt((n * w - w * w) / (n - 1)))
    return z


@pytest.mark.parametrize("res", [8, 9])
def test_esda_gi_star_equals_hand_formula_on_chicago(chicago_home, chicago_csv, res: int) -> None:
    table = gi_star(chicago_home, res=res, k=1)
    # independent lattice and counts, straight from the CSV with the h3 library
    import csv

    counts: dict[str, int] = {}
    with open(chicago_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["latitude"] and r["longitude"]:
                c = h3.latlng_to_cell(float(r["latitude"]), float(r["longitude"]), res)
                counts[c] = counts.get(c, 0) + 1
    lattice = sorted({d for c in counts for d in h3.grid_disk(c, 1)})
    x = np.array([counts.get(c, 0) for c in lattice], dtype=float)
    z_ref = _hand_gi_star(lattice, x)
    got = dict(zip(table["h3"].to_list(), table["z"].to_list(), strict=True))
    assert sorted(got) == lattice
    assert dict(zip(table["h3"].to_list(), table["count"].to_list(), strict=True)) == {
        c: int(v) for c, v in zip(lattice, x, strict=True)
    }
    diff = np.abs(np.array([got[c] for c in lattice]) - z_ref)
    print(f"res {res}: {len(lattice)} cells, max |z_esda - z_hand| = {diff.max():.2e}")
    assert diff.max() < 1e-6
    # p is the two-sided normal approximation of z
    from scipy import stats

    assert np.allclose(table["p"].to_numpy(), 2 * stats.norm.sf(np.abs(table["z"].to_numpy())))


def test_permutation_p_values_agree_with_normal_p_on_strong_cells(planted: SyntheticIncidents) -> None:
    table = gi_star(with_h3(planted), res=9, k=1, permutations=99, seed=1)
    strong = table.filter(pl.col("z") > 5)
    assert strong.height > 0
    assert (strong["p_sim"] <= 0.02).all()
    weak = table.filter(pl.col("z").abs() < 0.5)
    assert (weak["p_sim"] > 0.05).mean() > 0.9
