"""Read a live source with PyAV: open with timeouts, decode packet by packet, notice outages.

Facts this module is built on (DESIGN.md §13):

- without a timeout a dead RTSP/UDP/HLS source blocks the reader forever: every source is opened
  with PyAV's own ``timeout=(open, read)`` (an interrupt callback) *and* FFmpeg's protocol
  ``timeout`` option (µs), so a killed source raises within seconds;
- the packets received after joining a stream mid-GOP cannot be decoded until the next keyframe:
  packets before the first keyframe are skipped, and ``InvalidDataError`` from ``decode`` is
  counted and skipped, never treated as an outage;
- HLS and RTSP-listen sources may end the packet loop quietly: a quiet end of a live source is an
  outage (:class:`SourceOutage`), like an error.

Frame-drop policy when the reader itself is behind (decoding slower than real time: a starved CPU):
once a packet is more than ``max_decode_lag_s`` late, packets are dropped undecoded up to the next
keyframe (counted in ``dropped_behind``), so the decode lag stays bounded by about
``max_decode_lag_s`` plus one keyframe interval instead of growing without end.

Every message that leaves this module names the source by its redacted URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipelines.live.urls import redact, redact_text


class SourceOutage(RuntimeError):
    """The source could not be opened, stopped sending, errored, or ended."""


@dataclass
class LiveFrame:
    frame: Any  # av.VideoFrame
    wall_ts: (
        float  # epoch seconds at which the frame was sent (its timestamp anchored at the fastest arrival)
    )
    index: int  # decoded frames since the connection opened


LISTEN_FRAGMENT = "listen"


def split_listen(url: str) -> tuple[str, bool]:
    """``rtsp://127.0.0.1:8554/cam#listen`` -> (``rtsp://127.0.0.1:8554/cam``, True): Pesquisa is the
    RTSP server and the camera (or an encoder) pushes to it (FFmpeg ``rtsp_flags=listen``)."""
    base, _, fragment = url.partition("#")
    return (base, True) if fragment == LISTEN_FRAGMENT else (url, False)


def source_options(url: str, read_timeout_s: float, extra: dict[str, str] | None = None) -> dict[str, str]:
    """FFmpeg options for ``url``: the protocol's I/O timeout plus per-scheme defaults; ``extra``
    (the camera's ``stream_options``) wins."""
    us = str(int(read_timeout_s * 1_000_000))
    url, listen = split_listen(url)
    scheme = urlsplit(url).scheme.lower()
    opts: dict[str, str] = {"rtsp_flags": "listen"} if listen and scheme == "rtsp" else {}
    if scheme in ("rtsp", "rtsps"):
        opts.update({"rtsp_transport": "tcp", "timeout": us})
        if listen:
            opts.pop("rtsp_transport")
    elif scheme in ("udp", "rtp", "srt", "tcp"):
        opts.update({"timeout": us, "overrun_nonfatal": "1"})
    elif scheme in ("http", "https"):
        opts.update({"rw_timeout": us, "reconnect": "0"})
        if urlsplit(url).path.lower().endswith(".m3u8"):  # HLS: start at the newest segment (latency)
            opts["live_start_index"] = "-1"
    opts.update(extra or {})
    if opts.get("rtsp_flags") == "listen":  # a listener waits for its pusher, then reads
        opts.pop("timeout", None)
        opts.setdefault("listen_timeout", str(int(max(read_timeout_s, 1))))
    return opts


@dataclass
class LiveSource:
    """One connection to a live source; iterate :meth:`frames` until it raises :class:`SourceOutage`."""

    url: str
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    options: dict[str, str] = field(default_factory=dict)
    max_decode_lag_s: float | None = None  # behind by more: drop packets up to the next keyframe
    skipped_packets: int = 0  # packets skipped before a keyframe or undecodable (joining mid-GOP)
    dropped_behind: int = 0  # packets dropped undecoded because the reader was behind
    decoded: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    _container: Any = None
    _anchor: float | None = None

    @property
    def name(self) -> str:
        return redact(self.url)

    def open(self) -> None:
        import av

        opts = source_options(self.url, self.read_timeout_s, self.options)
        try:
            self._container = av.open(
                split_listen(self.url)[0],
                mode="r",
                options=opts,
                timeout=(self.open_timeout_s, self.read_timeout_s),
            )
        except Exception as exc:  # noqa: BLE001 - any failure to open is an outage of this source
            raise SourceOutage(f"cannot open {self.name}: {redact_text(_why(exc), self.url)}") from None
        if not self._container.streams.video:
            self.close()
            raise SourceOutage(f"{self.name} has no video stream")
        stream = self._container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threading would hold frames back (latency)
        self.width = int(stream.codec_context.width or 0)
        self.height = int(stream.codec_context.height or 0)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0

    def frames(self) -> Iterator[LiveFrame]:
        """Decoded frames as they arrive; raises :class:`SourceOutage` when the source stops."""
        import av

        if self._container is None:
            self.open()
        stream = self._container.streams.video[0]
        keyed = catching_up = False
        try:
            for packet in self._container.demux(stream):
                if packet.size == 0:
                    continue
                if keyed and not packet.is_keyframe and self._behind(packet):
                    keyed, catching_up = False, True  # nothing decodes again before the next keyframe
                if not keyed and not packet.is_keyframe:
                    if catching_up:
                        self.dropped_behind += 1
                    else:
                        self.skipped_packets += 1
                    continue
                catching_up = False
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:
                    self.skipped_packets += 1
                    keyed = False
                    continue
                keyed = True
                for frame in decoded:
                    self.decoded += 1
                    if not self.width:
                        self.width, self.height = frame.width, frame.height
                    yield LiveFrame(frame, self._wall_time(frame.time), self.decoded)
        except SourceOutage:
            raise
        except Exception as exc:  # noqa: BLE001 - timeouts, I/O errors, demuxer errors
            raise SourceOutage(f"{self.name}: {redact_text(_why(exc), self.url)}") from None
        raise SourceOutage(f"{self.name}: stream ended")

    def _behind(self, packet: Any) -> bool:
        """The packet was sent more than ``max_decode_lag_s`` ago (by the frames' clock anchor)."""
        if (
            not self.max_decode_lag_s
            or self._anchor is None
            or packet.pts is None
            or packet.time_base is None
        ):
            return False
        return time.time() - (self._anchor + float(packet.pts * packet.time_base)) > self.max_decode_lag_s

    def _wall_time(self, pts_s: float | None) -> float:
        """The frame's wall time: its timestamp mapped to the clock by the smallest
        ``arrival - pts`` seen (the frame that came through with the least delay), so frames decoded
        late (a backlog) keep the time they were sent; re-anchored when the timestamps jump back."""
        now = time.time()
        if pts_s is None:
            return now
        offset = now - pts_s
        if self._anchor is None or offset < self._anchor or self._anchor + pts_s < now - 60.0:
            self._anchor = offset
        return self._anchor + pts_s

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
            self._container = None

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
