"""Cutting evidence clips with PyAV: the frames of a source around one moment, decoded, masked
(:mod:`pipelines.governance.export.masking`) and re-encoded as H.264 MP4 (re-encoding is what lets
bystanders be blurred; a stream copy could not change a pixel)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np


class ClipError(ValueError):
    """The source cannot be read (missing, not a video) or holds no frame in the window."""


@dataclass
class Window:
    """Decoded frames of a source between ``t0`` and ``t1`` seconds (from its start)."""

    frames: list[np.ndarray]
    times: list[float]  # seconds from the start of the source, per frame
    fps: float

    def index_at(self, t: float) -> int | None:
        """The frame nearest ``t`` seconds (None when there are no frames)."""
        if not self.times:
            return None
        return int(np.argmin(np.abs(np.asarray(self.times) - t)))


def read_window(path: str | Path, t0: float, t1: float) -> Window:
    """The frames of ``path`` with ``t0 <= time <= t1`` (seconds from the first frame), RGB."""
    import av

    p = Path(str(path).removeprefix("file://"))
    if not p.is_file():
        raise ClipError(f"the source video {p} is not there (moved or erased by retention?)")
    frames: list[np.ndarray] = []
    times: list[float] = []
    try:
        with av.open(str(p)) as inp:
            if not inp.streams.video:
                raise ClipError(f"{p} has no video stream")
            vs = inp.streams.video[0]
            rate = float(vs.average_rate or 0) or 25.0
            first: float | None = None
            if t0 > 2.0 and vs.time_base is not None:
                inp.seek(int((t0 - 2.0) / float(vs.time_base)), stream=vs, backward=True, any_frame=False)
                first = float(vs.start_time * vs.time_base) if vs.start_time is not None else 0.0
            for frame in inp.decode(vs):
                t = frame.time
                if t is None:
                    continue
                if first is None:
                    first = float(vs.start_time * vs.time_base) if vs.start_time is not None else float(t)
                rel = float(t) - first
                if rel < t0 - 1e-6:
                    continue
                if rel > t1 + 1e-6:
                    break
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(rel)
    except av.error.FFmpegError as exc:
        raise ClipError(f"cannot read {p}: {exc}") from exc
    if not frames:
        raise ClipError(f"{p} has no frame between {t0:.2f} s and {t1:.2f} s")
    return Window(frames=frames, times=times, fps=rate)


def write_clip(frames: list[np.ndarray], fps: float, out: Path, *, crf: int = 18) -> Path:
    """Encode RGB ``frames`` as H.264 (yuv420p, ``crf``) MP4 at ``fps``."""
    import av

    if not frames:
        raise ClipError("no frames to encode")
    h, w = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for img in frames:
            vf = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(img[: h - h % 2, : w - w % 2]), format="rgb24"
            )
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out
