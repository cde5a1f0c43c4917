"""Real plate photos played as a camera would see them: an H.264 clip with its ground truth.

Each labelled photo (``NAME.jpg`` + ``NAME.txt`` in the OpenALPR layout,
:func:`pipelines.plates.evaluate.load_samples`) fills the frame (scaled to cover ``width`` x
``height``) and is held ``hold_s`` seconds while the view slowly zooms in (``zoom`` = 0.15: 15 %
closer at the end of the hold) and pans a little toward the plate, as a PTZ camera or a slowly
approaching vehicle does; photos follow each other with a hard cut. A little sensor noise is added
and the clip is encoded with the project's H.264 writer at a camera's capped bitrate
(``maxrate_kbps``, a keyframe every 2 s). The plate box stays inside the view throughout.

Ground truth (:class:`PhotoClip`): which photo (file, plate) is on screen from ``start_s`` to
``end_s``, and the plate's height in frame pixels at the start and end of its hold; saved beside
the clip as ``NAME.json``. Used by ``benchmarks/video_accuracy.py`` and the extraction tests; the
photos are read from where they are (``../shared/data``) and never copied.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelines.synth.video import H264Writer

__all__ = ["PhotoClip", "Shown", "build_photo_clip", "load_photo_clip", "spread"]


@dataclass(frozen=True)
class Shown:
    """One photo's time on screen."""

    file: str  # the photo's file name
    plate: str  # its label (normalized A-Z0-9)
    start_s: float
    end_s: float
    plate_px: tuple[float, float]  # plate box height in frame pixels at the start / end of the hold

    def holds(self, t: float) -> bool:
        return self.start_s <= t < self.end_s


@dataclass
class PhotoClip:
    path: Path
    width: int
    height: int
    fps: float
    hold_s: float
    zoom: float
    maxrate_kbps: int
    shown: list[Shown] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.shown[-1].end_s if self.shown else 0.0

    def at(self, t: float) -> Shown | None:
        """The photo on screen at ``t`` seconds."""
        for s in self.shown:
            if s.holds(t):
                return s
        return None

    def describe(self) -> str:
        return (
            f"{len(self.shown)} photos x {self.hold_s:g} s, {self.width}x{self.height} {self.fps:g} fps H.264 "
            f"(capped at {self.maxrate_kbps} kb/s), slow zoom {100 * self.zoom:.0f} %"
        )

    def save(self) -> Path:
        out = self.path.with_suffix(".json")
        d = asdict(self)
        d["path"] = self.path.name
        out.write_text(json.dumps(d, indent=1))
        return out


def load_photo_clip(path: str | Path) -> PhotoClip:
    """The clip at ``path`` (``.mp4``) with the ground truth saved beside it."""
    path = Path(path)
    d: dict[str, Any] = json.loads(path.with_suffix(".json").read_text())
    shown = [Shown(**{**s, "plate_px": tuple(s["plate_px"])}) for s in d.pop("shown")]
    d["path"] = path
    return PhotoClip(**d, shown=shown)


def spread(samples: Sequence[Any], n: int) -> list[Any]:
    """``n`` samples spread evenly over ``samples`` (all of them when ``n`` >= their number)."""
    if n >= len(samples):
        return list(samples)
    idx = np.linspace(0, len(samples) - 1, n).round().astype(int)
    return [samples[i] for i in idx]


def _view(
    w: int, h: int, box: tuple[float, float, float, float], W: int, H: int, u: float, zoom: float, pan: float
) -> tuple[float, float, float]:
    """(scale, x0, y0): the photo-to-frame scale and the photo point at the frame's top-left corner
    at hold progress ``u`` (0..1)."""
    s = max(W / w, H / h) * (1.0 + zoom * u)
    vw, vh = W / s, H / s  # the view in photo pixels
    px, py = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    cx = w / 2 + pan * u * (px - w / 2)
    cy = h / 2 + pan * u * (py - h / 2)
    # keep the plate inside the view, then the view inside the photo
    cx = min(max(cx, box[2] - vw / 2 + 2), box[0] + vw / 2 - 2)
    cy = min(max(cy, box[3] - vh / 2 + 2), box[1] + vh / 2 - 2)
    cx = min(max(cx, vw / 2), w - vw / 2)
    cy = min(max(cy, vh / 2), h - vh / 2)
    return s, cx - vw / 2, cy - vh / 2


def build_photo_clip(
    samples: Sequence[Any],
    out: str | Path,
    *,
    hold_s: float = 2.4,
    fps: float = 25.0,
    width: int = 1280,
    height: int = 720,
    zoom: float = 0.15,
    pan: float = 0.3,
    noise: float = 2.0,
    crf: int = 23,
    maxrate_kbps: int = 2500,
    seed: int = 0,
) -> PhotoClip:
    """Render ``samples`` (objects with ``image`` path, ``plate`` and ``box`` x1,y1,x2,y2, e.g.
    :class:`pipelines.plates.evaluate.Sample`) into an H.264 clip at ``out`` and save its ground
    truth beside it. Deterministic for the same inputs and ``seed``."""
    if not samples:
        raise ValueError("no photos to render")
    out = Path(out)
    rng = np.random.default_rng(seed)
    per = max(1, round(hold_s * fps))
    clip = PhotoClip(out, width, height, fps, per / fps, zoom, maxrate_kbps)
    with H264Writer(out, width, height, fps, crf=crf, maxrate_kbps=maxrate_kbps, gop=round(2 * fps)) as wr:
        for k, smp in enumerate(samples):
            bgr = cv2.imread(str(smp.image), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read image {smp.image}")
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = rgb.shape[:2]
            box = tuple(float(v) for v in smp.box)
            heights = []
            for i in range(per):
                u = i / max(per - 1, 1)
                s, x0, y0 = _view(w, h, box, width, height, u, zoom, pan)  # type: ignore[arg-type]
                m = np.array([[s, 0.0, -s * x0], [0.0, s, -s * y0]], np.float32)
                frame = cv2.warpAffine(
                    rgb, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                if noise > 0:
                    grain = rng.normal(0.0, noise, frame.shape).astype(np.float32)
                    frame = np.clip(frame.astype(np.float32) + grain, 0, 255).astype(np.uint8)
                wr.write(frame)
                if i in (0, per - 1):
                    heights.append(round((box[3] - box[1]) * s, 1))
            clip.shown.append(
                Shown(
                    Path(smp.image).name,
                    smp.plate,
                    k * per / fps,
                    (k + 1) * per / fps,
                    (heights[0], heights[-1]),
                )
            )
    clip.save()
    return clip
