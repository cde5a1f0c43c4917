"""Pieces of the synthetic city that need no video: plate formats and pictures, city presets and
camera placement, camera geometry."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pipelines.plates.text import normalize
from pipelines.synth.geo import CITY_PRESETS, haversine_m, parse_bbox, place_cameras, resolve_city
from pipelines.synth.plates import CAP_FRAC, FORMATS, PLATE_H_M, make_plate, render_plate
from pipelines.synth.scene import make_geometry

EXPECTED = {
    "AR": r"^[A-Z]{2}\d{3}[A-Z]{2}$",
    "BR": r"^[A-Z]{3}\d[A-Z]\d{2}$",
    "PY": r"^[A-Z]{4}\d{3}$",
    "UY": r"^[A-Z]{3}\d{4}$",
    "PE": r"^[A-Z]{3}\d{3}$",
    "SV": r"^P\d{6}$",
}


def test_plate_numbers_follow_country_formats():
    rng = np.random.default_rng(0)
    assert set(FORMATS) == set(EXPECTED)
    for fmt, rx in EXPECTED.items():
        plates = {make_plate(fmt, rng) for _ in range(200)}
        assert len(plates) > 190  # random, not a constant
        assert all(re.match(rx, p) for p in plates), fmt


def test_every_plate_style_is_readable():
    """One plate of each country, rendered 34 px tall (~19 px characters), read by RapidOCR."""
    from rapidocr import RapidOCR

    eng = RapidOCR(
        params={
            "Global.use_cls": False,
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
            "Global.log_level": "error",
        }
    )
    rng = np.random.default_rng(5)
    ok = 0
    for fmt in sorted(FORMATS):
        for _ in range(2):
            text = make_plate(fmt, rng)
            img = render_plate(text, fmt, 34)
            assert img.shape[0] == 34 and 2.8 < img.shape[1] / img.shape[0] < 3.3
            canvas = np.full((img.shape[0] + 24, img.shape[1] + 24, 3), 90, np.uint8)
            canvas[12:-12, 12:-12] = img
            r = eng(canvas, use_det=True, use_cls=False, use_rec=True)
            ok += text in [normalize(t) for t in (r.txts or ())]
    assert ok >= 11  # of 12


def test_city_presets_and_bbox():
    assert set(CITY_PRESETS) == {"asuncion", "buenos_aires", "lima"}
    assert resolve_city("Buenos Aires", None).code == "BUE"
    custom = resolve_city("-70.7,-33.5,-70.6,-33.4", None)
    assert custom.bbox == (-70.7, -33.5, -70.6, -33.4) and custom.utc_offset_h == -5
    assert resolve_city("lima", "-77.05,-12.13,-77.01,-12.10").bbox == (-77.05, -12.13, -77.01, -12.10)
    for bad in ("1,2,3", "a,b,c,d", "10,0,5,1"):
        with pytest.raises(ValueError):
            parse_bbox(bad)
    with pytest.raises(ValueError):
        resolve_city("atlantis", None)


def test_camera_placement_cells_and_ring():
    import h3

    preset = CITY_PRESETS["asuncion"]
    sites = place_cameras(preset, 20, 6, np.random.default_rng(1))
    cells = [s.cell for s in sites]
    assert len(set(cells)) == len(cells)
    lo0, la0, lo1, la1 = preset.bbox
    c_lat, c_lon = (la0 + la1) / 2, (lo0 + lo1) / 2
    ring = [haversine_m(s.lat, s.lon, c_lat, c_lon) for s in sites if s.kind == "portico"]
    inner = [haversine_m(s.lat, s.lon, c_lat, c_lon) for s in sites if s.kind == "street"]
    assert len(ring) == 6 and min(ring) > np.median(inner)  # porticos stand at the entries
    for s in sites:
        assert h3.get_resolution(s.cell) == 9 and lo0 <= s.lon <= lo1 and la0 <= s.lat <= la1


@pytest.mark.parametrize(
    "kind,char,expect", [("street", 30, 30), ("portico", 36, 36), ("street", 21, 21), ("street", 40, 39)]
)
def test_geometry_gives_requested_plate_size(kind, char, expect):
    """At the closest point the characters have the requested height (a street camera caps its zoom
    so the lane still fits beside the sidewalk) and the whole plate is in view."""
    g, layout = make_geometry(kind, 1280, 720, char)
    assert g.s_max * CAP_FRAC * PLATE_H_M == pytest.approx(expect, rel=0.02)
    u, v = g.project(layout.lane_x, 0.30, g.z_min)
    assert v == pytest.approx(720, abs=0.5)
    assert 0 < u - 0.23 * g.s_max and u + 0.23 * g.s_max < 1280
