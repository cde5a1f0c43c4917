"""Motion gating, as Frigate does it: cheap frame differencing on a small grayscale copy decides
when and where something moves, so the detectors run only on those frames and regions.

Per sampled frame: blur -> absolute difference against a running-average background -> threshold
-> dilate -> contours -> boxes (scaled to full resolution, padded, merged). Passes are not lost:

- the first frame and a *keyframe* every ``keyframe_s`` seconds run on the whole frame (objects
  that stand still, e.g. a parked car, are still read);
- a frame is processed for ``hangover`` sampled frames after motion stops, with the last regions;
- when most of the frame changes (lighting change, camera shake) the whole frame is processed;
- regions are padded (an object's motion box covers its moving edges, not always its whole
  extent) and regions that together cover most of the frame become the whole frame;
- ``ignore`` areas (burned-in clock overlays that change every second) never count as motion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]


@dataclass
class MotionConfig:
    width: int = 320  # analysis width in pixels
    blur: int = 5  # Gaussian kernel (odd)
    threshold: int = 20  # gray-level difference that counts as change
    alpha: float = 0.35  # background running-average weight of the new frame
    min_area: float = 0.0008  # smallest moving blob, as a share of the frame
    pad: float = 0.1  # region padding, share of the blob's larger side
    pad_px: int = 32  # plus this many full-resolution pixels
    full_frame_share: float = 0.6  # regions covering more than this -> whole frame
    lighting_share: float = 0.6  # change over more than this -> lighting change -> whole frame
    hangover: int = 2  # sampled frames processed after motion stops
    keyframe_s: float = 10.0  # whole-frame detection at least this often (0: never)


@dataclass
class MotionDecision:
    process: bool  # run the detectors on this frame
    regions: list[Box] | None  # full-resolution boxes to look at; None = the whole frame
    changed: float  # share of the frame that changed
    reason: str  # motion | hangover | keyframe | first | lighting | still


@dataclass
class MotionGate:
    """Stateful gate for one source; call :meth:`update` with each sampled frame in order."""

    frame_width: int
    frame_height: int
    config: MotionConfig = field(default_factory=MotionConfig)
    ignore: list[Box] = field(default_factory=list)  # full-resolution areas whose changes are not motion
    _background: np.ndarray | None = None
    _keep: np.ndarray | None = None  # 1 where changes count, at analysis resolution
    _last_regions: list[Box] | None = None
    _since_motion: int = 10**9
    _last_full_t: float = -1e9

    def update(self, gray_small: np.ndarray, t: float) -> MotionDecision:
        import cv2

        cfg = self.config
        g = cv2.GaussianBlur(gray_small, (cfg.blur, cfg.blur), 0).astype(np.float32)
        if self._background is None or self._background.shape != g.shape:
            self._background = g
            self._last_full_t = t
            return MotionDecision(True, None, 1.0, "first")
        diff = cv2.absdiff(g, self._background)
        cv2.accumulateWeighted(g, self._background, cfg.alpha)
        mask = (diff > cfg.threshold).astype(np.uint8)
        if self.ignore:
            mask &= self._keep_mask(mask.shape)
        changed = float(mask.mean())
        if changed > cfg.lighting_share:
            self._background = g
            self._last_full_t = t
            self._since_motion = 0
            self._last_regions = None
            return MotionDecision(True, None, changed, "lighting")
        regions = self._regions(mask) if changed > 0 else []
        if regions:
            self._since_motion = 0
            self._last_regions = regions
            return self._decide(regions, changed, "motion", t)
        self._since_motion += 1
        if self._since_motion <= cfg.hangover and self._last_regions is not None:
            return self._decide(list(self._last_regions), changed, "hangover", t)
        self._last_regions = None
        if cfg.keyframe_s and t - self._last_full_t >= cfg.keyframe_s:
            self._last_full_t = t
            return MotionDecision(True, None, changed, "keyframe")
        return MotionDecision(False, [], changed, "still")

    def _keep_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._keep is None or self._keep.shape != shape:
            keep = np.ones(shape, np.uint8)
            sx, sy = shape[1] / self.frame_width, shape[0] / self.frame_height
            for b in self.ignore:
                keep[int(b[1] * sy) : int(np.ceil(b[3] * sy)), int(b[0] * sx) : int(np.ceil(b[2] * sx))] = 0
            self._keep = keep
        return self._keep

    def _decide(self, regions: list[Box], changed: float, reason: str, t: float) -> MotionDecision:
        area = sum(_area(b) for b in regions)
        if area >= self.config.full_frame_share * self.frame_width * self.frame_height:
            self._last_full_t = t
            return MotionDecision(True, None, changed, reason)
        return MotionDecision(True, regions, changed, reason)

    def _regions(self, mask: np.ndarray) -> list[Box]:
        import cv2

        cfg = self.config
        mask = cv2.dilate(mask, np.ones((5, 5), np.uint8), iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        h, w = mask.shape
        sx, sy = self.frame_width / w, self.frame_height / h
        min_px = cfg.min_area * w * h
        boxes: list[Box] = []
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            if bw * bh < min_px:
                continue
            pad = cfg.pad * max(bw * sx, bh * sy) + cfg.pad_px
            boxes.append(
                (
                    max(0.0, x * sx - pad),
                    max(0.0, y * sy - pad),
                    min(float(self.frame_width), (x + bw) * sx + pad),
                    min(float(self.frame_height), (y + bh) * sy + pad),
                )
            )
        return _merge(boxes)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _inter(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _merge(boxes: list[Box], slack: float = 1.15) -> list[Box]:
    """Join overlapping boxes when their union adds little to the area they cover (two boxes
    crossing diagonally stay two, overlapping: detections seen in both are de-duplicated);
    repeat until stable."""
    out = sorted(boxes)
    changed = True
    while changed:
        changed = False
        merged: list[Box] = []
        for b in out:
            for i, m in enumerate(merged):
                u = _union(b, m)
                if _overlaps(b, m) and _area(u) <= slack * (_area(b) + _area(m) - _inter(b, m)):
                    merged[i] = u
                    changed = True
                    break
            else:
                merged.append(b)
        out = merged
    return sorted(out)
