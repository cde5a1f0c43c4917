"""Fixtures for the extraction tests: one small synthetic city (generated once per session) and
its extraction into a Lakehouse, short clips cut from it, and the enrolled identities."""

from __future__ import annotations

from pathlib import Path

import pytest

#: the city the extraction tests score against: 3 cameras (1 portico, 2 street of which 1 at
#: night), 18 s each, 1280x720 at 25 fps, default difficulty
CITY = {"cameras": 3, "minutes": 0.3, "seed": 7}


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    from pipelines.synth import city as synth

    out = tmp_path_factory.mktemp("city")
    return synth.generate_city(out, incidents=0, progress=False, **CITY)


@pytest.fixture(scope="session")
def city_home(city, ray_session, tmp_path_factory):
    """The city's clips ingested (default settings) into a fresh Lakehouse: (lakehouse, reports)."""
    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths

    lh = Lakehouse(home=tmp_path_factory.mktemp("city-home"))
    lh.upsert("cameras", city.cameras)
    reports = [
        ingest_paths(lh, [city.abspath(v.path)], camera_id=v.camera_id, start=v.start_ts, progress=False)
        for v in city.videos
    ]
    return lh, reports


@pytest.fixture(scope="session")
def enrolled(city):
    """(identity per embedding, embeddings) of the city's enrolment photos."""
    from pipelines.extract.evaluate import enrol_identities

    return enrol_identities(city.identities)


def cut_clip(src: Path, dst: Path, t0: float, t1: float) -> Path:
    """Re-encode ``src`` between ``t0`` and ``t1`` seconds to ``dst`` (H.264 mp4, same size/rate)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        for frame in inp.decode(vin):
            if frame.time is None or frame.time < t0:
                continue
            if frame.time > t1:
                break
            img = frame.to_ndarray(format="rgb24")
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return dst


@pytest.fixture(scope="session")
def short_clip(city, tmp_path_factory):
    """(path, plate pass) — ~2.5 s of a day street clip around one complete plate pass."""
    street = [v for v in city.videos if v.scene == "street" and v.lighting == "day"]
    if not street:
        pytest.skip("the synthetic city has no day street camera")
    v = street[0]
    passes = [p for p in city.plate_passes if p.camera_id == v.camera_id and p.complete]
    p = min(passes, key=lambda p: p.t_end_s - p.t_start_s)
    t0 = max(0.0, p.t_end_s - 2.0)
    out = tmp_path_factory.mktemp("clip") / "street_clip.mp4"
    return cut_clip(city.abspath(v.path), out, t0, p.t_end_s + 0.4), p
