"""Movement results as Delta tables: one day partition per run, replaced on re-run, read through
the ReadScope (agency cameras, pinned version), plate-naming results only with a case."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.governance.audit import MissingCaseError, audit_rows
from pipelines.governance.context import SearchContext
from pipelines.governance.scope import ReadScope
from pipelines.movement import MovementParams, run_movement
from pipelines.movement.simulate import simulate_traffic
from pipelines.movement.store import read_movement, store_movement

DAY = dt.date(2026, 3, 2)


def test_store_and_read_movement(lakehouse) -> None:
    sim = simulate_traffic(DAY, vehicles=40, seed=4)
    cams = [dict(c, agency="police911") if c["camera_id"] in ("S0", "S1") else c for c in sim.cameras]
    lakehouse.upsert("cameras", cams)
    # police911's reads at its own cameras S0/S1 (a stored row shows a non-admin only rows whose reads
    # it may all see: municipal's reads at S0/S1 would withhold them)
    rows = [dict(r, agency="police911") if r["camera_id"] in ("S0", "S1") else r for r in sim.rows]
    lakehouse.append("plate_reads", rows)
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    res = run_movement(
        lakehouse, start, start + dt.timedelta(days=1), params=MovementParams(convoy_min_cameras=4)
    )
    assert res.model_versions == ["simulated-v1"]
    written = store_movement(lakehouse, res, DAY)
    assert written["movement_trips"] == res.trips.num_rows == sim.trips
    store_movement(lakehouse, res, DAY)  # idempotent: the day is replaced
    assert lakehouse.count("movement_trips") == sim.trips

    admin = SearchContext(user="a", role="admin", case_number="K", purpose="p")
    scope = ReadScope.of(admin, start=DAY, end=DAY)
    counts = read_movement(lakehouse, scope, "counts")
    assert sum(counts["reads"].to_pylist()) == len(sim.rows)
    assert set(counts["model_version"].to_pylist()) == {"simulated-v1"}
    pol = SearchContext(user="p", agency="police911", case_number="K", purpose="p")
    mine = read_movement(lakehouse, ReadScope.of(pol, start=DAY, end=DAY), "counts")
    assert set(mine["camera_id"].to_pylist()) == {"S0", "S1"}
    assert (
        read_movement(
            lakehouse, ReadScope.of(admin, start=DAY, end=DAY, model_version="other"), "counts"
        ).num_rows
        == 0
    )

    with pytest.raises(MissingCaseError):
        read_movement(lakehouse, ReadScope.of(SearchContext(user="x"), start=DAY, end=DAY), "convoys")
    conv = read_movement(lakehouse, scope, "convoys")
    assert {conv["plate_a"][0].as_py(), conv["plate_b"][0].as_py()} == set(sim.convoy)
    assert audit_rows(lakehouse, action="movement.read")[0]["case_number"] == "K"
