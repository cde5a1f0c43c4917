"""The live consumer of the movement transforms: counts per camera and convoy candidates of a
watchlisted plate, fed micro-batch by micro-batch (through the live committer's ``on_commit`` hook),
equal the daily batch job over the same reads; the same transforms on an unbounded ``TestStream``
close their windows as the watermark passes and equal the batch result."""

from __future__ import annotations

import datetime as dt
import math

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from lakehouse import Lakehouse
from pipelines.live.commit import MicroBatchCommitter
from pipelines.movement.convoys import Convoys
from pipelines.movement.live import LiveMovement, LiveMovementParams, StreamHook
from pipelines.movement.runner import MovementParams, run_movement
from pipelines.movement.sightings import Sighting, to_epoch
from pipelines.movement.simulate import simulate_traffic

DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def sim():
    return simulate_traffic(DAY, vehicles=40, seed=7)


def _counts(table) -> set[tuple]:
    return {
        (r["camera_id"], r["window_start"], r["window_end"], r["reads"], r["plates"])
        for r in table.to_pylist()
    }


@pytest.mark.slow
def test_live_counts_and_convoys_equal_the_daily_job(tmp_path, sim) -> None:
    lh = Lakehouse(home=tmp_path)
    lh.upsert("cameras", sim.cameras)
    target, follower = sim.convoy
    rows = sorted(sim.rows, key=lambda r: r["ts"])
    live = LiveMovement(lh, LiveMovementParams(every_s=0, convoy_horizon_s=86400), targets=[target])
    n = math.ceil(len(rows) / 4)
    for i in range(0, len(rows), n):  # four micro-batches in time order, each written then counted
        batch = rows[i : i + n]
        lh.upsert("plate_reads", batch)
        update = live.on_batch(MicroBatchCommitter(lh).table("plate_reads", batch))
        assert update is not None and update.reads >= len(batch)
    stored = lh.read("movement_counts").to_pylist()
    assert stored and {r["run_id"] for r in stored} == {"live"}
    daily = run_movement(
        lh,
        dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC),
        dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
        params=MovementParams(convoy_target=target, convoy_min_cameras=3),
    )
    assert _counts(lh.read("movement_counts")) == _counts(daily.counts)
    convoys = sorted(lh.read("movement_convoys").to_pylist(), key=lambda r: r["rank"])
    assert convoys and convoys[0]["plate_a"] == target and convoys[0]["plate_b"] == follower
    assert {(r["plate_b"], r["n_cameras"]) for r in convoys} == {
        (r["plate_b"], r["n_cameras"]) for r in daily.convoys.to_pylist()
    }


def test_commit_hook_feeds_the_consumer_in_the_background(tmp_path, sim) -> None:
    lh = Lakehouse(home=tmp_path)
    lh.upsert("cameras", sim.cameras)
    rows = sorted(sim.rows, key=lambda r: r["ts"])[:300]
    hook = StreamHook(LiveMovement(lh, LiveMovementParams(every_s=3600)))
    committer = MicroBatchCommitter(lh, alerts=False)
    committer.on_commit.append(hook)
    committer.on_commit.insert(0, lambda res: 1 / 0)  # a broken consumer never stops the commit
    for i in range(0, len(rows), 100):
        res = committer.commit(rows[i : i + 100], [], [])
        assert res.plate_reads == len(rows[i : i + 100])
    hook.close()
    assert hook.updates >= 1
    want: dict[tuple, int] = {}
    for r in rows:
        start = dt.datetime.fromtimestamp(math.floor(r["ts"].timestamp() / 3600) * 3600, dt.UTC)
        want[(r["camera_id"], start)] = want.get((r["camera_id"], start), 0) + 1
    got = {(r["camera_id"], r["window_start"]): r["reads"] for r in lh.read("movement_counts").to_pylist()}
    assert got == want


@pytest.mark.slow
def test_convoys_on_a_test_stream_close_per_horizon(sim) -> None:
    """TestStream: the targeted Convoys transform with a one-hour horizon on unbounded input emits
    each horizon's candidates when the watermark passes it, equal to the bounded run per horizon."""
    target, follower = sim.convoy
    sightings = sorted(
        (Sighting(r["plate"], r["camera_id"], to_epoch(r["ts"])) for r in sim.rows), key=lambda s: s.ts
    )
    stream = BeamTestStream()
    stream.advance_watermark_to(math.floor(sightings[0].ts))
    for i in range(0, len(sightings), 25):
        chunk = sightings[i : i + 25]
        stream.add_elements([TimestampedValue(s, s.ts) for s in chunk])
        stream.advance_watermark_to(math.floor(chunk[-1].ts))
    stream.advance_watermark_to_infinity()

    hours = sorted({math.floor(s.ts / 3600) for s in sightings if s.plate == target})
    want = []
    for h in hours:
        part = [s for s in sightings if math.floor(s.ts / 3600) == h]
        want += _pairs_reference(part, target, 60, 2)
    opts = PipelineOptions(runner="BundleBasedDirectRunner", allow_unsafe_triggers=True)
    opts.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=opts) as p:
        got = (
            p
            | stream
            | Convoys(60, 2, target=target, horizon_s=3600)
            | beam.Map(lambda r: (r["plate_b"], r["n_cameras"], r["n_cooccurrences"]))
        )
        assert_that(got, equal_to(want))
    assert any(p == follower for p, _, _ in want)


def _pairs_reference(sightings: list[Sighting], target: str, delta_s: float, k: int) -> list[tuple]:
    """(partner, distinct cameras, co-occurrences) with the target within ±Δt, by brute force."""
    mine = [s for s in sightings if s.plate == target]
    cams: dict[str, set[str]] = {}
    pairs: dict[str, int] = {}
    for t in mine:
        for s in sightings:
            if s.plate != target and s.camera_id == t.camera_id and abs(s.ts - t.ts) <= delta_s:
                cams.setdefault(s.plate, set()).add(s.camera_id)
                pairs[s.plate] = pairs.get(s.plate, 0) + 1
    return [(p, len(c), pairs[p]) for p, c in cams.items() if len(c) >= k]
