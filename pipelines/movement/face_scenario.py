"""Faces for the synthetic city (:mod:`pipelines.movement.scenario`): face sightings with 128-d
descriptors and the truth the face part of crime-series leads is scored against.

Each person is a random unit vector in descriptor space; each sighting of that person is the
vector plus noise, renormalised (two sightings of one person lie ~0.2-0.3 apart in L2, two
people ~1.4 apart, as dlib descriptors of one face vs two faces). Hard cases, per crime series:

- the **offender** is seen near 3 of the 4 incidents (within ±20 min, at the camera nearest each
  one) and on two ordinary days elsewhere;
- a **local** (shopkeeper, guard) is seen at the cameras of two of the incidents every day at
  the same hour: near two incidents, but every day — no lead;
- a **crowd** of background people is seen at random cameras and times, including the incident
  cameras.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lakehouse.ids import stable_id
from pipelines.movement.scenario import MODEL_VERSION, Scenario

DIM = 128


@dataclass
class FaceTruth:
    #: (offender face sighting ids, the incidents they were seen near, all incident ids of the series)
    offenders: list[tuple[list[str], list[str], list[str]]] = field(default_factory=list)
    locals: list[list[str]] = field(default_factory=list)  # sighting ids of each local regular


@dataclass
class FaceScenario:
    rows: list[dict[str, Any]]
    truth: FaceTruth

    def write_to(self, lh: Any) -> None:
        lh.append("face_sightings", self.rows)


def _nearest_camera(cameras: list[dict[str, Any]], lat: float, lon: float) -> dict[str, Any]:
    return min(cameras, key=lambda c: math.hypot(float(c["lat"]) - lat, float(c["lon"]) - lon))


def simulate_faces(scn: Scenario, *, crowd: int = 300, seed: int = 0, noise: float = 0.015) -> FaceScenario:
    """Face sightings for ``scn``'s cameras, days and crime series (see the module doc)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    cams = {c["camera_id"]: c for c in scn.cameras}
    incidents = {r["incident_id"]: r for r in scn.incidents}
    rows: list[dict[str, Any]] = []
    truth = FaceTruth()
    span_s = (scn.end - scn.start).total_seconds()

    def person() -> np.ndarray:
        v = nrng.normal(size=DIM)
        return v / np.linalg.norm(v)

    def seen(v: np.ndarray, cam: str, ts: dt.datetime) -> str | None:
        if not (scn.start <= ts < scn.end):
            return None
        e = v + nrng.normal(scale=noise, size=DIM)
        e = e / np.linalg.norm(e)
        sid = stable_id("scn-face", cam, ts.isoformat(), len(rows))
        rows.append(
            {
                "sighting_id": sid,
                "camera_id": cam,
                "video_id": f"scn-{cam}-{ts:%Y%m%d}",
                "ts": ts,
                "det_score": round(rng.uniform(0.9, 0.999), 3),
                "quality": round(rng.uniform(0.45, 0.95), 3),
                "searchable": True,
                "embedding": [float(x) for x in e],
                "track_len": rng.randint(3, 30),
                "model_version": MODEL_VERSION,
                "agency": cams[cam].get("agency"),
            }
        )
        return sid

    def anywhen() -> dt.datetime:
        return scn.start + dt.timedelta(seconds=rng.uniform(0, span_s))

    for _ in range(crowd):
        v = person()
        for _ in range(rng.randint(1, 8)):
            seen(v, rng.choice(list(cams)), anywhen())
    days = max(1, round(span_s / 86400))
    for _plate, ids in scn.truth.crime_series:
        near = {i: _nearest_camera(scn.cameras, incidents[i]["lat"], incidents[i]["lon"]) for i in ids}
        offender = person()
        hit = sorted(rng.sample(ids, min(3, len(ids))))
        sids = []
        for i in hit:
            t = incidents[i]["ts"] + dt.timedelta(minutes=rng.uniform(-20, 20))
            sid = seen(offender, near[i]["camera_id"], t)
            if sid:
                sids.append(sid)
        for _ in range(2):
            seen(offender, rng.choice(list(cams)), anywhen())
        truth.offenders.append((sids, hit, list(ids)))
        local = person()
        lsids = []
        for i in ids[:2]:
            inc = incidents[i]["ts"]
            for d in range(-days, days + 1):
                t = inc + dt.timedelta(days=d, minutes=rng.uniform(-15, 15))
                sid = seen(local, near[i]["camera_id"], t)
                if sid:
                    lsids.append(sid)
        truth.locals.append(lsids)
    return FaceScenario(rows, truth)


__all__ = ["FaceScenario", "FaceTruth", "simulate_faces"]
