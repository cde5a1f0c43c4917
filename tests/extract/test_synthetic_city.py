"""End to end on a synthetic city: plate passes read, face passes identified, rows complete."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def jpeg_ok(data: bytes) -> bool:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img is not None and img.size > 0


def test_plate_passes_are_read(city, city_home) -> None:
    from pipelines.extract.evaluate import score_plates

    lh, reports = city_home
    assert all(r.ok for r in reports), [r.failed for r in reports]
    rows = lh.read("plate_reads", columns=["camera_id", "offset_s", "plate"]).to_pylist()
    s = score_plates(city, rows)
    assert s.passes >= 8
    assert s.recall >= 0.95, s.misses
    assert s.precision >= 0.98, s.wrong


def test_face_passes_are_identified(city, city_home, enrolled) -> None:
    from pipelines.extract.evaluate import score_faces

    lh, _ = city_home
    names, vecs = enrolled
    assert len(set(names)) >= 5
    rows = lh.read("face_sightings", columns=["camera_id", "offset_s", "embedding"]).to_pylist()
    s = score_faces(city, rows, names, vecs)
    assert s.passes >= 5
    assert s.rate >= 0.90, s.misses
    # one row per person pass, not one per frame
    assert s.rows <= 1.5 * len(city.face_passes)


def test_rows_carry_source_time_ids_and_crops(city, city_home) -> None:
    from pipelines.extract import EXTRACTION_MODEL_VERSION

    lh, _ = city_home
    videos = {v.camera_id: v for v in city.videos}
    cams = {c["camera_id"]: c for c in city.cameras}
    for table, key in (("plate_reads", "read_id"), ("face_sightings", "sighting_id")):
        rows = lh.read(table).to_pylist()
        assert rows
        assert len({r[key] for r in rows}) == len(rows)
        for r in rows:
            v = videos[r["camera_id"]]
            assert r["source_uri"] == str(city.abspath(v.path)) and Path(r["source_uri"]).is_absolute()
            assert 0.0 <= r["offset_s"] <= v.duration_s
            assert r["ts"] == v.start_ts + dt.timedelta(seconds=r["offset_s"])
            assert r["agency"] == cams[r["camera_id"]]["agency"]
            assert r["model_version"] == EXTRACTION_MODEL_VERSION
            assert r["track_len"] >= 1 and len(r["bbox"]) == 4
            assert jpeg_ok(r["crop_jpeg"])
    faces = lh.read("face_sightings").to_pylist()
    assert all(len(f["embedding"]) == 128 for f in faces)
    assert any(f["searchable"] for f in faces)
    plates = lh.read("plate_reads").to_pylist()
    for p in plates:
        assert p["candidates"][0]["text"] == p["plate"] and len(p["char_confidences"]) == len(p["plate"])


def test_book_keeping_tables(city, city_home) -> None:
    import hashlib

    lh, reports = city_home
    runs = {r["video_id"]: r for r in lh.read("processing_runs").to_pylist()}
    videos = {r["video_id"]: r for r in lh.read("videos").to_pylist()}
    assert len(runs) == len(videos) == len(city.videos)
    plates = lh.read("plate_reads", columns=["video_id"])["video_id"].to_pylist()
    faces = lh.read("face_sightings", columns=["video_id"])["video_id"].to_pylist()
    for v in city.videos:
        vid = hashlib.sha256(city.abspath(v.path).read_bytes()).hexdigest()
        run, video = runs[vid], videos[vid]
        assert run["status"] == "succeeded" and run["error"] is None
        assert run["frames_decoded"] == v.frames
        assert 0 < run["frames_processed"] <= run["frames_decoded"]
        assert run["plate_reads"] == plates.count(vid) and run["face_sightings"] == faces.count(vid)
        assert video["status"] == "processed" and video["camera_id"] == v.camera_id
        assert video["start_ts"] == v.start_ts
        assert video["end_ts"] == v.start_ts + dt.timedelta(seconds=v.duration_s)
        assert (video["width"], video["height"], video["frames"]) == (v.width, v.height, v.frames)
    assert sum(r.plate_reads for r in reports) == len(plates)
