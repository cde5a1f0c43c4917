"""Real photos ingested as stills (plate-reader snapshots, face photos): the pipeline writes what
the models read, one row per plate / face, with EXIF or file times."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_openalpr_eu_stills(shared_data, ray_session, lakehouse) -> None:
    from pipelines.extract import ingest_paths
    from pipelines.plates.evaluate import load_samples, ocr_equal

    folder = shared_data / "plates" / "openalpr_eu"
    samples = load_samples(folder)
    lh = lakehouse
    lh.upsert(
        "cameras",
        [
            {
                "camera_id": "EU-SNAP",
                "agency": "police911",
                "lat": 0.0,
                "lon": 0.0,
                "kind": "portico",
                "plate_format": "EU",
            }
        ],
    )
    rep = ingest_paths(lh, [folder], camera_id="EU-SNAP", progress=False)
    assert rep.ok, rep.failed[:3]
    assert len(rep.succeeded) + len(rep.skipped) == len(samples)
    rows = lh.read("plate_reads").to_pylist()
    best: dict[str, dict] = {}
    for r in rows:
        if r["video_id"] not in best or r["confidence"] > best[r["video_id"]]["confidence"]:
            best[r["video_id"]] = r
    ok = sum(ocr_equal(best[_sha(s.image)]["plate"], s.plate) for s in samples if _sha(s.image) in best)
    rate = ok / len(samples)
    assert rate >= 0.92, rate
    r = next(iter(best.values()))
    assert r["agency"] == "police911" and r["track_len"] == 1 and r["offset_s"] == 0.0
    assert Path(r["source_uri"]).parent == folder
    runs = lh.read("processing_runs", columns=["status", "frames_processed"]).to_pylist()
    assert len(runs) == len(rep.succeeded) and all(x["status"] == "succeeded" for x in runs)


def test_face_photos_nearest_neighbour_is_the_same_person(shared_data, ray_session, lakehouse) -> None:
    from pipelines.extract import ingest_paths

    root = shared_data / "faces" / "face_recognition_examples"
    labels = json.loads((root / "identity_labels.json").read_text())["identities"]
    rep = ingest_paths(lakehouse, [root], camera_id="FACE-SNAP", agency="police911", progress=False)
    assert rep.ok, rep.failed
    assert rep.skipped  # byte-identical copies are processed once
    rows = lakehouse.read("face_sightings").to_pylist()
    by_video: dict[str, dict] = {}
    for r in rows:  # the main face of each photo: the largest
        area = (r["bbox"][2] - r["bbox"][0]) * (r["bbox"][3] - r["bbox"][1])
        if r["video_id"] not in by_video or area > by_video[r["video_id"]]["_area"]:
            by_video[r["video_id"]] = {**r, "_area": area}
    who: dict[str, str] = {}
    for name, files in labels.items():
        for f in files:
            who[_sha(root / f)] = name
    labelled = [v for v in who if v in by_video]
    assert len(labelled) >= 15
    vecs = np.stack([np.asarray(by_video[v]["embedding"], np.float32) for v in labelled])
    per_person = {n: sum(who[v] == n for v in labelled) for n in set(who.values())}
    checked = wrong = 0
    for i, v in enumerate(labelled):
        if per_person[who[v]] < 2:
            continue
        d = np.linalg.norm(vecs - vecs[i], axis=1)
        d[i] = np.inf  # itself (byte-identical copies share its video_id, so they are excluded too)
        checked += 1
        wrong += who[labelled[int(np.argmin(d))]] != who[v]
    assert checked >= 14
    assert wrong == 0, f"{wrong} of {checked} photos have another person as nearest neighbour"
    stills = [r for r in rows if not r["source_uri"].endswith(".mp4")]
    assert stills and all(r["offset_s"] == 0.0 for r in stills)
    # the folder also holds a video clip: it went through the video path, with offsets in it
    assert any(r["source_uri"].endswith("short_hamilton_clip.mp4") and r["offset_s"] > 0 for r in rows)
