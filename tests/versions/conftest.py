"""Helpers for the version tests: sources committed the way extraction commits them (rows of every
table, then the switch, then the run book-keeping), for tests that do not need the models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from lakehouse.ids import stable_id
from lakehouse.store import sql_literal

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def plate_row(
    video_id: str, camera_id: str, version: str, offset_s: float, plate: str, start: dt.datetime = START
) -> dict[str, Any]:
    return {
        "read_id": stable_id(video_id, offset_s, version),
        "camera_id": camera_id,
        "video_id": video_id,
        "source_uri": f"/rec/{video_id}.mp4",
        "ts": start + dt.timedelta(seconds=offset_s),
        "offset_s": offset_s,
        "plate": plate,
        "plate_raw": plate,
        "confidence": 0.9,
        "candidates": [{"text": plate, "score": 0.9}],
        "model_version": version,
        "agency": "municipal",
    }


def face_row(
    video_id: str, camera_id: str, version: str, offset_s: float, seed: int, start: dt.datetime = START
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=128).astype(np.float32)
    v /= np.linalg.norm(v) * 2
    return {
        "sighting_id": stable_id(video_id, offset_s, version, "face"),
        "camera_id": camera_id,
        "video_id": video_id,
        "source_uri": f"/rec/{video_id}.mp4",
        "ts": start + dt.timedelta(seconds=offset_s),
        "offset_s": offset_s,
        "det_score": 0.99,
        "quality": 0.9,
        "searchable": True,
        "embedding": v.tolist(),
        "model_version": version,
        "agency": "municipal",
    }


def commit_source(
    lh: Lakehouse,
    video_id: str,
    camera_id: str,
    version: str,
    plates: list[tuple[float, str]],
    faces: list[tuple[float, int]] = (),
    start: dt.datetime = START,
    switch: bool = True,
    status: str = "succeeded",
) -> None:
    """One source re-processed with ``version``: the same commit order as extraction."""
    from pipelines.versions import record_switch

    pred = f"video_id = {sql_literal(video_id)} AND model_version = {sql_literal(version)}"
    lh.replace("plate_reads", [plate_row(video_id, camera_id, version, o, p, start) for o, p in plates], pred)
    lh.replace(
        "face_sightings", [face_row(video_id, camera_id, version, o, s, start) for o, s in faces], pred
    )
    if switch:
        record_switch(
            lh,
            [{"video_id": video_id, "camera_id": camera_id, "model_version": version, "start_ts": start}],
            by="test",
            reason="re-process completed",
        )
    lh.upsert(
        "videos",
        [
            {
                "video_id": video_id,
                "camera_id": camera_id,
                "uri": f"/rec/{video_id}.mp4",
                "start_ts": start,
                "end_ts": start + dt.timedelta(minutes=1),
                "status": "processed",
            }
        ],
    )
    lh.upsert(
        "processing_runs",
        [
            {
                "video_id": video_id,
                "model_version": version,
                "camera_id": camera_id,
                "source_uri": f"/rec/{video_id}.mp4",
                "status": status,
                "started": dt.datetime.now(dt.UTC),
                "finished": dt.datetime.now(dt.UTC),
            }
        ],
    )


def commit_many(lh: Lakehouse, sources: list[tuple], minutes: float = 1.0) -> None:
    """Many sources at once (one commit per table): ``(video_id, camera_id, version, plates, faces,
    start)`` each, all switched to their version."""
    from pipelines.versions import record_switch

    plates, faces, videos, runs, switch = [], [], [], [], []
    now = dt.datetime.now(dt.UTC)
    for vid, cam, version, ps, fs, start in sources:
        plates += [plate_row(vid, cam, version, o, p, start) for o, p in ps]
        faces += [face_row(vid, cam, version, o, s, start) for o, s in fs]
        videos.append(
            {
                "video_id": vid,
                "camera_id": cam,
                "uri": f"/rec/{vid}.mp4",
                "start_ts": start,
                "end_ts": start + dt.timedelta(minutes=minutes),
                "status": "processed",
            }
        )
        runs.append(
            {
                "video_id": vid,
                "model_version": version,
                "camera_id": cam,
                "source_uri": f"/rec/{vid}.mp4",
                "status": "succeeded",
                "started": now,
                "finished": now,
            }
        )
        switch.append({"video_id": vid, "camera_id": cam, "model_version": version, "start_ts": start})
    lh.append("plate_reads", plates)
    lh.append("face_sightings", faces)
    record_switch(lh, switch, by="test", reason="re-process completed")
    lh.append("videos", videos)
    lh.append("processing_runs", runs)
