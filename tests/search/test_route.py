"""Vehicle routes: order, places, travel times, implied speeds and impossible hops."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipelines.governance import MissingCaseError, audit_rows
from pipelines.search import PatternError, haversine_m

from .conftest import read, route_of

M1_P1_M = float(haversine_m(-25.28, -57.63, -25.30, -57.60))  # ~3.75 km


@pytest.fixture
def trip(city):
    city.append(
        "plate_reads",
        [
            read("t1", "KLM456", 0, "m1"),
            read("t2", "KLM456", 10, "p1"),  # 3.75 km in 10 min: 22.5 km/h
            read("t3", "KLM456", 11, "m1"),  # back in 1 min: 225 km/h -> impossible (clone or misread)
            read("t4", "KLM456", 12, "m1"),  # same camera: 0 m
            read(
                "t5", "K1M456", 20, "far", [("K1M456", 0.7), ("KLM456", 0.2)]
            ),  # candidate read, ~50 km in 8 min
            read("t6", "KLM456", 30, "cam-unregistered", agency="police911"),  # no coordinates
            read("t7", "KLM457", 15, "m2"),  # another vehicle
        ],
    )
    return city


def test_route_order_speeds_and_impossible_hops(trip, ctx):
    route = route_of(trip, "KLM456", ctx)
    assert [s["read_id"] for s in route] == ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert [s["step"] for s in route] == [1, 2, 3, 4, 5, 6]
    first, second, third, fourth, fifth, sixth = route
    assert first["travel_s"] is None and first["speed_kmh"] is None and not first["impossible"]
    assert (first["camera_name"], first["lat"], first["lon"]) == ("Av. Mariscal Lopez", -25.28, -57.63)
    assert second["from_camera_id"] == "m1" and second["travel_s"] == 600
    assert second["distance_m"] == pytest.approx(M1_P1_M, abs=1)
    assert second["speed_kmh"] == pytest.approx(M1_P1_M / 600 * 3.6, abs=0.1) and not second["impossible"]
    assert third["speed_kmh"] == pytest.approx(M1_P1_M / 60 * 3.6, abs=0.1) and third["impossible"]
    assert fourth["distance_m"] == 0 and fourth["speed_kmh"] == 0 and not fourth["impossible"]
    assert fifth["matched_text"] == "KLM456" and fifth["speed_kmh"] > 200 and fifth["impossible"]
    assert sixth["lat"] is None and sixth["speed_kmh"] is None and not sixth["impossible"]
    # a looser limit clears the 225 km/h hop but not the ~370 km/h one
    loose = route_of(trip, "KLM456", ctx, max_speed_kmh=300)
    assert [s["read_id"] for s in loose if s["impossible"]] == ["t5"]


def test_route_is_audited_scoped_and_needs_a_full_plate(trip, ctx):
    route = route_of(trip, "KLM456", ctx, start="2024-05-01T08:05:00Z")
    assert [s["read_id"] for s in route] == ["t2", "t3", "t4", "t5", "t6"]
    row = audit_rows(trip)[0]
    assert row["action"] == "plates.route" and row["result_count"] == 5
    assert json.loads(row["parameters"])["impossible_hops"] == 2
    police = dataclasses.replace(ctx, agency="police911")
    assert [s["read_id"] for s in route_of(trip, "KLM456", police)] == ["t1", "t2", "t3", "t4", "t5", "t6"]
    municipal = dataclasses.replace(ctx, agency="municipal")
    assert [s["read_id"] for s in route_of(trip, "KLM456", municipal)] == ["t1", "t3", "t4", "t5"]
    with pytest.raises(PatternError):
        route_of(trip, "KLM*", ctx)
    n = len(audit_rows(trip))
    with pytest.raises(MissingCaseError):
        route_of(trip, "KLM456", dataclasses.replace(ctx, case_number=""))
    rows = audit_rows(trip)  # the refusal is logged as a refusal (issue 12.3), nothing routed
    assert len(rows) == n + 1 and rows[0]["outcome"] == "refused" and rows[0]["result_count"] in (0, None)
