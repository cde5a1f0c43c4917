"""The movement job's reads come from the workers, in slices: no read lost or doubled at a slice
edge, the scope applied, and the table version pinned when the run was planned."""

from __future__ import annotations

import datetime as dt
import pickle
from collections import Counter

import pytest

from pipelines.movement import MovementParams, run_movement
from pipelines.movement.reference import differences, normalize
from pipelines.movement.runner import read_plate_reads, system_scope
from pipelines.movement.simulate import simulate_traffic
from pipelines.movement.source import plan_reads

DAY = dt.date(2026, 3, 2)
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
END = START + dt.timedelta(days=1)


@pytest.fixture()
def home(tmp_path):
    from lakehouse import Lakehouse

    lh = Lakehouse(home=tmp_path)
    sim = simulate_traffic(DAY, vehicles=40, seed=3)
    lh.upsert("cameras", sim.cameras)
    lh.append("plate_reads", sim.rows)
    return lh, sim


def _ids(rows) -> Counter:
    return Counter(r["read_id"] for r in rows)


def test_slices_together_read_every_scoped_read_once(home) -> None:
    lh, _sim = home
    want = read_plate_reads(lh, START, END)
    plan = plan_reads(lh, START, END, system_scope(START, END), rows_per_slice=97)
    assert plan.rows == want.num_rows and len(plan.slices) == -(-want.num_rows // 97)
    assert plan.slices[0].start == START and plan.slices[-1].end == END
    assert all(a.end == b.start for a, b in zip(plan.slices, plan.slices[1:], strict=False))
    got = [r for s in plan.slices for r in pickle.loads(pickle.dumps(s)).rows()]  # as a worker gets it
    assert _ids(got) == Counter(want["read_id"].to_pylist())
    assert plan.model_versions == sorted(set(want["model_version"].to_pylist()))


def test_a_plan_reads_the_version_it_pinned(home) -> None:
    """Reads committed after the plan (extraction running meanwhile) are not half-seen by a run."""
    lh, _sim = home
    plan = plan_reads(lh, START, END, system_scope(START, END), rows_per_slice=200)
    before = _ids(r for s in plan.slices for r in s.rows())
    late = simulate_traffic(DAY, vehicles=5, seed=9).rows
    for r in late:
        r["read_id"] = "late-" + r["read_id"]
    lh.append("plate_reads", late)
    assert _ids(r for s in plan.slices for r in s.rows()) == before
    again = plan_reads(lh, START, END, system_scope(START, END), rows_per_slice=200)
    assert again.rows == plan.rows + len(late)


def test_a_scope_with_no_cameras_plans_nothing(home) -> None:
    lh, _sim = home
    plan = plan_reads(lh, START, END, system_scope(START, END), cameras=["no-such-camera"])
    assert plan.slices == [] and plan.rows == 0
    res = run_movement(lh, START, END, cameras=["no-such-camera"], params=MovementParams())
    assert res.reads == 0 and all(t.num_rows == 0 for t in res.tables.values())


def test_many_slices_give_the_same_tables_as_one(home) -> None:
    lh, _sim = home
    one = run_movement(lh, START, END, rows_per_slice=10**9)
    many = run_movement(lh, START, END, rows_per_slice=150)
    assert (
        one.reads == many.reads and one.metrics.get("reads_in") == many.metrics.get("reads_in") == one.reads
    )
    assert differences(normalize(many.tables), normalize(one.tables)) == {}
