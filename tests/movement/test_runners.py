"""One set of Beam transforms, batch and stream, on two runners, against an independent reference.

- batch: :func:`run_movement` on the local runner (FnApiRunner) and on Beam's DaskRunner against a
  ``dask.distributed`` cluster of 2 worker processes on 127.0.0.1 started here — the four results
  equal each other and the DuckDB/Polars reference (:mod:`pipelines.movement.reference`);
- stream: the same transforms fed by ``TestStream`` (streaming direct runner): sessions and count
  windows close as the watermark advances, each pane on time, and the results equal the batch ones.
"""

from __future__ import annotations

import datetime as dt
import math

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipelines.movement import CameraCounts, MovementParams, Trips, run_movement
from pipelines.movement.reference import differences, normalize, reference_normalized
from pipelines.movement.runner import portico_ids, read_plate_reads
from pipelines.movement.sightings import Sighting, to_epoch
from pipelines.movement.simulate import simulate_traffic

DAY = dt.date(2026, 3, 2)
PARAMS = MovementParams(
    gap_s=900,
    count_window_s=3600,
    count_period_s=1800,
    flow_bucket_s=3600,
    convoy_delta_s=60,
    convoy_min_cameras=3,
)


def _norm(tables) -> dict[str, set]:
    return normalize(tables)


def _reference(lh, start, end) -> dict[str, set]:
    reads = read_plate_reads(lh, start, end)
    return reference_normalized(reads, portico_ids(lh), PARAMS, (end - start).total_seconds())


@pytest.fixture(scope="module")
def day_home(tmp_path_factory):
    from lakehouse import Lakehouse

    lh = Lakehouse(home=tmp_path_factory.mktemp("beam"))
    sim = simulate_traffic(DAY, vehicles=60, seed=5)
    lh.upsert("cameras", sim.cameras)
    lh.append("plate_reads", sim.rows)
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return lh, sim, start, start + dt.timedelta(days=1)


def test_local_runner_equals_reference(day_home) -> None:
    lh, sim, start, end = day_home
    res = run_movement(lh, start, end, params=PARAMS)
    got, ref = _norm(res.tables), _reference(lh, start, end)
    assert differences(got, ref) == {}
    assert len(got["trips"]) == sim.trips and set(sim.convoy) <= {p for c in got["convoys"] for p in c[:2]}


@pytest.mark.slow
def test_dask_runner_two_workers_equals_local_and_reference(day_home) -> None:
    from pipelines.movement.dask_cluster import dask_options, local_dask_cluster

    lh, _sim, start, end = day_home
    local = run_movement(lh, start, end, params=PARAMS)
    with local_dask_cluster(n_workers=2) as address:
        assert address.startswith("tcp://127.0.0.1:")
        dask = run_movement(
            lh,
            start,
            end,
            runner="DaskRunner",
            options=dask_options(address, partitions=4),
            params=PARAMS,
            rows_per_slice=500,  # several slices, read by both workers
        )
    assert dask.runner.endswith("DaskRunner") and dask.reads == local.reads
    got, want, ref = _norm(dask.tables), _norm(local.tables), _reference(lh, start, end)
    assert differences(got, want) == {} and differences(got, ref) == {}


def test_stream_sessions_and_counts_close_as_time_advances() -> None:
    """TestStream: reads arrive in event-time order with the watermark following them; sessions
    close into trips and each count window is emitted ON_TIME when the watermark passes its end;
    the results equal the independent batch reference."""
    sim = simulate_traffic(DAY, vehicles=15, seed=2)
    sightings = [Sighting(r["plate"], r["camera_id"], to_epoch(r["ts"])) for r in sim.rows]
    sightings.sort(key=lambda s: s.ts)
    stream = BeamTestStream()
    t0 = math.floor(sightings[0].ts)
    stream.advance_watermark_to(t0)
    for i in range(0, len(sightings), 20):  # batches of reads, then the clock moves on
        chunk = sightings[i : i + 20]
        stream.add_elements([TimestampedValue(s, s.ts) for s in chunk])
        stream.advance_watermark_to(math.floor(chunk[-1].ts))
    stream.advance_watermark_to_infinity()

    def timing(x, pane=beam.DoFn.PaneInfoParam):
        yield pane.timing

    # the checks (assert_that) group in the global window: allowed, the stream ends at +inf
    opts = PipelineOptions(runner="BundleBasedDirectRunner", allow_unsafe_triggers=True)
    opts.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=opts) as p:
        s = p | stream
        trips = s | "Trips" >> Trips(gap_s=900, global_window=False)
        counts = s | "Counts" >> CameraCounts(size_s=3600, global_window=False)
        assert_that(
            trips | "TripKey" >> beam.Map(lambda r: (r["plate"], r["n_sightings"], r["first_camera"])),
            equal_to(_batch_trips(sightings)),
            label="TripsEqualBatch",
        )
        assert_that(
            counts | "CountKey" >> beam.Map(lambda r: (r["camera_id"], r["window_start"], r["reads"])),
            equal_to(_batch_counts(sightings)),
            label="CountsEqualBatch",
        )
        assert_that(counts | "CountPane" >> beam.ParDo(timing), _all_on_time, label="CountsOnTime")


def _all_on_time(timings: list[int]) -> None:
    from apache_beam.utils.windowed_value import PaneInfoTiming

    assert timings and set(timings) == {PaneInfoTiming.ON_TIME}, set(timings)


def _batch_trips(sightings: list[Sighting]) -> list[tuple]:
    import polars as pl

    from pipelines.movement.reference import reference_trips
    from pipelines.movement.sightings import to_datetime

    df = pl.DataFrame(
        {
            "plate": [s.plate for s in sightings],
            "camera_id": [s.camera_id for s in sightings],
            "ts": [to_datetime(s.ts) for s in sightings],
        }
    )
    return [
        (r["plate"], r["n_sightings"], r["first_camera"])
        for r in reference_trips(df, 900).iter_rows(named=True)
    ]


def _batch_counts(sightings: list[Sighting]) -> list[tuple]:
    from collections import Counter

    from pipelines.movement.sightings import to_datetime

    c = Counter((s.camera_id, math.floor(s.ts / 3600) * 3600) for s in sightings)
    return [(cam, to_datetime(w), n) for (cam, w), n in c.items()]


def test_differences_forgive_only_the_last_bits_of_a_mean() -> None:
    """Two runs sum the same travel times in another order: 1319.5345 may round to .534 on one
    side and .535 on the other. Means within a millisecond are equal; anything else still differs."""
    ref = {"flows": {("P0", "P2", 3600, 20, 1319.53449999)}, "counts": {("C1", 0.0, 5, 4)}}
    assert (
        differences({"flows": {("P0", "P2", 3600.0, 20, 1319.5345)}, "counts": {("C1", 0.0, 5, 4)}}, ref)
        == {}
    )
    off = differences({"flows": {("P0", "P2", 3600, 20, 1319.6)}, "counts": {("C1", 0.0, 5, 4)}}, ref)
    assert list(off) == ["flows"]
    fewer = differences({"flows": {("P0", "P2", 3600, 19, 1319.5345)}, "counts": {("C1", 0.0, 5, 3)}}, ref)
    assert sorted(fewer) == ["counts", "flows"]
