"""The pydeck builders: views that fit the points, impossible hops in red, agency colours."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
from app_testkit import CAMERAS

from app.ui.maps import HOP_IMPOSSIBLE, HOP_OK, cameras_deck, route_deck, view_for


def _visible_span_deg(zoom: float, px: float) -> float:
    return px * 360.0 / (512.0 * 2**zoom)  # deck.gl: 512 px world at zoom 0


def test_view_fits_the_points():
    lats, lons = [-25.282, -25.286, -25.15], [-57.61, -57.633, -57.54]
    v = view_for(lats, lons)
    assert math.isclose(v.latitude, (-25.286 - 25.15) / 2) and math.isclose(
        v.longitude, (-57.633 - 57.54) / 2
    )
    lat_span = (max(lats) - min(lats)) / math.cos(math.radians(sum(lats) / 3))
    assert lat_span <= _visible_span_deg(v.zoom, 330) and lat_span >= _visible_span_deg(v.zoom, 200)
    assert view_for([1.0], [2.0]).zoom == 16.0  # one point: street level, not infinite
    assert view_for([], []).zoom == 1


def test_route_deck_marks_the_impossible_hop():
    t0 = datetime(2026, 11, 10, 10, tzinfo=UTC)
    route = [
        {"camera_id": "MUN-A1", "ts": t0, "lat": -25.282, "lon": -57.61, "impossible": False},
        {
            "camera_id": "POL-P1",
            "ts": t0 + timedelta(minutes=6),
            "lat": -25.286,
            "lon": -57.633,
            "impossible": False,
            "speed_kmh": 23.5,
        },
        {
            "camera_id": "POL-P2",
            "ts": t0 + timedelta(minutes=8),
            "lat": -25.15,
            "lon": -57.54,
            "impossible": True,
            "speed_kmh": 515.0,
        },
    ]
    deck = route_deck(route, pd.DataFrame(CAMERAS))
    layers = {layer.id: layer for layer in deck.layers}
    hops = layers["hops"].data
    assert [h["color"] for h in hops] == [HOP_OK, HOP_IMPOSSIBLE]
    assert hops[1]["speed"] == "515 km/h" and hops[1]["impossible"] == "IMPOSSIBLE"
    assert [p["n"] for p in layers["sightings"].data] == ["1", "2", "3"]
    assert layers["place"].data[2]["label"] == "POL-P2 10:08"
    assert len(layers["all-cameras"].data) == 4


def test_cameras_deck_colours_agencies_and_counts():
    cams = pd.DataFrame(CAMERAS)
    activity = pd.DataFrame(
        {"camera_id": ["POL-P1"], "plate_reads": [7], "face_sightings": [2], "last_seen": [None]}
    )
    data = {d["camera_id"]: d for d in cameras_deck(cams, activity).layers[0].data}
    assert data["POL-P1"]["plate_reads"] == 7 and data["MUN-A2"]["plate_reads"] == 0
    assert data["MUN-A1"]["color"][:3] != data["POL-P1"]["color"][:3]
    assert data["MUN-A1"]["radius"] > data["MUN-A2"]["radius"]  # porticos drawn larger
    assert data["MUN-A1"]["shared"] == "police911"
