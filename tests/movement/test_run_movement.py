"""Bounded run: a small Delta ``plate_reads`` table in tmp -> Beam (FnApiRunner) -> Arrow tables."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc

from pipelines.movement import MovementParams, run_movement
from pipelines.movement.simulate import simulate_traffic

DAY = dt.date(2026, 3, 2)


def test_run_movement_day_against_truth(lakehouse) -> None:
    sim = simulate_traffic(DAY, vehicles=120, seed=5)
    lakehouse.upsert("cameras", sim.cameras)
    # noise that must not count: the day before, and a read without plate
    other_day = dict(sim.rows[0], read_id="x-prev", ts=sim.rows[0]["ts"] - dt.timedelta(days=1))
    bad = dict(sim.rows[1], read_id="x-bad", plate=None)
    lakehouse.append("plate_reads", [*sim.rows, other_day, bad])

    res = run_movement(
        lakehouse,
        DAY,
        DAY + dt.timedelta(days=1),
        params=MovementParams(gap_s=900, convoy_delta_s=60, convoy_min_cameras=4),
    )

    assert res.reads == len(sim.rows) + 1
    assert res.metrics["reads_in"] == len(sim.rows) + 1
    assert res.metrics["bad_no_plate"] == 1
    assert res.trips.num_rows == sim.trips
    assert res.metrics["trips"] == sim.trips
    assert pc.sum(res.trips["n_sightings"]).as_py() == len(sim.rows)
    assert pc.sum(res.counts["reads"]).as_py() == len(sim.rows)

    flows = {(r["origin"], r["destination"]): r["trips"] for r in res.flows.to_pylist()}
    assert flows == dict(sim.od)

    top = res.convoys.to_pylist()[0]
    assert top["rank"] == 1
    assert {top["plate_a"], top["plate_b"]} == set(sim.convoy)
    assert top["n_cameras"] == sim.convoy_cameras
    assert top["p_value"] < 1e-6


def test_run_movement_bundle_runner_matches(lakehouse) -> None:
    """``DirectRunner`` is mapped to the Prism-free BundleBasedDirectRunner and agrees with FnApiRunner."""
    sim = simulate_traffic(DAY, vehicles=10, seed=9)
    lakehouse.upsert("cameras", sim.cameras)
    lakehouse.append("plate_reads", sim.rows)
    a = run_movement(lakehouse, DAY, DAY + dt.timedelta(days=1))
    b = run_movement(lakehouse, DAY, DAY + dt.timedelta(days=1), runner="DirectRunner")
    assert b.runner == "BundleBasedDirectRunner"
    assert a.trips.sort_by("trip_id").equals(b.trips.sort_by("trip_id"))
    assert a.flows.num_rows == b.flows.num_rows and a.trips.num_rows == sim.trips


def test_direct_runner_alias() -> None:
    from pipelines.movement import pipeline_options

    assert pipeline_options("DirectRunner").get_all_options()["runner"] == "BundleBasedDirectRunner"
    assert pipeline_options("DaskRunner").get_all_options()["runner"].endswith("DaskRunner")
