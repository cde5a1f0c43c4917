"""Tracking and per-track rows: association by overlap and appearance, votes, candidates, ids."""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.extract.passes import (
    SourceContext,
    face_observation,
    face_row,
    face_tracker,
    plate_observation,
    plate_row,
    plate_tracker,
    text_similarity,
)
from pipelines.extract.tracking import Observation, Tracker, iou

CTX = SourceContext(
    "vid", "CAM-1", "municipal", "/abs/clip.mp4", dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC), "v1"
)


def _read(text: str, score: float, box, cands=None) -> dict:
    return {
        "text": text,
        "raw": text,
        "score": score,
        "bbox": box,
        "plate_format": "PY",
        "candidates": cands or [(text, score)],
        "char_confidences": [score] * len(text),
        "crop_jpeg": f"{text}-{score}".encode(),
    }


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == 1 / 3
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_two_plates_crossing_stay_two_tracks_and_vote_picks_the_right_text() -> None:
    tr = plate_tracker()
    for k in range(8):  # plate A moves right fast (no overlap between samples), plate B moves left
        t = 0.2 * k
        a = (100 + 60 * k, 300, 140 + 60 * k, 315)
        b = (600 - 60 * k, 320, 640 - 60 * k, 335)
        ta = "ABCD123" if k != 3 else "ABCO123"  # one misread
        tr.update(
            t,
            [
                plate_observation(k, t, _read(ta, 0.9 if k != 3 else 0.5, a)),
                plate_observation(k, t, _read("XYZW987", 0.8, b)),
            ],
        )
    tracks = tr.finish()
    assert len(tracks) == 2
    rows = sorted((plate_row(t, CTX) for t in tracks), key=lambda r: r["plate"])
    assert [r["plate"] for r in rows] == ["ABCD123", "XYZW987"]
    assert [r["track_len"] for r in rows] == [8, 8]
    a = rows[0]
    assert a["candidates"][0]["text"] == "ABCD123" and a["confidence"] == a["candidates"][0]["score"]
    assert "ABCO123" in [c["text"] for c in a["candidates"]]
    assert a["crop_jpeg"] == b"ABCD123-0.9"  # the crop of the best read of the winning text
    assert a["source_uri"] == "/abs/clip.mp4"
    assert a["ts"] == CTX.start + dt.timedelta(seconds=a["offset_s"])


def test_a_gap_longer_than_allowed_splits_the_track_and_ids_are_stable() -> None:
    def run() -> list[dict]:
        tr = plate_tracker(max_gap_s=1.0)
        box = (100, 100, 140, 115)
        for t in (0.0, 0.2, 0.4, 5.0, 5.2):
            tr.update(t, [plate_observation(int(t * 5), t, _read("ABCD123", 0.9, box))])
        return [plate_row(t, CTX) for t in tr.finish()]

    first, second = run(), run()
    assert len(first) == 2
    assert [r["read_id"] for r in first] == [r["read_id"] for r in second]
    assert len({r["read_id"] for r in first}) == 2


def test_similar_text_rejoins_a_track_across_a_short_jump() -> None:
    tr = plate_tracker()
    tr.update(0.0, [plate_observation(0, 0.0, _read("ABCD123", 0.9, (100, 100, 140, 115)))])
    # far away in the next sample (fast vehicle, or frames skipped): same text -> same track
    tr.update(0.4, [plate_observation(1, 0.4, _read("ABCD123", 0.9, (300, 200, 350, 220)))])
    # a different plate at the same place -> a new track
    tr.update(0.6, [plate_observation(2, 0.6, _read("QQQQ999", 0.9, (300, 200, 350, 220)))])
    assert [len(t) for t in tr.finish()] == [2, 1]


def test_text_similarity() -> None:
    assert text_similarity("ABCD123", "ABCD123") == 1.0
    assert abs(text_similarity("ABCD123", "ABCO123") - 6 / 7) < 1e-9
    assert text_similarity("ABC", "XYZ") == 0.0


def _face(emb: np.ndarray, quality: float, box) -> dict:
    return {
        "bbox": box,
        "det_score": 0.99,
        "quality": quality,
        "embedding": emb.astype(np.float32),
        "crop_jpeg": f"q{quality}".encode(),
    }


def test_faces_split_by_embedding_and_best_quality_wins() -> None:
    rng = np.random.default_rng(0)
    p1, p2 = rng.normal(size=128), rng.normal(size=128)
    p1, p2 = p1 / np.linalg.norm(p1) * 0.6, p2 / np.linalg.norm(p2) * 0.6  # distance ~0.85
    tr = face_tracker()
    for k in range(6):
        t = 0.2 * k
        box = (500 + 5 * k, 100, 540 + 5 * k, 140)  # two people at the same place (one occludes the other)
        obs = [face_observation(k, t, _face(p1 + rng.normal(scale=0.01, size=128), 0.3 + 0.1 * k, box))]
        if k >= 2:
            obs.append(face_observation(k, t, _face(p2, 0.5, (505 + 5 * k, 105, 545 + 5 * k, 145))))
        tr.update(t, obs)
    tracks = tr.finish()
    assert sorted(len(t) for t in tracks) == [4, 6]
    rows = [face_row(t, CTX, quality_floor=0.4) for t in tracks]
    best = next(r for r in rows if r["track_len"] == 6)
    assert best["quality"] == 0.8 and best["crop_jpeg"] == b"q0.8" and best["searchable"]
    assert len(best["embedding"]) == 128
    # only the best detection's crop is kept in memory
    assert sum(o.data["crop_jpeg"] is not None for o in tracks[0].obs + tracks[1].obs) == 2


def test_low_score_detections_extend_tracks_without_starting_competing_ones() -> None:
    tr = Tracker()
    tr.update(0.0, [Observation(0, 0.0, (0, 0, 10, 10), 0.9)])
    tr.update(0.2, [Observation(1, 0.2, (1, 0, 11, 10), 0.2)])
    tracks = tr.finish()
    assert len(tracks) == 1 and len(tracks[0]) == 2


def test_two_sure_reads_of_different_plates_in_the_same_place_are_two_tracks() -> None:
    """Consecutive cars at a toll gate, bumper to bumper: the next plate appears where the last one
    was. Two confident reads that differ in most characters start a new track (each plate gets its
    row); a frame misread by a character or two, or an unsure read, stays in the track."""
    tr = plate_tracker()
    box = (100.0, 100.0, 220.0, 130.0)
    frames = [("RK291AT", 0.99), ("RK291AT", 0.97), ("RK2914T", 0.85), ("RK019AF", 0.5)]
    frames += [("RK019AF", 0.98), ("RK019AF", 0.99)]
    for k, (text, score) in enumerate(frames):
        tr.update(k * 0.2, [plate_observation(k, k * 0.2, _read(text, score, box))])
    tracks = tr.finish()
    assert [[o.data["text"] for o in t.obs] for t in tracks] == [
        ["RK291AT", "RK291AT", "RK2914T", "RK019AF"],  # the unsure read cannot split it
        ["RK019AF", "RK019AF"],
    ]
    assert [plate_row(t, CTX)["plate"] for t in tracks] == ["RK291AT", "RK019AF"]
