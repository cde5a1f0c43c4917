"""Decode a recorded video with PyAV (threaded) and sample its frames at a target rate.

Every frame is decoded (inter-coded video cannot skip frames), but only sampled frames are
converted to RGB. :class:`VideoReader` turns bad input into a :class:`DecodeError` whose message is
one line naming the reason:

- ``empty file (0 bytes)``; ``not a video (text data)``; ``not a video or corrupt header (...)``;
- ``no video stream``; ``unsupported video codec (...)``;
- ``corrupt data at 12.4 s (...)`` when the demuxer/decoder raises mid-stream or the decoder
  flags a frame as corrupt (concealed errors; ``max_corrupt_frames`` tolerates some);
- ``truncated: ...`` when an MP4/MOV file ends inside one of its top-level boxes (checked before
  decoding: a recording cut mid-write, with or without its ``moov`` index), or when decoding stops
  short of what the container header declares (frame count for MP4/AVI, duration for MP4/MKV).
  MPEG-TS carries no length in its header, so a truncated ``.ts`` cannot be told apart from a
  short one: its decodable part is processed (a partial last frame is flagged corrupt).

The policy is all-or-nothing per source: a file that fails any check yields no rows (callers only
commit after the iterator finished without raising).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lakehouse.timeutil import parse_instant
from pipelines.video.errors import DecodeError

#: containers whose duration is estimated from the bitrate, not read from a header
_ESTIMATED_LENGTH = ("mpegts", "mpeg")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    codec: str
    fps: float
    width: int
    height: int
    declared_frames: int  # 0 when the container does not say
    duration_s: float | None  # from the header (None when unknown or only estimated)
    creation_time: dt.datetime | None  # container metadata, UTC


class DecodedFrame:
    """A sampled frame: its position in the source and lazy conversions of the pixels."""

    __slots__ = ("_frame", "_rgb", "index", "offset_s")

    def __init__(self, index: int, offset_s: float, frame=None, rgb: np.ndarray | None = None):  # noqa: ANN001
        self.index = index  # decoded-frame index in the source
        self.offset_s = offset_s  # seconds from the first frame
        self._frame = frame  # av.VideoFrame
        self._rgb = rgb

    def rgb(self) -> np.ndarray:
        """HxWx3 uint8 RGB (computed once)."""
        if self._rgb is None:
            self._rgb = self._frame.to_ndarray(format="rgb24")
        return self._rgb

    def gray(self, width: int) -> np.ndarray:
        """A small grayscale copy ``width`` pixels wide (for motion detection)."""
        if self._frame is not None:
            h = max(2, round(self._frame.height * width / self._frame.width))
            return self._frame.reformat(width=width, height=h, format="gray").to_ndarray()
        import cv2

        rgb = self.rgb()
        h = max(2, round(rgb.shape[0] * width / rgb.shape[1]))
        return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (width, h), interpolation=cv2.INTER_AREA)

    def release(self) -> None:
        self._frame = None


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) > 0.95


def _open(path: Path):  # noqa: ANN202 - av container
    import av

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    if path.suffix.lower() in _MP4_SUFFIXES and (why := mp4_truncation(path)):
        raise DecodeError(why)
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _looks_like_text(path):
            raise DecodeError("not a video (text data)") from exc
        raise DecodeError(f"not a video or corrupt header ({_msg(exc)})") from exc


_MP4_SUFFIXES = (".mp4", ".m4v", ".mov", ".3gp")


def mp4_truncation(path: Path) -> str | None:
    """For an MP4/MOV file (ISO boxes), why it is truncated -- the file ends inside a top-level box
    (``mdat`` when recording stopped mid-write, or ``moov`` missing altogether) -- else None."""
    import struct

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8 or head[4:8] != b"ftyp":
                return None  # not an ISO media file (or not one we can walk)
            pos, seen = 0, []
            while pos < size:
                fh.seek(pos)
                hdr = fh.read(16)
                if len(hdr) < 8:
                    return f"truncated: file ends inside a box header at byte {pos}"
                box, kind = struct.unpack(">I", hdr[:4])[0], hdr[4:8].decode("latin-1")
                if box == 1:
                    if len(hdr) < 16:
                        return f"truncated: file ends inside the {kind!r} box header"
                    box = struct.unpack(">Q", hdr[8:16])[0]
                elif box == 0:
                    box = size - pos  # extends to the end of the file
                if box < 8:
                    return None  # not a box structure we understand: let the demuxer decide
                if pos + box > size:
                    return (
                        f"truncated: file ends inside the {kind!r} box "
                        f"({size - pos} of {box} bytes){'' if 'moov' in seen else ', no moov index'}"
                    )
                seen.append(kind)
                pos += box
    except OSError:
        return None
    return None


def _msg(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc).strip() or type(exc).__name__


def _creation_time(container) -> dt.datetime | None:  # noqa: ANN001
    raw = (container.metadata or {}).get("creation_time")
    if not raw:
        return None
    try:
        t = parse_instant(str(raw))  # container times without a zone are UTC by convention
    except ValueError:
        return None
    return t if t is not None and t.year > 1971 else None  # encoders write 1970/1904 when they do not know


def _info(path: Path, container) -> VideoInfo:  # noqa: ANN001
    if not container.streams.video:
        raise DecodeError("no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise DecodeError("unsupported video codec (no decoder for this stream)")
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 25.0
    fmt = container.format.name or ""
    duration = None
    if not any(fmt.startswith(e) for e in _ESTIMATED_LENGTH):
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
    cc = stream.codec_context
    return VideoInfo(
        path=str(path),
        container=fmt,
        codec=cc.name or "?",
        fps=fps,
        width=int(cc.width or 0),
        height=int(cc.height or 0),
        declared_frames=int(stream.frames or 0),
        duration_s=duration,
        creation_time=_creation_time(container),
    )


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Header facts of a video; raises :class:`DecodeError` when it cannot be a decodable video."""
    p = Path(path)
    container = _open(p)
    try:
        return _info(p, container)
    finally:
        container.close()


class VideoReader:
    """Iterate a video's sampled frames; counters (``decoded``, ``sampled``) update as it goes.

    ``sample_fps`` None (or >= the video's rate) keeps every frame. Use as a context manager or
    call :meth:`close`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_fps: float | None = None,
        max_corrupt_frames: int = 0,
        threaded: bool = True,
    ):
        self.path = Path(path)
        self.sample_fps = sample_fps
        self.max_corrupt_frames = max_corrupt_frames
        self.threaded = threaded
        self._container = _open(self.path)
        try:
            self.info = _info(self.path, self._container)
        except Exception:
            self._container.close()
            raise
        self.decoded = 0
        self.sampled = 0
        self.corrupt = 0
        self.last_offset_s = 0.0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def sample_step(self) -> float:
        """Seconds between sampled frames (0: every frame)."""
        if not self.sample_fps or self.sample_fps >= self.info.fps:
            return 0.0
        return 1.0 / self.sample_fps

    def __iter__(self) -> Iterator[DecodedFrame]:
        return self.frames()

    def frames(self) -> Iterator[DecodedFrame]:
        import av

        if self._container is None:
            raise RuntimeError("reader is closed")
        stream = self._container.streams.video[0]
        if self.threaded:
            stream.thread_type = "AUTO"
        step = self.sample_step
        half_frame = 0.5 / self.info.fps
        next_t = 0.0
        t0: float | None = None
        index = -1
        it = self._container.decode(stream)
        while True:
            try:
                frame = next(it)
            except StopIteration:
                break
            except av.error.DecoderNotFoundError as exc:
                raise DecodeError(f"unsupported video codec ({_msg(exc)})") from exc
            except (av.error.FFmpegError, EOFError) as exc:
                raise DecodeError(
                    f"corrupt data at {self.last_offset_s:.1f} s after {self.decoded} frames ({_msg(exc)})"
                ) from exc
            index += 1
            self.decoded += 1
            t = frame.time
            if t is None:
                t = index / self.info.fps
            if t0 is None:
                t0 = t
            offset = max(0.0, t - t0)
            self.last_offset_s = offset
            if frame.is_corrupt:
                self.corrupt += 1
                if self.corrupt > self.max_corrupt_frames:
                    raise DecodeError(
                        f"corrupt data at {offset:.1f} s (decoder flagged frame {index} as corrupt)"
                    )
            if step and offset + half_frame < next_t:
                continue
            if step:
                next_t = (math.floor((offset + half_frame) / step) + 1) * step
            self.sampled += 1
            yield DecodedFrame(index, offset, frame)
        self._check_complete()

    def _check_complete(self) -> None:
        info = self.info
        if self.decoded == 0:
            raise DecodeError("no frames could be decoded")
        if info.declared_frames > 0:
            tolerance = max(2, math.ceil(0.01 * info.declared_frames))
            if self.decoded < info.declared_frames - tolerance:
                raise DecodeError(
                    f"truncated: decoded {self.decoded} of the {info.declared_frames} frames the header declares"
                )
        if info.duration_s:
            end = self.last_offset_s + 1.0 / info.fps
            if end < info.duration_s - max(0.5, 0.02 * info.duration_s):
                raise DecodeError(
                    f"truncated: frames end at {end:.1f} s of the {info.duration_s:.1f} s the header declares"
                )
