"""The synthetic incident generator plants what its truth says."""

from __future__ import annotations

import collections

import h3
import numpy as np
import polars as pl
from crime_testkit import BBOX, START

from pipelines.crime.grid import project_m
from pipelines.synth.incidents import generate_incidents


def test_generator_is_deterministic_and_plants_its_truth() -> None:
    a = generate_incidents(5000, BBOX, seed=9, start=START, days=60)
    b = generate_incidents(5000, BBOX, seed=9, start=START, days=60)
    assert a.table.equals(b.table)
    assert not generate_incidents(5000, BBOX, seed=10, start=START, days=60).table.equals(a.table)
    t = a.truth
    assert t["role_counts"] == {"background": 2500, "hotspot": 2000, "near_repeat": 500}
    df = pl.from_arrow(a.table)
    assert df["incident_id"].n_unique() == 5000
    assert df["ts"].min() >= START and df["ts"].max() < START + np.timedelta64(60 + 8, "D")
    assert df["lat"].min() > BBOX[1] - 0.01 and df["lon"].max() < BBOX[2] + 0.01

    # every hot spot holds its share, spread over exactly its planted cells
    cells = collections.Counter(
        h3.latlng_to_cell(la, lo, 9) for la, lo in zip(df["lat"], df["lon"], strict=True)
    )
    for hs in t["hotspots"]:
        assert len(hs["cells"]) == 7 and h3.latlng_to_cell(*hs["center"], 9) == hs["cell"]
        inside = sum(cells[c] for c in hs["cells"])
        assert hs["n"] <= inside < hs["n"] + 60  # plus the few background incidents that fall there
        per_cell = [cells[c] for c in hs["cells"]]
        assert min(per_cell) > 0.5 * hs["n"] / 7

    # near repeats: each seed has at least one follow-up within 200 m and 7 days after it
    seeds = df.filter(pl.col("incident_id").is_in(t["near_repeat"]["seed_ids"]))
    assert seeds.height == t["near_repeat"]["n_seeds"] == 250
    x, y, lat0, lon0 = project_m(df["lat"].to_numpy(), df["lon"].to_numpy())
    ts = df["ts"].dt.epoch("s").to_numpy() / 86400
    pos = {iid: i for i, iid in enumerate(df["incident_id"].to_list())}
    hits = 0
    for iid in seeds["incident_id"].to_list()[:50]:
        i = pos[iid]
        d = np.hypot(x - x[i], y - y[i])
        dt_ = ts - ts[i]
        hits += bool(np.any((d <= 200.5) & (dt_ > 0) & (dt_ <= 7) & (df["type"].to_numpy() == df["type"][i])))
    assert hits == 50

    # windows
    assert 300 < df["ts_end"].is_not_null().sum() < 700
    w = df.filter(pl.col("ts_end").is_not_null())
    hours = (w["ts_end"] - w["ts"]).dt.total_seconds() / 3600
    assert hours.min() >= 1 and hours.max() <= 10


def test_rows_view_matches_table() -> None:
    s = generate_incidents(50, BBOX, seed=1, start=START)
    assert len(s.rows) == 50 and set(s.rows[0]) == {
        "incident_id",
        "ts",
        "ts_end",
        "lat",
        "lon",
        "type",
        "description",
        "source",
        "agency",
    }
    assert s.rows[0]["ts"].tzinfo is not None and len(s.hotspot_centers) == 5
