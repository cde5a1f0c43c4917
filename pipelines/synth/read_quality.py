"""A synthetic city for read-quality work: vehicles driving between neighbouring cameras, each camera
with its own optics (blur, sensor noise, plate size), one of them degraded (a dirty lens).

Ground truth is exact: every pass (camera, time, true plate) is known. Each pass's plate is rendered
(:func:`pipelines.synth.plates.render_plate`) through its camera's optics and read by the real plate
reader (:meth:`pipelines.plates.reader.PlateReader.read_crop`), so per-camera accuracy comes from
the model, not from a coin flip. Used by the accuracy-asset test and ``benchmarks/read_accuracy.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pipelines.synth.plates import make_plate, render_plate

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CENTER = (-25.2900, -57.6000)  # Asunción


@dataclass
class Optics:
    blur: float  # mean Gaussian blur sigma (px) at the plate
    noise: float  # sensor noise sigma (grey levels)
    char_px: int  # plate height in pixels


@dataclass
class ReadQualityCity:
    cameras: list[dict[str, Any]]
    optics: dict[str, Optics]
    passes: list[dict[str, Any]]  # camera_id, ts, plate, vehicle_id, blur, noise
    degraded: str
    seed: int
    reads: list[dict[str, Any]] = field(default_factory=list)  # filled by read_passes

    def true_accuracy(self) -> dict[str, float]:
        """Per camera: share of its passes read exactly right (missed passes count as wrong)."""
        got = {(r["camera_id"], r["ts"]): r["plate"] for r in self.reads}
        tot: dict[str, list[int]] = {}
        for p in self.passes:
            tot.setdefault(p["camera_id"], []).append(int(got.get((p["camera_id"], p["ts"])) == p["plate"]))
        return {c: float(np.mean(v)) for c, v in sorted(tot.items())}


def _grid(n: int, spacing_m: float) -> list[tuple[float, float]]:
    side = math.ceil(math.sqrt(n))
    dlat = spacing_m / 111_320.0
    dlon = spacing_m / (111_320.0 * math.cos(math.radians(CENTER[0])))
    out = []
    for k in range(n):
        r, c = divmod(k, side)
        out.append((CENTER[0] + (r - side / 2) * dlat, CENTER[1] + (c - side / 2) * dlon))
    return out


def plan_read_city(
    *,
    cameras: int = 9,
    vehicles: int = 40,
    stops: int = 5,
    seed: int = 7,
    degraded: int = 4,
    spacing_m: float = 700.0,
    hours: float = 2.0,
) -> ReadQualityCity:
    """Plan the city: a grid of ``cameras`` (``spacing_m`` apart), ``vehicles`` each driving through
    ``stops`` neighbouring cameras at 20-60 km/h, start times spread over ``hours``. Camera optics go
    from sharp to soft; camera ``degraded`` gets a dirty lens (heavy blur and noise)."""
    if cameras < 3:
        raise ValueError("cameras must be >= 3")
    rng = np.random.default_rng(seed)
    pts = _grid(cameras, spacing_m)
    rows: list[dict[str, Any]] = [
        {
            "camera_id": f"RQ-{k:02d}",
            "agency": "municipal",
            "name": f"read-quality camera {k}",
            "lat": lat,
            "lon": lon,
            "kind": "street",
        }
        for k, (lat, lon) in enumerate(pts)
    ]
    blurs = np.linspace(0.7, 1.55, cameras)
    rng.shuffle(blurs)
    optics: dict[str, Optics] = {}
    for k, r in enumerate(rows):
        if k == degraded % cameras:
            optics[r["camera_id"]] = Optics(blur=1.7, noise=8.0, char_px=20)
        else:
            optics[r["camera_id"]] = Optics(
                blur=float(blurs[k]), noise=2.0 + 2.0 * float(blurs[k]), char_px=22
            )
    from pipelines.synth.geo import haversine_m

    dist = np.array([[haversine_m(a[0], a[1], b[0], b[1]) for b in pts] for a in pts])
    neighbours = [
        [j for j in range(cameras) if j != i and dist[i, j] <= spacing_m * 1.5] for i in range(cameras)
    ]
    passes = []
    for v in range(vehicles):
        plate = make_plate("PY", rng)
        cam = int(rng.integers(cameras))
        t = START + dt.timedelta(seconds=float(rng.uniform(0, hours * 3600)))
        speed = float(rng.uniform(20, 60)) / 3.6
        prev = None
        for _ in range(stops):
            o = optics[rows[cam]["camera_id"]]
            passes.append(
                {
                    "camera_id": rows[cam]["camera_id"],
                    "ts": t.replace(microsecond=0),
                    "plate": plate,
                    "vehicle_id": f"veh-{v:04d}",
                    "blur": max(0.0, float(rng.normal(o.blur, 0.25))),
                    "noise": o.noise,
                }
            )
            options = [j for j in neighbours[cam] if j != prev] or neighbours[cam]
            if not options:
                break
            nxt = int(rng.choice(options))
            t = t + dt.timedelta(seconds=float(dist[cam, nxt] / speed))
            prev, cam = cam, nxt
    passes.sort(key=lambda p: (p["ts"], p["camera_id"]))
    return ReadQualityCity(rows, optics, passes, rows[degraded % cameras]["camera_id"], seed)


def render_pass(p: dict[str, Any], optics: Optics, rng: np.random.Generator) -> np.ndarray:
    """The plate of pass ``p`` as its camera sees it (RGB uint8)."""
    h = optics.char_px
    img = render_plate(p["plate"], "PY", h * 3).astype(np.float32)
    img = cv2.resize(img, (int(round(img.shape[1] * h / img.shape[0])), h), interpolation=cv2.INTER_AREA)
    if p["blur"] > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), p["blur"])
    img = img + rng.normal(0, p["noise"], img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def read_passes(city: ReadQualityCity, reader: Any = None, progress: Any = None) -> list[dict[str, Any]]:
    """Read every pass with the real plate reader; returns ``plate_reads``-shaped rows (passes the
    reader finds nothing in produce no row, as on a real camera) and stores them on ``city``."""
    from lakehouse.ids import stable_id

    if reader is None:
        from pipelines.plates.reader import PlateReader

        reader = PlateReader(device="cpu")
    rng = np.random.default_rng([city.seed, 2])
    out = []
    for k, p in enumerate(city.passes):
        crop = render_pass(p, city.optics[p["camera_id"]], rng)
        r = reader.read_crop(crop)
        if progress is not None:
            progress(k + 1, len(city.passes))
        if r is None or not r.text:
            continue
        vid = f"rq-{p['camera_id']}-{p['ts']:%Y%m%d}"
        out.append(
            {
                "read_id": stable_id(vid, p["ts"].isoformat(), "rq"),
                "camera_id": p["camera_id"],
                "video_id": vid,
                "ts": p["ts"],
                "offset_s": float((p["ts"] - START).total_seconds()),
                "plate": r.text,
                "plate_raw": r.raw if hasattr(r, "raw") else r.text,
                "confidence": float(min(max(r.score, 0.0), 1.0)),
                "model_version": getattr(reader, "model_version", "plates"),
                "agency": "municipal",
            }
        )
    city.reads = out
    return out
