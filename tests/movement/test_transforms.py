"""Beam movement transforms fed with timestamped ``beam.Create`` input, checked with ``assert_that``."""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipelines.movement import CameraCounts, Convoys, ODFlows, ParseSightings, Sighting, Trips
from pipelines.movement.convoys import poisson_binomial_sf
from pipelines.movement.sightings import to_datetime

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _pipeline() -> BeamTestPipeline:
    return BeamTestPipeline(runner="FnApiRunner")


def _stamped(p: beam.Pipeline, sightings: list[Sighting], label: str = "Create") -> beam.PCollection:
    return (
        p | label >> beam.Create(sightings) | f"{label}Stamp" >> beam.Map(lambda s: TimestampedValue(s, s.ts))
    )


def S(plate: str, cam: str, t: float) -> Sighting:  # noqa: N802 - reads like a row literal
    return Sighting(plate, cam, T0 + t)


def test_trips_split_by_gap() -> None:
    data = [
        S("AB123CD", "c1", 0),
        S("AB123CD", "c2", 120),
        S("AB123CD", "c2", 150),
        S("AB123CD", "c3", 400),
        # 700 s after the last sighting: a new trip with gap 600, the same trip with gap 900
        S("AB123CD", "c3", 1100),
        S("AB123CD", "c1", 1200),
        S("ZZ999ZZ", "c2", 50),
    ]

    def key(rows):
        return sorted(
            (
                r["plate"],
                r["first_camera"],
                r["last_camera"],
                r["n_sightings"],
                tuple(r["cameras"]),
                r["start"],
                r["end"],
            )
            for r in rows
        )

    with _pipeline() as p:
        trips = _stamped(p, data) | Trips(gap_s=600)
        assert_that(
            trips | beam.combiners.ToList() | beam.Map(key),
            equal_to(
                [
                    [
                        (
                            "AB123CD",
                            "c1",
                            "c3",
                            4,
                            ("c1", "c2", "c3"),
                            to_datetime(T0),
                            to_datetime(T0 + 400),
                        ),
                        (
                            "AB123CD",
                            "c3",
                            "c1",
                            2,
                            ("c3", "c1"),
                            to_datetime(T0 + 1100),
                            to_datetime(T0 + 1200),
                        ),
                        ("ZZ999ZZ", "c2", "c2", 1, ("c2",), to_datetime(T0 + 50), to_datetime(T0 + 50)),
                    ]
                ]
            ),
        )
    with _pipeline() as p:
        trips = _stamped(p, data) | Trips(gap_s=900)
        assert_that(
            trips | beam.Map(lambda r: (r["plate"], r["n_sightings"], r["n_cameras"], r["duration_s"])),
            equal_to([("AB123CD", 6, 3, 1200.0), ("ZZ999ZZ", 1, 1, 0.0)]),
        )


def test_camera_counts_fixed_and_sliding() -> None:
    data = [
        S("A1", "c1", 10),
        S("A1", "c1", 20),
        S("B2", "c1", 3599),
        S("C3", "c1", 3700),
        S("A1", "c2", 100),
    ]
    h = to_datetime
    with _pipeline() as p:
        rows = _stamped(p, data) | CameraCounts(size_s=3600)
        assert_that(
            rows | beam.Map(lambda r: (r["camera_id"], r["window_start"], r["reads"], r["plates"])),
            equal_to([("c1", h(T0), 3, 2), ("c1", h(T0 + 3600), 1, 1), ("c2", h(T0), 1, 1)]),
        )
    with _pipeline() as p:
        # 1 h windows every 30 min: the 3599 s and 3700 s reads share the window starting at 1800 s
        rows = _stamped(p, data) | CameraCounts(size_s=3600, period_s=1800)
        assert_that(
            rows
            | beam.Filter(lambda r: r["camera_id"] == "c1")
            | beam.Map(lambda r: (r["window_start"], r["reads"])),
            equal_to([(h(T0 - 1800), 2), (h(T0), 3), (h(T0 + 1800), 2), (h(T0 + 3600), 1)]),
        )


def test_od_flows_first_to_last_portico() -> None:
    porticos = ["P-north", "P-south", "P-east"]
    data = [
        # two trips north -> south via a street camera, travel 600 s and 800 s
        S("AAA111", "P-north", 0),
        S("AAA111", "street-1", 300),
        S("AAA111", "P-south", 600),
        S("BBB222", "P-north", 100),
        S("BBB222", "P-south", 900),
        # east -> north with an intermediate portico: only first and last count
        S("CCC333", "P-east", 0),
        S("CCC333", "P-south", 200),
        S("CCC333", "P-north", 500),
        # one portico only: origin == destination, no travel time
        S("DDD444", "street-1", 0),
        S("DDD444", "P-east", 60),
        # no portico: counted in a metric, no flow
        S("EEE555", "street-1", 0),
        S("EEE555", "street-2", 60),
    ]
    with _pipeline() as p:
        flows = _stamped(p, data) | Trips(gap_s=900) | ODFlows(porticos)
        assert_that(
            flows
            | beam.Map(
                lambda r: (r["origin"], r["destination"], r["trips"], r["mean_travel_s"], r["window_start"])
            ),
            equal_to(
                [
                    ("P-north", "P-south", 2, 700.0, None),
                    ("P-east", "P-north", 1, 500.0, None),
                    ("P-east", "P-east", 1, None, None),
                ]
            ),
        )


def _convoy_city() -> tuple[list[Sighting], float]:
    """6 h on 6 cameras: target T; follower V 20-40 s behind it at 5 cameras; a bus that passes every
    camera every 2 minutes (meets T everywhere by chance); 60 random cars seen twice each."""
    import random

    rng = random.Random(3)
    span = 6 * 3600.0
    cams = [f"c{i}" for i in range(6)]
    data: list[Sighting] = []
    for i, cam in enumerate(cams[:5]):
        t = 3600.0 * (i + 0.5)
        data.append(S("TGT001", cam, t))
        data.append(S("VAN777", cam, t + rng.uniform(20, 40)))
    for cam in cams:
        offset = rng.uniform(0, 120)
        data.extend(S("BUS100", cam, offset + 120.0 * k) for k in range(int(span // 120)))
    for n in range(60):
        for _ in range(2):
            data.append(S(f"CAR{n:03d}", rng.choice(cams), rng.uniform(0, span)))
    return data, span


def test_convoy_found_against_background_target() -> None:
    data, span = _convoy_city()
    with _pipeline() as p:
        rows = _stamped(p, data) | Convoys(delta_s=60, min_cameras=3, span_s=span, target="TGT001")
        ranked = rows | beam.combiners.ToList() | beam.Map(lambda rs: sorted(rs, key=lambda r: r["rank"]))

        def check(all_ranked):
            (rs,) = all_ranked
            by_plate = {r["plate_b"]: r for r in rs}
            assert rs[0]["plate_b"] == "VAN777" and rs[0]["plate_a"] == "TGT001"
            assert by_plate["VAN777"]["n_cameras"] == 5
            # the bus meets the target at all 5 cameras too, but that is what its frequency predicts
            bus = by_plate["BUS100"]
            assert bus["n_cameras"] == 5 and bus["rank"] == 2
            assert bus["expected_cameras"] > 2.5 and bus["p_value"] > 0.01
            assert by_plate["VAN777"]["p_value"] < 1e-9 < bus["p_value"]
            assert by_plate["VAN777"]["lift"] > 100 > bus["lift"]

        assert_that(ranked, check)


def test_convoy_all_pairs_exactly_once_and_k() -> None:
    data, span = _convoy_city()
    with _pipeline() as p:
        rows = _stamped(p, data) | Convoys(delta_s=60, min_cameras=5, span_s=span)

        def check(rs):
            pairs = {(r["plate_a"], r["plate_b"]): r for r in rs}
            assert ("TGT001", "VAN777") in pairs
            top = min(rs, key=lambda r: r["rank"])
            assert (top["plate_a"], top["plate_b"]) == ("TGT001", "VAN777")
            # each of the 5 meetings counted once, although buckets overlap
            assert pairs[("TGT001", "VAN777")]["n_cooccurrences"] == 5
            assert all(r["n_cameras"] >= 5 for r in rs)

        assert_that(rows, check)


@pytest.mark.parametrize("horizon_s", [None, 1800.0])
def test_convoy_pairs_across_block_and_horizon_edges_equal_brute_force(horizon_s) -> None:
    """Reads crowd the hour (block) edges, some exactly Δt apart across an edge: every pair within
    ±Δt at a camera is counted once, never across a horizon, as a brute-force count says."""
    import math
    import random
    from collections import defaultdict

    rng = random.Random(7)
    data = [S("EDGEA", "c0", 3600.0 - 60.0), S("EDGEB", "c0", 3600.0), S("EDGEC", "c0", 3600.0 + 60.0)]
    data += [S("EDGEA", "c1", 7200.0 - 30.0), S("EDGEB", "c1", 7200.0 + 30.0)]
    for k in range(1, 5):
        for _ in range(40):
            data.append(
                S(f"P{rng.randrange(12):02d}", f"c{rng.randrange(3)}", k * 3600.0 + rng.uniform(-90, 90))
            )

    def h(t: float) -> int:
        return math.floor(t / horizon_s) if horizon_s else 0

    expect: dict[tuple, list[str]] = defaultdict(list)
    for i, x in enumerate(data):
        for y in data[i + 1 :]:
            if x.camera_id == y.camera_id and x.plate != y.plate and abs(x.ts - y.ts) <= 60:
                if h(x.ts) == h(y.ts):
                    a, b = sorted((x.plate, y.plate))
                    expect[(a, b, h(x.ts))].append(x.camera_id)
    want = sorted((a, b, len(set(c)), len(c), tuple(sorted(set(c)))) for (a, b, _), c in expect.items())
    with _pipeline() as p:
        rows = _stamped(p, data) | Convoys(delta_s=60, min_cameras=1, span_s=5 * 3600.0, horizon_s=horizon_s)
        got = rows | beam.Map(
            lambda r: (r["plate_a"], r["plate_b"], r["n_cameras"], r["n_cooccurrences"], tuple(r["cameras"]))
        )
        assert_that(got, equal_to(want))
    if horizon_s is None:  # exactly Δt apart across an hour edge, at two cameras
        assert ("EDGEA", "EDGEB", 2, 2, ("c0", "c1")) in want


def test_bad_records_counted_not_raised() -> None:
    rows = [
        {"plate": "AB123CD", "camera_id": "c1", "ts": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        {"plate": None, "camera_id": "c1", "ts": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        {"plate": "  ", "camera_id": "c1", "ts": "2026-01-01T00:00:00Z"},
        {"plate": "AB123CD", "camera_id": None, "ts": "2026-01-01T00:00:00Z"},
        {"plate": "AB123CD", "camera_id": "c2", "ts": "not a time"},
        {"plate": "ab123cd", "camera_id": "c2", "ts": "2026-01-01T00:01:00+00:00", "confidence": 0.2},
        {"plate": "ab123cd", "camera_id": "c3", "ts": "2026-01-01T00:02:00Z", "confidence": 0.9},
    ]
    p = beam.Pipeline(runner="FnApiRunner")
    out = p | beam.Create(rows) | ParseSightings(min_confidence=0.5)
    assert_that(
        out | beam.Map(lambda s: (s.plate, s.camera_id)), equal_to([("AB123CD", "c1"), ("AB123CD", "c3")])
    )
    result = p.run()
    result.wait_until_finish()
    counters = {m.key.metric.name: m.committed for m in result.metrics().query()["counters"]}
    assert counters["reads_in"] == 7
    assert counters["bad_no_plate"] == 2
    assert counters["bad_no_camera"] == 1
    assert counters["bad_time"] == 1
    assert counters["low_confidence"] == 1
    assert counters["reads_used"] == 2


def test_poisson_binomial_tail() -> None:
    assert poisson_binomial_sf([0.5, 0.5], 1) == pytest.approx(0.75)
    assert poisson_binomial_sf([0.5, 0.5], 2) == pytest.approx(0.25)
    assert poisson_binomial_sf([0.1] * 5, 5) == pytest.approx(1e-5)
    assert poisson_binomial_sf([0.3], 2) == 0.0
