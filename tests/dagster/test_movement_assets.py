"""Materialize a real partition of the Beam movement assets on a small Delta table in tmp."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.dataset as pds

from dagster_project.defs.movement.assets import movement, movement_schedule
from dagster_project.defs.resources import LakehouseResource
from pipelines.movement.simulate import simulate_traffic

DAY = dt.date(2026, 3, 2)


def test_materialize_movement_partition(tmp_path) -> None:
    from lakehouse import Lakehouse

    home = tmp_path / "home"
    lh = Lakehouse(home=home)
    sim = simulate_traffic(DAY, vehicles=80, seed=11)
    lh.upsert("cameras", sim.cameras)
    next_day = [
        dict(r, read_id=r["read_id"] + "+1d", ts=r["ts"] + dt.timedelta(days=1)) for r in sim.rows[:50]
    ]
    lh.append("plate_reads", sim.rows + next_day)

    def run():
        return dg.materialize(
            [movement],
            partition_key=DAY.isoformat(),
            resources={"lakehouse": LakehouseResource(home=str(home))},
            run_config={"ops": {"movement": {"config": {"convoy_min_cameras": 4, "flow_bucket_s": None}}}},
        )

    result = run()
    assert result.success
    day = pds.field("date") == pa.scalar(DAY, pa.date32())
    trips = lh.read("movement_trips", filter=day)
    flows = lh.read("movement_flows", filter=day)
    convoys = lh.read("movement_convoys", filter=day).sort_by("rank")
    assert lh.read("movement_counts", filter=day).num_rows > 0
    assert trips.num_rows == sim.trips  # the next day's reads stay out of this partition
    assert set(trips["model_version"].to_pylist()) == {"simulated-v1"}
    assert set(trips["agency"].to_pylist()) == {"municipal"}
    assert run().success  # a re-run replaces the day: no duplicates
    assert lh.read("movement_trips", filter=day).num_rows == sim.trips
    assert {(r["origin"], r["destination"]): r["trips"] for r in flows.to_pylist()} == dict(sim.od)
    top = convoys.to_pylist()[0]
    assert {top["plate_a"], top["plate_b"]} == set(sim.convoy)

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    assert mats["movement_trips"].materialization.metadata["table"].value == "movement_trips"
    meta = mats["movement_trips"].materialization.metadata
    assert meta["result_rows"].value == sim.trips
    assert meta["reads"].value == len(sim.rows)
    # the run also built the plate presence index of every day with reads (the next day was stale)
    assert meta["presence_days_rebuilt"].value == 2
    from pipelines.movement.presence import fresh_days, stale_days

    assert stale_days(lh) == [] and set(fresh_days(lh)) == {DAY, DAY + dt.timedelta(days=1)}


def test_movement_schedule_picks_yesterday() -> None:
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 3, 2, 30, tzinfo=dt.UTC))
    req = movement_schedule(ctx)
    assert req.partition_key == "2026-03-02"
