"""H.264 writer for the synthetic clips (PyAV, libx264, yuv420p, MP4)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

__all__ = ["H264Writer"]


class H264Writer:
    """Write RGB frames to an MP4 file; use as a context manager."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 20,
        preset: str = "veryfast",
        start_ts: dt.datetime | None = None,
        title: str | None = None,
        maxrate_kbps: int | None = None,
        gop: int | None = None,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._c = av.open(str(self.path), "w", format="mp4")
        if start_ts is not None:
            self._c.metadata["creation_time"] = start_ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if title:
            self._c.metadata["title"] = title
        rate = Fraction(fps).limit_denominator(1001)
        s = self._c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.time_base = 1 / rate
        # one encoder thread: identical bytes for identical frames, and the machine is shared
        options = {"crf": str(crf), "preset": preset, "threads": "1"}
        if maxrate_kbps:  # capped VBR, as a camera's encoder: the rate never exceeds this
            options |= {"maxrate": f"{maxrate_kbps}k", "bufsize": f"{2 * maxrate_kbps}k"}
        if gop:  # keyframe interval in frames (cameras: 1-2 s)
            options["g"] = str(gop)
        s.codec_context.options = options
        s.codec_context.thread_count = 1
        self._s = s
        self._n = 0

    def write(self, rgb: np.ndarray) -> None:
        # OpenCV's RGB -> I420 (BT.601, limited range, as swscale's default) is the faster path
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        frame.pts = self._n
        self._n += 1
        for pkt in self._s.encode(frame):
            self._c.mux(pkt)

    def close(self) -> None:
        if self._c is None:
            return
        for pkt in self._s.encode(None):
            self._c.mux(pkt)
        self._c.close()
        self._c = None

    @property
    def frames(self) -> int:
        return self._n

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
