"""A simulated live camera on loopback: a synthetic-city clip looped by ffmpeg as MPEG-TS over UDP.

- :func:`prepare_clip` pre-encodes the clip ONCE the way a camera encodes (H.264, a keyframe every
  ``gop`` frames = 1 s at 25 fps, no B-frames, 720p), cached next to the source; streaming then
  uses ``-c copy`` (re-encoding live would cost a core on a 2-core machine). A clip sent as it
  was rendered has ~10 s between keyframes: a reader joining mid-GOP would wait that long.
- :class:`SimulatedCamera` runs ``ffmpeg -re -stream_loop -1 -i clip -c copy -f mpegts
  udp://127.0.0.1:PORT`` (a free port, loopback only) and keeps the wall-clock time at which the
  clip's first frame was sent, from ffmpeg's ``-progress`` reports (``min(wall - out_time)``;
  ``-re`` paces frames at their timestamps). Frame ``k`` of loop ``n`` was emitted at
  ``started_at + n * duration + k / fps``.
- :func:`readable_events` names, from the city manifest, the first frame where each plate and face
  is readable (plate characters at least :data:`PLATE_CHAR_PX` px high, faces at least
  :data:`FACE_PX` px): latency is measured from that frame's emission. :meth:`SimulatedCamera.stamp`
  writes the emission schedule as JSON, so another process (the benchmark, the demo) can compute
  latencies of the rows it sees.

RTSP (``protocol="rtsp"``): ffmpeg cannot serve RTSP, so the READER listens (a camera
``stream_uri`` of ``rtsp://127.0.0.1:PORT/live#listen``, FFmpeg ``rtsp_flags=listen``) and ffmpeg
pushes ``-f rtsp -rtsp_transport tcp`` to it; the pusher is restarted (0.5 s) whenever it exits
(no listener yet, or the listener reconnecting) until :meth:`SimulatedCamera.stop`.

HLS (``protocol="hls"``): ffmpeg writes a live playlist of 1-s segments (``-f hls``, no end list,
old segments deleted) into a temporary directory that a loopback ``http.server`` serves
(``http://127.0.0.1:PORT/live.m3u8``). HTTP (``protocol="http"``): MPEG-TS over HTTP, served by
ffmpeg itself (``-listen 1 http://127.0.0.1:PORT/live.ts``, one reader at a time; restarted like
the RTSP pusher when the reader goes). :meth:`SimulatedCamera.stop` kills ffmpeg and the HTTP
server (the camera loses power).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: characters this tall (full-resolution pixels) are readable by the plate reader at the live profile
PLATE_CHAR_PX = 16.0
#: faces this tall are looked for in video frames (pipelines.extract.frames.VIDEO_MIN_FACE_PX)
FACE_PX = 40.0


class SimulatorError(RuntimeError):
    """ffmpeg is missing or the stream could not be started."""


def ffmpeg_path() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        raise SimulatorError("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


def prepare_clip(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    gop: int = 25,
    height: int = 720,
) -> Path:
    """Pre-encode ``src`` camera-like (once; reused while newer than ``src``)."""
    src = Path(src)
    out = Path(out) if out else src.with_name(f"{src.stem}.live-g{gop}.mp4")
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime and out.stat().st_size > 0:
        return out
    tmp = out.with_name(f".{out.name}.tmp.mp4")
    cmd = [
        ffmpeg_path(),
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(src),
        "-an",
        "-vf",
        f"scale=-2:{height}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "21",
        "-bf",
        "0",
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "2",
        str(tmp),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SimulatorError(f"pre-encoding {src.name} failed: {proc.stderr.strip()[-300:]}")
    os.replace(tmp, out)
    return out


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ReadableEvent:
    kind: str  # plate | face
    value: str  # plate text, or identity
    t_s: float  # offset in the clip of the first readable frame
    t_end_s: float  # offset of the last visible frame
    pass_id: str


def readable_events(
    manifest: Any, camera_id: str, plate_char_px: float = PLATE_CHAR_PX, face_px: float = FACE_PX
) -> list[ReadableEvent]:
    """The first readable frame of each plate and face pass of ``camera_id`` (manifest truth)."""
    v = manifest.video_for(camera_id)
    out = []
    for p in manifest.plate_passes:
        if p.camera_id != camera_id or not p.boxes:
            continue
        h_max = max(b[4] - b[2] for b in p.boxes)
        for b in p.boxes:
            if h_max > 0 and p.char_px * (b[4] - b[2]) / h_max >= plate_char_px:
                out.append(ReadableEvent("plate", p.plate, b[0] / v.fps, p.t_end_s, p.pass_id))
                break
    for f in manifest.face_passes:
        if f.camera_id != camera_id:
            continue
        for b in f.boxes:
            if b[4] - b[2] >= face_px:
                out.append(ReadableEvent("face", f.identity, b[0] / v.fps, f.t_end_s, f.pass_id))
                break
    return sorted(out, key=lambda e: e.t_s)


#: what :class:`SimulatedCamera` can stream
PROTOCOLS = ("udp", "rtsp", "hls", "http")
#: protocols where ffmpeg exits when its reader goes (restarted until stopped)
REPUSHED = ("rtsp", "http")


class _QuietHandler:
    """``http.server`` handler factory for a directory, without request logging."""

    @staticmethod
    def make(directory: str) -> Any:
        from functools import partial
        from http.server import SimpleHTTPRequestHandler

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
                pass

            def end_headers(self) -> None:
                self.send_header("Cache-Control", "no-cache")  # the playlist changes every second
                super().end_headers()

        return partial(Handler, directory=directory)


class SimulatedCamera:
    """``clip`` streamed in a loop by ffmpeg until :meth:`stop`: MPEG-TS to ``udp://127.0.0.1:PORT``
    (``protocol="udp"``), or pushed over RTSP to a listening reader (``protocol="rtsp"``)."""

    def __init__(
        self,
        clip: str | os.PathLike[str],
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        fps: float | None = None,
        frames: int | None = None,
        events: list[ReadableEvent] | None = None,
        protocol: str = "udp",
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
        self.protocol = protocol
        self.clip = Path(clip)
        self.host = host
        self.port = port or (free_udp_port(host) if protocol == "udp" else free_tcp_port(host))
        self._hls_dir: str | None = None
        self._httpd: Any = None
        self.events = list(events or [])
        self.proc: subprocess.Popen[str] | None = None
        self.started_at: float | None = None  # wall time at which frame 0 of loop 0 was sent
        self.launched_at: float | None = None
        if fps is None or frames is None:
            fps, frames = _probe(self.clip)
        self.fps, self.frames = float(fps), int(frames)
        self._reader: threading.Thread | None = None
        self._keep = threading.Event()  # rtsp: keep pushing (restart the pusher when it exits)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    @property
    def url(self) -> str:
        """The URL a reader opens (UDP: it binds the port on loopback; RTSP: it listens)."""
        if self.protocol == "rtsp":
            return f"rtsp://{self.host}:{self.port}/live#listen"
        if self.protocol == "hls":
            return f"http://{self.host}:{self.port}/live.m3u8"
        if self.protocol == "http":
            return f"http://{self.host}:{self.port}/live.ts"
        return f"udp://{self.host}:{self.port}?localaddr={self.host}"

    def _command(self) -> list[str]:
        head = [
            ffmpeg_path(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            str(self.clip),
            "-c",
            "copy",
            "-an",
            "-progress",
            "pipe:1",
            "-stats_period",
            "0.5",
        ]
        if self.protocol == "rtsp":
            return head + ["-f", "rtsp", "-rtsp_transport", "tcp", f"rtsp://{self.host}:{self.port}/live"]
        if self.protocol == "http":
            return head + ["-f", "mpegts", "-listen", "1", f"http://{self.host}:{self.port}/live.ts"]
        if self.protocol == "hls":
            assert self._hls_dir is not None
            d = Path(self._hls_dir)
            return head + [
                "-f",
                "hls",
                "-hls_time",
                "1",
                "-hls_list_size",
                "4",
                "-hls_flags",
                "delete_segments+omit_endlist+temp_file",
                "-hls_segment_filename",
                str(d / "seg%06d.ts"),
                str(d / "live.m3u8"),
            ]
        return head + ["-f", "mpegts", f"udp://{self.host}:{self.port}?pkt_size=1316"]

    def _launch(self) -> None:
        self.launched_at = time.time()
        self.proc = subprocess.Popen(
            self._command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._progress, args=(self.proc,), daemon=True)
        self._reader.start()

    def start(self) -> SimulatedCamera:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.started_at = None
        if self.protocol == "hls":
            self._serve_hls()
        self._launch()
        if self.protocol in REPUSHED:
            self._keep.set()
            threading.Thread(target=self._repush, daemon=True).start()
        return self

    def _serve_hls(self) -> None:
        """A fresh playlist directory, served on 127.0.0.1:port by a threaded ``http.server``."""
        from http.server import ThreadingHTTPServer

        self._hls_dir = tempfile.mkdtemp(prefix="pesquisa-hls-")
        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer((self.host, self.port), _QuietHandler.make(self._hls_dir))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="hls-http", daemon=True).start()

    def _stop_hls(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._hls_dir is not None:
            shutil.rmtree(self._hls_dir, ignore_errors=True)
            self._hls_dir = None

    def _repush(self) -> None:
        """RTSP / HTTP: the sender exits while nobody reads; start it again until stopped."""
        while self._keep.is_set():
            proc = self.proc
            if proc is not None and proc.poll() is not None and self._keep.is_set():
                if proc.stdout is not None:
                    proc.stdout.close()
                time.sleep(0.5)
                if self._keep.is_set():
                    self._launch()
            time.sleep(0.1)

    def _progress(self, proc: subprocess.Popen[str]) -> None:
        """``started_at`` of the sender that is actually streaming: a re-pushed RTSP sender that
        never got through (no listener) reports no progress and leaves the last schedule alone."""
        assert proc.stdout is not None
        best: float | None = None
        for line in proc.stdout:
            if line.startswith("out_time_us="):
                try:
                    out_us = int(line.split("=", 1)[1])
                except ValueError:
                    continue
                if out_us <= 0:
                    continue
                t0 = time.time() - out_us / 1e6
                best = t0 if best is None else min(best, t0)
                self.started_at = best

    def wait_started(self, timeout_s: float = 10.0) -> float:
        deadline = time.time() + timeout_s
        while self.started_at is None:
            if self.protocol not in REPUSHED and (self.proc is None or self.proc.poll() is not None):
                raise SimulatorError("ffmpeg exited before streaming")
            if time.time() > deadline:
                raise SimulatorError(f"ffmpeg did not start streaming within {timeout_s:.0f} s")
            time.sleep(0.05)
        return self.started_at

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Kill the sender (the source dies abruptly, like a camera losing power)."""
        self._keep.clear()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        self._stop_hls()

    def emissions(self, since: float, until: float) -> list[tuple[ReadableEvent, int, float]]:
        """``(event, loop, wall time of its first readable frame)`` emitted in ``[since, until]``."""
        if self.started_at is None:
            return []
        out = []
        d = self.duration_s
        first = max(0, int((since - self.started_at) // d) - 1)
        last = int((until - self.started_at) // d) + 1
        for n in range(first, last + 1):
            for e in self.events:
                t = self.started_at + n * d + e.t_s
                if since <= t <= until:
                    out.append((e, n, t))
        return sorted(out, key=lambda x: x[2])

    def stamp(self, path: str | os.PathLike[str]) -> Path:
        """Write the emission schedule (atomically) for other processes."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "clip": str(self.clip),
            "url": self.url,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "fps": self.fps,
            "pid": self.proc.pid if self.proc else None,
            "events": [asdict(e) for e in self.events],
        }
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
        return path

    def __enter__(self) -> SimulatedCamera:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _probe(clip: Path) -> tuple[float, int]:
    import av

    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or 25)
        frames = int(s.frames or 0)
        if not frames:
            frames = sum(1 for _ in c.demux(s) if _.size)
    return fps, frames
