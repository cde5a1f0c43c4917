"""Multi-object tracking across sampled frames, ByteTrack-style: one track per plate / face pass.

Each frame's detections are associated with the live tracks by a score that mixes

- box overlap (IoU) with the track's box predicted by constant velocity, and
- appearance similarity (plate text for plates, embedding distance for faces) given by the caller,

solved as an assignment problem (Hungarian). High-confidence detections are associated first, the
low-confidence ones then try the tracks left over (ByteTrack's second stage). Detections that match
nothing start tracks. A track ends after ``max_gap_s`` without a match (longer when its appearance is
distinctive: the gate below lets a very similar detection re-join across a longer jump).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]


@dataclass
class Observation:
    seq: int  # sampled-frame sequence number
    t: float  # seconds from the start of the source
    bbox: Box
    score: float
    data: Any = None  # the detection (plate read / face) as the caller keeps it


@dataclass
class Track:
    tid: int
    obs: list[Observation] = field(default_factory=list)
    vx: float = 0.0  # centre velocity, pixels per second
    vy: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)  # caller's running summary (e.g. text votes)

    @property
    def last(self) -> Observation:
        return self.obs[-1]

    @property
    def first(self) -> Observation:
        return self.obs[0]

    def __len__(self) -> int:
        return len(self.obs)

    def predict(self, t: float) -> Box:
        x1, y1, x2, y2 = self.last.bbox
        dt = t - self.last.t
        dx, dy = self.vx * dt, self.vy * dt
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)

    def add(self, o: Observation) -> None:
        if self.obs:
            prev = self.last
            dt = o.t - prev.t
            if dt > 1e-6:
                (px, py), (cx, cy) = _centre(prev.bbox), _centre(o.bbox)
                vx, vy = (cx - px) / dt, (cy - py) / dt
                w = 1.0 if len(self.obs) == 1 else 0.6
                self.vx = w * vx + (1 - w) * self.vx
                self.vy = w * vy + (1 - w) * self.vy
        self.obs.append(o)


def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    if inter <= 0:
        return 0.0
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def centre_distance(a: Box, b: Box) -> float:
    """Distance between centres in units of the larger box diagonal."""
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    diag = max(math.hypot(a[2] - a[0], a[3] - a[1]), math.hypot(b[2] - b[0], b[3] - b[1]), 1.0)
    return math.hypot(ax - bx, ay - by) / diag


Similarity = Callable[[Track, Observation], float | None]


@dataclass
class TrackerConfig:
    max_gap_s: float = 1.0  # a track with no match for this long ends
    max_gap_similar_s: float = 2.5  # ... unless the detection is very similar (then up to this)
    iou_gate: float = 0.05  # overlap that allows a match (with a non-contradicting appearance)
    sim_floor: float = 0.25  # appearance below this never matches
    sim_gate: float = 0.6  # appearance that allows a match without overlap, within near_gate
    near_gate: float = 3.0  # centre distance (box diagonals) for a match without overlap
    strong_sim: float = 0.85  # appearance that allows a match within far_gate
    far_gate: float = 8.0
    high_score: float = 0.5  # detections at or above are associated first


class Tracker:
    """Associate observations frame by frame; :meth:`finish` returns every track in start order."""

    def __init__(
        self,
        similarity: Similarity | None = None,
        config: TrackerConfig | None = None,
        on_add: Callable[[Track, Observation], None] | None = None,
    ):
        self.similarity = similarity
        self.config = config or TrackerConfig()
        self.on_add = on_add
        self.active: list[Track] = []
        self.done: list[Track] = []
        self._next = 0

    def update(self, t: float, observations: list[Observation]) -> None:
        cfg = self.config
        still: list[Track] = []
        for tr in self.active:
            (self.done if t - tr.last.t > cfg.max_gap_similar_s else still).append(tr)
        self.active = still
        high = [o for o in observations if o.score >= cfg.high_score]
        low = [o for o in observations if o.score < cfg.high_score]
        free = list(self.active)
        for group in (high, low):
            unmatched = self._associate(free, group, t)
            for o in unmatched:
                self._start(o)

    def _start(self, o: Observation) -> None:
        tr = Track(self._next)
        self._next += 1
        self._add(tr, o)
        self.active.append(tr)

    def _add(self, tr: Track, o: Observation) -> None:
        tr.add(o)
        if self.on_add is not None:
            self.on_add(tr, o)

    def _affinity(self, tr: Track, o: Observation, t: float) -> float | None:
        cfg = self.config
        gap = t - tr.last.t
        if gap <= 0:
            return None  # one detection per track per frame
        pred = tr.predict(t)
        ov = max(iou(pred, o.bbox), iou(tr.last.bbox, o.bbox))
        dist = min(centre_distance(pred, o.bbox), centre_distance(tr.last.bbox, o.bbox))
        sim = self.similarity(tr, o) if self.similarity is not None else None
        if sim is not None and sim < cfg.sim_floor:
            return None
        s = 0.5 if sim is None else sim
        if gap > cfg.max_gap_s and (sim is None or sim < cfg.strong_sim):
            return None
        if ov >= cfg.iou_gate:
            return ov + s
        if sim is not None and sim >= cfg.sim_gate and dist <= cfg.near_gate:
            return s - 0.05 * dist
        if sim is not None and sim >= cfg.strong_sim and dist <= cfg.far_gate:
            return s - 0.05 * dist
        return None

    def _associate(self, free: list[Track], obs: list[Observation], t: float) -> list[Observation]:
        """Match ``obs`` to ``free`` tracks (matched tracks are removed from ``free``); returns the
        observations left unmatched."""
        if not obs:
            return []
        if not free:
            return list(obs)
        from scipy.optimize import linear_sum_assignment

        big = 1e6
        cost = np.full((len(free), len(obs)), big)
        for i, tr in enumerate(free):
            for j, o in enumerate(obs):
                a = self._affinity(tr, o, t)
                if a is not None:
                    cost[i, j] = -a
        rows, cols = linear_sum_assignment(cost)
        matched_t, matched_o = set(), set()
        for i, j in zip(rows, cols, strict=True):
            if cost[i, j] < big:
                self._add(free[i], obs[j])
                matched_t.add(i)
                matched_o.add(j)
        free[:] = [tr for i, tr in enumerate(free) if i not in matched_t]
        return [o for j, o in enumerate(obs) if j not in matched_o]

    def finish(self) -> list[Track]:
        """All tracks (ended and live), ordered by start time then position; ids renumbered 0..n-1."""
        tracks = self.done + self.active
        self.done, self.active = [], []
        tracks.sort(key=lambda tr: (tr.first.seq, tr.first.bbox[0], tr.first.bbox[1], tr.tid))
        for i, tr in enumerate(tracks):
            tr.tid = i
        return tracks
