"""Ground truth of a synthetic city: what was drawn where, stored as ``OUT/manifest.json``.

Every plate and face pass lists the exact box of what was drawn on every frame where it is
visible (fully inside the frame, large enough to see, not hidden behind a nearer object), so
extraction, search and route features can be scored against it. :func:`load_manifest` reads a
city back; the JSON round-trips exactly (``save_manifest(load_manifest(d))`` rewrites the same
bytes).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_NAME",
    "CityManifest",
    "FacePass",
    "PlatePass",
    "VideoTruth",
    "load_manifest",
    "save_manifest",
]

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1

Box = tuple[int, float, float, float, float]


@dataclass
class VideoTruth:
    """One encoded clip of one camera."""

    path: str  # relative to the city directory
    camera_id: str
    start_ts: dt.datetime  # UTC, aware: time of frame 0
    fps: float
    width: int
    height: int
    duration_s: float
    lighting: str  # "day" | "night"
    frames: int = 0
    scene: str = ""  # "street" (lane + sidewalk) | "portico" (one lane under a gantry)


@dataclass
class PlatePass:
    """One vehicle's plate crossing one camera's view."""

    pass_id: str
    camera_id: str
    video: str
    plate: str  # normalized A-Z0-9
    plate_format: str  # AR | BR | PY | UY | PE | SV
    t_start_s: float  # first visible frame / fps
    t_end_s: float  # last visible frame / fps
    lighting: str
    boxes: list[Box]  # (frame_index, x1, y1, x2, y2) of the whole plate, every visible frame
    vehicle_id: str = ""
    char_px: float = 0.0  # character height in pixels on the largest-box frame
    complete: bool = True  # the vehicle reached its closest point inside the clip

    def best_box(self) -> Box:
        """The largest box (the frame a reader should get right)."""
        return max(self.boxes, key=lambda b: (b[3] - b[1]) * (b[4] - b[2]))


@dataclass
class FacePass:
    """One pedestrian's face crossing one camera's view."""

    pass_id: str
    camera_id: str
    video: str
    identity: str
    t_start_s: float
    t_end_s: float
    lighting: str
    boxes: list[Box]  # (frame_index, x1, y1, x2, y2) of the face, every visible frame
    source_photo: str = ""  # absolute path of the photo pasted in the video
    face_px: float = 0.0  # face box height on the largest-box frame
    complete: bool = True

    def best_box(self) -> Box:
        return max(self.boxes, key=lambda b: (b[3] - b[1]) * (b[4] - b[2]))


@dataclass
class CityManifest:
    """A synthetic city: cameras, clips and the ground truth drawn in them."""

    root: Path
    seed: int
    city: str
    bbox: tuple[float, float, float, float]  # (min_lon, min_lat, max_lon, max_lat)
    cameras: list[dict[str, Any]]  # rows of the cameras table (lakehouse.specs.CAMERAS columns)
    videos: list[VideoTruth]
    plate_passes: list[PlatePass]
    face_passes: list[FacePass]
    identities: dict[str, list[str]]  # identity -> enrolment photo paths (absolute)
    incidents_csv: str | None = None  # relative path of the incidents CSV, if generated
    difficulty: str = "default"
    #: vehicle_id -> plate, plate_format, model, color, convoy_id and its sightings (camera_id, ts, pass_id)
    vehicles: list[dict[str, Any]] = field(default_factory=list)
    #: convoy_id -> vehicle ids and plates that travel together (same cameras, seconds apart)
    convoys: list[dict[str, Any]] = field(default_factory=list)
    incidents_truth: str | None = None  # relative path of the planted incident patterns (JSON)
    notes: list[str] = field(default_factory=list)  # what was skipped and why

    def abspath(self, rel: str) -> Path:
        return (self.root / rel).resolve()

    def camera(self, camera_id: str) -> dict[str, Any]:
        for c in self.cameras:
            if c["camera_id"] == camera_id:
                return c
        raise KeyError(camera_id)

    def video_for(self, camera_id: str) -> VideoTruth:
        for v in self.videos:
            if v.camera_id == camera_id:
                return v
        raise KeyError(camera_id)


# --------------------------------------------------------------------------- JSON round trip


def _box_out(b: Box) -> list[float]:
    return [
        int(b[0]),
        round(float(b[1]), 2),
        round(float(b[2]), 2),
        round(float(b[3]), 2),
        round(float(b[4]), 2),
    ]


def _pass_out(p: PlatePass | FacePass) -> dict[str, Any]:
    d = asdict(p)
    d["boxes"] = [_box_out(b) for b in p.boxes]
    for k in ("t_start_s", "t_end_s", "char_px", "face_px"):
        if k in d:
            d[k] = round(float(d[k]), 4)
    return d


def _video_out(v: VideoTruth) -> dict[str, Any]:
    d = asdict(v)
    d["start_ts"] = v.start_ts.astimezone(dt.UTC).isoformat()
    return d


def manifest_dict(m: CityManifest) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": m.seed,
        "city": m.city,
        "bbox": list(m.bbox),
        "difficulty": m.difficulty,
        "cameras": m.cameras,
        "videos": [_video_out(v) for v in m.videos],
        "plate_passes": [_pass_out(p) for p in m.plate_passes],
        "face_passes": [_pass_out(p) for p in m.face_passes],
        "identities": m.identities,
        "incidents_csv": m.incidents_csv,
        "incidents_truth": m.incidents_truth,
        "vehicles": m.vehicles,
        "convoys": m.convoys,
        "notes": m.notes,
    }


def save_manifest(m: CityManifest, path: str | Path | None = None) -> Path:
    """Write ``manifest.json`` (sorted, indented one pass per line-ish; deterministic bytes)."""
    path = Path(path) if path is not None else Path(m.root) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest_dict(m), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _pick(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def _boxes_in(raw: list[list[float]]) -> list[Box]:
    return [(int(b[0]), float(b[1]), float(b[2]), float(b[3]), float(b[4])) for b in raw]


def load_manifest(city_dir: str | Path) -> CityManifest:
    """Read ``city_dir/manifest.json`` (``city_dir`` may also be the manifest file itself)."""
    p = Path(city_dir)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.is_file():
        raise FileNotFoundError(f"no synthetic city manifest at {p}")
    d = json.loads(p.read_text(encoding="utf-8"))
    videos = []
    for v in d["videos"]:
        v = _pick(VideoTruth, v)
        v["start_ts"] = dt.datetime.fromisoformat(v["start_ts"]).astimezone(dt.UTC)
        videos.append(VideoTruth(**v))
    plates = []
    for pp in d["plate_passes"]:
        pp = _pick(PlatePass, pp)
        pp["boxes"] = _boxes_in(pp["boxes"])
        plates.append(PlatePass(**pp))
    faces = []
    for fp in d["face_passes"]:
        fp = _pick(FacePass, fp)
        fp["boxes"] = _boxes_in(fp["boxes"])
        faces.append(FacePass(**fp))
    return CityManifest(
        root=p.parent.resolve(),
        seed=int(d["seed"]),
        city=d["city"],
        bbox=tuple(float(x) for x in d["bbox"]),  # type: ignore[arg-type]
        cameras=d["cameras"],
        videos=videos,
        plate_passes=plates,
        face_passes=faces,
        identities={k: list(v) for k, v in d["identities"].items()},
        incidents_csv=d.get("incidents_csv"),
        difficulty=d.get("difficulty", "default"),
        vehicles=d.get("vehicles", []),
        convoys=d.get("convoys", []),
        incidents_truth=d.get("incidents_truth"),
        notes=d.get("notes", []),
    )
