"""Hour x weekday tables (aoristic) and the Knox near-repeat test."""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from itertools import combinations

import numpy as np
import polars as pl
import pytest
from crime_testkit import BBOX, START

from pipelines.crime.grid import project_m
from pipelines.crime.near_repeat import knox, knox_from_arrays
from pipelines.crime.temporal import hour_weekday, pivot
from pipelines.synth.incidents import generate_incidents


def _utc(*a: int) -> dt.datetime:
    return dt.datetime(*a, tzinfo=dt.UTC)


def test_aoristic_spreading_of_time_windows() -> None:
    df = pl.DataFrame(
        {
            # Monday 2026-03-02: exact 08:15; window 10:30-12:30 (Mon); window Sun 23:00 - Mon 01:00
            "ts": [
                _utc(2026, 3, 2, 8, 15),
                _utc(2026, 3, 2, 10, 30),
                _utc(2026, 3, 1, 23, 0),
                _utc(2026, 3, 2, 0, 0),
            ],
            "ts_end": [None, _utc(2026, 3, 2, 12, 30), _utc(2026, 3, 2, 1, 0), _utc(2026, 3, 12, 0, 0)],
        },
        schema={"ts": pl.Datetime("us", "UTC"), "ts_end": pl.Datetime("us", "UTC")},
    )
    t = hour_weekday(df)
    assert t.height == 168
    assert t["count"].sum() == pytest.approx(4.0)
    cell = {(r["weekday"], r["hour"]): r["count"] for r in t.iter_rows(named=True)}
    week = 1 / 168  # the 10-day window is spread evenly
    assert cell[(0, 8)] == pytest.approx(1 + week)
    assert cell[(0, 10)] == pytest.approx(0.25 + week)
    assert cell[(0, 11)] == pytest.approx(0.5 + week)
    assert cell[(0, 12)] == pytest.approx(0.25 + week)
    assert cell[(6, 23)] == pytest.approx(0.5 + week)
    assert cell[(0, 0)] == pytest.approx(0.5 + week)
    assert t["windowed"].sum() == pytest.approx(3.0)
    # without aoristic spreading a window counts 1 at its start
    plain = {
        (r["weekday"], r["hour"]): r["count"] for r in hour_weekday(df, aoristic=False).iter_rows(named=True)
    }
    assert plain[(0, 10)] == 1 and plain[(0, 11)] == 0
    wide = pivot(t)
    assert wide.columns == ["hour", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] and wide.height == 24


def test_hour_weekday_on_chicago_matches_local_clock(chicago_home, chicago_csv) -> None:
    t = hour_weekday(chicago_home, tz="America/Chicago")
    ref: dict[tuple[int, int], int] = {}
    with open(chicago_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["latitude"] and r["longitude"]:
                local = dt.datetime.fromisoformat(r["date"]).replace(
                    tzinfo=zoneinfo.ZoneInfo("America/Chicago")
                )
                ref[(local.weekday(), local.hour)] = ref.get((local.weekday(), local.hour), 0) + 1
    got = {(r["weekday"], r["hour"]): r["count"] for r in t.iter_rows(named=True) if r["count"]}
    assert got == pytest.approx(ref)


def test_hour_profiles_of_synthetic_types() -> None:
    syn = generate_incidents(20_000, BBOX, seed=8, start=START, window_share=0.0)
    theft = hour_weekday(pl.from_arrow(syn.table), types="THEFT")
    by_hour = theft.group_by("hour").agg(pl.col("count").sum()).sort("count", descending=True)
    assert by_hour["hour"][0] in (14, 15, 16)
    by_day = theft.group_by("weekday").agg(pl.col("count").sum()).sort("count", descending=True)
    assert by_day["weekday"][0] == 5  # Saturday has the largest weekday weight


def _control(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The same incidents with their times shuffled among them: no space-time interaction."""
    rng = np.random.default_rng(seed)
    return df.with_columns(
        pl.Series("ts", df["ts"].to_numpy()[rng.permutation(df.height)]).dt.replace_time_zone("UTC")
    )


def test_knox_detects_planted_near_repeats_and_not_in_shuffled_control() -> None:
    syn = generate_incidents(4000, BBOX, seed=21, start=START)
    nr = syn.truth["near_repeat"]
    assert (nr["distance_m"], nr["days"]) == (200.0, 7.0) and nr["n_followups"] == 400
    df = pl.from_arrow(syn.table)
    res = knox(df, permutations=199, seed=1)
    ctrl = knox(_control(df, 5), permutations=199, seed=1)
    c, k = res.close, ctrl.close
    print(
        f"planted: observed {c['observed']} expected {c['expected']:.1f} ratio {c['ratio']:.3f} p {c['p']:.3f}; "
        f"control: ratio {k['ratio']:.3f} p {k['p']:.3f}"
    )
    assert c["p"] <= 0.01 and c["ratio"] > 1.05
    assert k["p"] > 0.05 and abs(k["ratio"] - 1) < 0.05
    for band in ("0-100m", "100-200m"):
        assert res.cell(band, "0-7d")["p"] <= 0.01
        assert ctrl.cell(band, "0-7d")["p"] > 0.05
    # beyond the planted range the pattern is absent
    assert res.cell("400-800m", "14-21d")["p"] > 0.01


def test_knox_counts_equal_brute_force() -> None:
    rng = np.random.default_rng(3)
    n = 600
    x, y = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n)
    t = rng.uniform(0, 60, n)
    t[:50] = np.round(t[:50])  # ties in time
    res = knox_from_arrays(
        x, y, t, distance_bands_m=[0, 150, 400], time_bands_days=[0, 3, 10], close=(400, 10), permutations=9
    )
    d_edges, t_edges = [0, 150, 400, np.inf], [0, 3, 10, np.inf]
    obs = np.zeros((3, 3), dtype=int)
    close = 0
    for i, j in combinations(range(n), 2):
        d = np.hypot(x[i] - x[j], y[i] - y[j])
        dt_ = abs(t[i] - t[j])
        a = np.searchsorted(d_edges, d, side="right") - 1
        b = np.searchsorted(t_edges, dt_, side="right") - 1
        obs[a, b] += 1
        close += int(d < 400 and dt_ < 10)
    assert res.table["observed"].to_numpy().reshape(3, 3).tolist() == obs.tolist()
    assert res.close["observed"] == close
    assert res.table["observed"].sum() == n * (n - 1) // 2
    # expected counts keep every time band's total (shuffles only move pairs between distance bands)
    e = res.table["expected"].to_numpy().reshape(3, 3)
    assert np.allclose(e.sum(axis=0), obs.sum(axis=0))


def test_knox_on_chicago_runs_with_lakehouse_filters(chicago_home) -> None:
    res = knox(chicago_home, types="BATTERY", permutations=49, time_bands_days=[0, 1, 2, 4])
    assert res.n == pl.from_arrow(chicago_home.read("incidents")).filter(pl.col("type") == "BATTERY").height
    assert 0 < res.close["p"] <= 1 and res.table.height == 5 * 4
    x, y, _, _ = project_m(np.array([41.8, 41.81]), np.array([-87.6, -87.6]))
    assert abs(np.hypot(x[1] - x[0], y[1] - y[0]) - 1113.2) < 1.0


def test_knox_does_not_depend_on_row_order() -> None:
    df = pl.from_arrow(generate_incidents(600, BBOX, seed=5, start=START).table)
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=7)
    a = knox(df, permutations=99, seed=3).table
    b = knox(shuffled, permutations=99, seed=3).table
    assert a.equals(b)
