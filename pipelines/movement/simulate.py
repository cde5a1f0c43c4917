"""Simulated plate-read traffic with known trips, OD flows and a planted convoy.

Used by tests, benchmarks and demos of the movement pipelines when no video has been processed:
vehicles enter the city at a ring portico, pass a few street cameras, and leave by another
portico (or stay); one follower shadows a target vehicle 15-45 s behind on the same route. The
returned truth lets a test assert exact trip and flow counts and the convoy ranking.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lakehouse.ids import stable_id

MODEL_VERSION = "simulated-v1"


@dataclass
class SimulatedTraffic:
    rows: list[dict[str, Any]]  # plate_reads rows (read_id, camera_id, ts, plate, confidence, ...)
    cameras: list[dict[str, Any]]  # cameras rows (camera_id, agency, kind, lat, lon)
    trips: int  # trips (sessions) in the data
    od: Counter = field(default_factory=Counter)  # (origin portico, destination portico) -> trips
    convoy: tuple[str, str] = ("", "")  # (target, follower)
    convoy_cameras: int = 0


def simulate_traffic(
    day: dt.date,
    *,
    vehicles: int = 200,
    porticos: int = 4,
    streets: int = 8,
    seed: int = 0,
    exit_share: float = 0.7,
) -> SimulatedTraffic:
    """One UTC day of reads. Every vehicle makes 1-2 trips at least 3 h apart; inside a trip
    consecutive reads are 2-8 min apart (so any session gap between 8 min and 3 h recovers them)."""
    rng = random.Random(seed)
    ports = [f"P{i}" for i in range(porticos)]
    street = [f"S{i}" for i in range(streets)]
    cameras = [
        {"camera_id": c, "agency": "municipal", "kind": "portico", "lat": -25.3 + i * 0.01, "lon": -57.6}
        for i, c in enumerate(ports)
    ]
    cameras += [
        {"camera_id": c, "agency": "municipal", "kind": "street", "lat": -25.25 + i * 0.005, "lon": -57.55}
        for i, c in enumerate(street)
    ]
    t_day = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    od: Counter = Counter()
    trips = 0

    def read(plate: str, cam: str, t: float) -> None:
        ts = t_day + dt.timedelta(seconds=round(t, 3))
        rows.append(
            {
                "read_id": stable_id("sim", plate, cam, ts.isoformat()),
                "camera_id": cam,
                "ts": ts,
                "plate": plate,
                "confidence": round(rng.uniform(0.7, 0.99), 3),
                "model_version": MODEL_VERSION,
                "agency": "municipal",
            }
        )

    def route() -> list[str]:
        origin = rng.choice(ports)
        path = [origin] + rng.sample(street, rng.randint(2, 4))
        if rng.random() < exit_share:
            path.append(rng.choice([p for p in ports if p != origin]))
        return path

    def drive(plate: str, path: list[str], t: float, lag: float = 0.0) -> list[float]:
        times = []
        for cam in path:
            times.append(t)
            read(plate, cam, t + lag)
            t += rng.uniform(120, 480)
        return times

    for v in range(vehicles):
        plate = f"AB{v:03d}CD"
        starts = [rng.uniform(0, 9 * 3600)]
        if rng.random() < 0.5:
            starts.append(starts[0] + rng.uniform(3 * 3600, 12 * 3600))
        for t in starts:
            path = route()
            drive(plate, path, t)
            trips += 1
            if path[-1] in ports and len(path) > 1 and path[-1] != path[0]:
                od[(path[0], path[-1])] += 1
            else:
                od[(path[0], path[0])] += 1

    # the planted convoy: a follower 15-45 s behind the target at every step of one trip
    target, follower = "TGT0001", "FLW0001"
    path = [ports[0], *street[:4], ports[-1]]
    t = rng.uniform(10 * 3600, 11 * 3600)
    for cam in path:
        read(target, cam, t)
        read(follower, cam, t + rng.uniform(15, 45))
        t += rng.uniform(120, 480)
    trips += 2
    od[(ports[0], ports[-1])] += 2
    rows.sort(key=lambda r: r["ts"])
    return SimulatedTraffic(rows, cameras, trips, od, (target, follower), len(path))
