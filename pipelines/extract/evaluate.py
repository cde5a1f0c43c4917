"""Score extracted rows against a synthetic city's ground truth (``pipelines.synth`` manifest).

Rows are matched to passes by camera and time: a row belongs to a pass of its camera when its
``offset_s`` lies in the pass's visible window (plus ``tolerance_s``).

- plates: a pass is *found* when a row in its window reads its plate exactly; a row is *correct*
  when it reads the plate of a pass it belongs to (precision);
- faces: a pass is *identified* when a sighting in its window has the pass's identity as nearest
  enrolled identity (enrolment photos embedded with the same face analyzer).

Used by the extraction tests and ``benchmarks/extraction.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class PlateScore:
    passes: int
    found: int
    rows: int
    correct: int
    misses: list[str] = field(default_factory=list)  # "camera plate t0-t1"
    wrong: list[str] = field(default_factory=list)  # "camera plate@offset"

    @property
    def recall(self) -> float:
        return self.found / self.passes if self.passes else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.rows if self.rows else 1.0


@dataclass
class FaceScore:
    passes: int
    identified: int
    detected: int  # passes with any sighting in their window
    rows: int
    misses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.identified / self.passes if self.passes else 1.0


def _video_camera(manifest: Any) -> dict[str, str]:
    return {v.camera_id: v.path for v in manifest.videos}


def score_plates(
    manifest: Any, rows: Iterable[Mapping[str, Any]], *, tolerance_s: float = 0.5, complete_only: bool = True
) -> PlateScore:
    """Plate passes found and rows correct. Passes cut by the clip's ends (``complete=False``) are
    not required, but a row reading them right still counts as correct."""
    rows = list(rows)
    passes = list(manifest.plate_passes)
    required = [p for p in passes if p.complete or not complete_only]

    def belongs(r: Mapping[str, Any], p: Any) -> bool:
        return (
            r["camera_id"] == p.camera_id
            and p.t_start_s - tolerance_s <= r["offset_s"] <= p.t_end_s + tolerance_s
        )

    found, misses = 0, []
    for p in required:
        if any(belongs(r, p) and r["plate"] == p.plate for r in rows):
            found += 1
        else:
            near = [r["plate"] for r in rows if belongs(r, p)]
            misses.append(f"{p.camera_id} {p.plate} {p.t_start_s:.1f}-{p.t_end_s:.1f}s read {near}")
    correct, wrong = 0, []
    for r in rows:
        if any(belongs(r, p) and r["plate"] == p.plate for p in passes):
            correct += 1
        else:
            wrong.append(f"{r['camera_id']} {r['plate']}@{r['offset_s']:.1f}s")
    return PlateScore(len(required), found, len(rows), correct, misses, wrong)


def enrol_identities(
    identities: Mapping[str, list[str]], analyzer: Any | None = None
) -> tuple[list[str], np.ndarray]:
    """(identity per embedding, embeddings) of the enrolment photos (one probe face per photo)."""
    from pipelines.faces import FaceAnalyzer, load_image_rgb

    analyzer = analyzer or FaceAnalyzer()
    names: list[str] = []
    vecs: list[np.ndarray] = []
    for name, photos in sorted(identities.items()):
        for photo in photos:
            if not Path(photo).is_file():
                continue
            face = analyzer.probe(load_image_rgb(photo))
            if face is not None:
                names.append(name)
                vecs.append(np.asarray(face.embedding, np.float32))
    return names, np.stack(vecs) if vecs else np.zeros((0, 128), np.float32)


def nearest_identity(embedding: Any, names: list[str], vecs: np.ndarray) -> tuple[str | None, float]:
    if not len(names):
        return None, float("inf")
    d = np.linalg.norm(vecs - np.asarray(embedding, np.float32)[None, :], axis=1)
    i = int(np.argmin(d))
    return names[i], float(d[i])


def score_faces(
    manifest: Any,
    rows: Iterable[Mapping[str, Any]],
    names: list[str],
    vecs: np.ndarray,
    *,
    tolerance_s: float = 0.5,
    min_face_px: float = 0.0,
    complete_only: bool = True,
) -> FaceScore:
    """Face passes (largest face >= ``min_face_px``) identified by a sighting in their window."""
    rows = list(rows)
    required = [
        p for p in manifest.face_passes if (p.complete or not complete_only) and p.face_px >= min_face_px
    ]
    ident = [nearest_identity(r["embedding"], names, vecs)[0] for r in rows]
    identified = detected = 0
    misses = []
    for p in required:
        inside = [
            i
            for i, r in enumerate(rows)
            if r["camera_id"] == p.camera_id
            and p.t_start_s - tolerance_s <= r["offset_s"] <= p.t_end_s + tolerance_s
        ]
        detected += bool(inside)
        if any(ident[i] == p.identity for i in inside):
            identified += 1
        else:
            misses.append(
                f"{p.camera_id} {p.identity} {p.t_start_s:.1f}-{p.t_end_s:.1f}s "
                f"({p.face_px:.0f}px) got {[ident[i] for i in inside]}"
            )
    return FaceScore(len(required), identified, detected, len(rows), misses)
