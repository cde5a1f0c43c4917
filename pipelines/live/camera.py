"""One live camera: a light Ray actor that decodes, samples and gates, and sends the frames worth
looking at to the SHARED pool of model actors (:mod:`pipelines.extract.actors`, the same
:class:`~pipelines.extract.frames.FrameProcessor` as recorded video).

The worker runs its loop in a thread started by ``__init__`` (so a restarted actor resumes by
itself): connect -> decode packet by packet -> sample -> motion gate -> at most
``profile.max_inflight`` frames at the models (the newest waiting frame replaces an older one when
the models are behind; with ``profile.prioritise``, while they are behind a camera with no pass
under way sends at most ``profile.idle_fps`` frames, one at a time, see
:meth:`CameraWorker._idle_while_behind`) -> results in frame order -> trackers -> rows. A track's row is emitted as
soon as the track is confident and refreshed while it grows (same id), and a last time when it
closes. The driver collects rows and status with :meth:`CameraWorker.drain` every micro-batch.

Outages (open failure, read timeout, quiet end) close every open track, then the worker reconnects
with exponential backoff (``backoff_min_s`` doubling up to ``backoff_max_s``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

from pipelines.extract.frames import FrameResult, FrameTask
from pipelines.extract.motion import MotionConfig, MotionGate
from pipelines.extract.passes import (
    PlateFilter,
    face_observation,
    face_tracker,
    plate_observation,
    plate_tracker,
)
from pipelines.extract.tracking import Track, Tracker
from pipelines.live.profile import LiveProfile
from pipelines.live.regions import bucket_regions
from pipelines.live.rows import LiveCamera, live_face_row, live_plate_row, segment_row
from pipelines.live.source import LiveSource, SourceOutage
from pipelines.live.urls import redact_text

log = logging.getLogger(__name__)


class CameraWorker:
    """Ray actor body for one live camera (``num_cpus=0``: decoding and gating are light)."""

    def __init__(
        self,
        cam: LiveCamera,
        models: list[Any],
        profile: LiveProfile,
        model_version: str,
        quality_floor: float,
        autostart: bool = True,
    ):
        self.cam = cam
        self.models = list(models)
        self.profile = profile
        self.version = model_version
        self.quality_floor = quality_floor
        self.filter = PlateFilter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._plates: dict[str, dict[str, Any]] = {}
        self._faces: dict[str, dict[str, Any]] = {}
        self._segments: dict[str, dict[str, Any]] = {}
        self._alarm_plates: dict[str, dict[str, Any]] = {}  # rows emitted since the last drain_alarms
        self._alarm_faces: dict[str, dict[str, Any]] = {}
        self.state = "connecting"
        self.error: str | None = None
        self.connected_at: float | None = None
        self.last_frame_ts: float | None = None  # when the last frame was sent (its anchored timestamp)
        self.last_arrival_ts: float | None = None  # when it was decoded here
        self.last_analysed_ts: float | None = None
        self.lag_s: float | None = None
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.frames_analysed = 0
        self.frames_dropped = 0
        self.frames_failed = 0
        self.frames_deferred = 0  # sent at idle_fps: the pool was behind and no pass was under way
        self.skipped_packets = 0
        self.packets_dropped_behind = 0  # decoding fell behind: packets dropped up to a keyframe
        self.reconnects = 0
        self.started_at = time.time()
        self._cpu0 = time.process_time()
        self.busy_s = 0.0  # thread CPU time (decode + gate + tracking)
        self.width = self.height = 0
        self.fps = 0.0
        self._rr = abs(hash(cam.camera_id))
        self._reset_tracks()
        self._thread = threading.Thread(target=self._run, name=f"live-{cam.camera_id}", daemon=True)
        if autostart:
            self._thread.start()

    # ------------------------------------------------------------------ driver calls
    def ping(self) -> str:
        return self.cam.camera_id

    def drain(self) -> dict[str, Any]:
        """Rows produced since the last call (each id once, latest version) and the status."""
        with self._lock:
            out = {
                "plates": list(self._plates.values()),
                "faces": list(self._faces.values()),
                "segments": list(self._segments.values()),
                "status": self._status(),
            }
            self._plates, self._faces, self._segments = {}, {}, {}
        return out

    def drain_alarms(self) -> dict[str, list[dict[str, Any]]]:
        """Rows emitted since the last call, for the driver's alarm step (which does not wait for
        the micro-batch commit); :meth:`drain` still hands every row to the committer."""
        with self._lock:
            out = {"plates": list(self._alarm_plates.values()), "faces": list(self._alarm_faces.values())}
            self._alarm_plates, self._alarm_faces = {}, {}
        return out

    def stop(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Stop reading, finish the frames at the models, close every track; the last rows."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        return self.drain()

    # ------------------------------------------------------------------ loop
    def _reset_tracks(self) -> None:
        self.plate_tracks: Tracker = plate_tracker()
        self.face_tracks: Tracker = face_tracker()
        self._inflight: dict[Any, list[int]] = {}  # ref -> seqs
        self._sent_at: dict[Any, float] = {}
        self._times: dict[int, float] = {}
        self._buffer: dict[int, FrameResult] = {}
        self._pending: tuple[float, Any, Any] | None = None
        self._seq = 0
        self._next = 0
        self._gate: MotionGate | None = None
        self._masks: list = []
        self._masks_done = False
        self._overlay_ref: Any = None
        self._last_sample = -1e18
        self._last_sent = -1e18
        self._analysed_times: deque[float] = deque(maxlen=256)

    def _run(self) -> None:
        backoff = self.profile.backoff_min_s
        cpu0 = time.thread_time()
        while not self._stop.is_set():
            src = LiveSource(
                self.cam.url,
                self.profile.open_timeout_s,
                self.profile.read_timeout_s,
                dict(self.cam.options),
                max_decode_lag_s=self.profile.max_decode_lag_s,
            )
            dropped_before = self.packets_dropped_behind
            got_frames = False
            try:
                src.open()
                self.width, self.height, self.fps = src.width, src.height, src.fps
                for lf in src.frames():
                    if self._stop.is_set():
                        break
                    if not got_frames:
                        got_frames = True
                        backoff = self.profile.backoff_min_s
                        with self._lock:
                            self.state, self.error, self.connected_at = "live", None, time.time()
                    self._on_frame(lf.frame, lf.wall_ts)
                    self.skipped_packets = src.skipped_packets
                    self.packets_dropped_behind = dropped_before + src.dropped_behind
                    self.busy_s = time.thread_time() - cpu0
            except SourceOutage as exc:
                self._outage(str(exc))
            except Exception as exc:  # noqa: BLE001 - a bug must not end the camera: log, reconnect
                import traceback

                log.error(
                    "camera %s: unexpected error\n%s",
                    self.cam.camera_id,
                    redact_text(traceback.format_exc(), self.cam.url),  # a message may carry the URL
                )
                self._outage(redact_text(f"{type(exc).__name__}: {exc}", self.cam.url))
            finally:
                src.close()
            self._finish()
            self.busy_s = time.thread_time() - cpu0
            if self._stop.is_set():
                break
            self.reconnects += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.profile.backoff_max_s)
        with self._lock:
            self.state = "stopped"

    def _outage(self, why: str) -> None:
        log.warning("camera %s: %s", self.cam.camera_id, why)
        with self._lock:
            self.state, self.error = "reconnecting", why

    # ------------------------------------------------------------------ frames
    def _on_frame(self, frame: Any, ts: float) -> None:
        self.frames_decoded += 1
        self.last_frame_ts, self.last_arrival_ts = ts, time.time()
        self._collect(0.0)
        min_gap = 1.0 / self.profile.sample_fps - 0.5 / max(self.fps or 25.0, 1.0)
        if ts - self._last_sample < min_gap:
            return
        self._last_sample = ts
        self.frames_sampled += 1
        p = self.profile
        if self._overlay_ref is None and p.mask_overlays and not self._masks_done:
            # burned-in clock overlays, found once per connection without holding up decoding
            self._overlay_ref = self._model().find_overlays.remote(frame.to_ndarray(format="rgb24"))
        self._take_overlays()
        if self._gate is None and p.gating != "off":
            cfg = MotionConfig()
            self._gate = MotionGate(frame.width, frame.height, cfg, ignore=list(self._masks))
        regions = None
        if self._gate is not None:
            w = self._gate.config.width
            h = max(2, round(frame.height * w / frame.width))
            d = self._gate.update(frame.reformat(width=w, height=h, format="gray").to_ndarray(), ts)
            if not d.process:
                return
            if p.gating == "region":
                regions = bucket_regions(d.regions, frame.width, frame.height, p.region_step_px)
        rgb = frame.to_ndarray(format="rgb24")
        if self._pending is not None:
            self.frames_dropped += 1
        self._pending = (ts, rgb, regions)
        self._send()

    def _take_overlays(self) -> None:
        import ray

        if self._overlay_ref is None or self._masks_done:
            return
        ready, _ = ray.wait([self._overlay_ref], timeout=0)
        if not ready:
            return
        self._masks_done = True
        try:
            self._masks = list(ray.get(self._overlay_ref))
        except Exception as exc:  # noqa: BLE001 - no masks is a degraded, not a failed, camera
            log.warning("camera %s: overlay detection failed: %s", self.cam.camera_id, exc)
            self._masks = []
        if self._gate is not None and self._masks:
            self._gate.ignore = list(self._masks)
            self._gate._keep = None  # rebuilt with the masks

    def _model(self) -> Any:
        self._rr += 1
        return self.models[self._rr % len(self.models)]

    def _needs_reads(self) -> bool:
        """A pass under way: an open plate track not yet confident (:class:`PlateFilter`), or an
        open face track whose best shot is still under the alarm quality floor."""
        if any(not self.filter.keep(tr) for tr in self.plate_tracks.active):
            return True
        floor = self.profile.face_confident_quality
        return any(tr.state.get("best_quality", 0.0) < floor for tr in self.face_tracks.active)

    def _idle_while_behind(self) -> bool:
        """The pool is behind and nothing here waits for a read: this camera yields its turn."""
        p = self.profile
        return p.prioritise and (self.lag_s or 0.0) > p.behind_s and not self._needs_reads()

    def _send(self) -> None:
        if self._pending is None:
            return
        idle = self._idle_while_behind()
        if idle and self._pending[0] - self._last_sent < 1.0 / self.profile.idle_fps:
            return  # the waiting frame stays (a newer one replaces it) until its turn comes
        if len(self._inflight) >= (1 if idle else self.profile.max_inflight):
            return
        self.frames_deferred += idle
        ts, rgb, regions = self._pending
        self._last_sent = ts
        self._pending = None
        seq = self._seq
        # faces on every face_every-th frame SENT (not sampled): when frames are dropped, the face
        # frames are not dropped with them by an unlucky alignment
        faces = seq % max(1, self.profile.face_every) == 0
        self._seq += 1
        self._times[seq] = ts
        task = FrameTask(
            seq,
            rgb,
            regions,
            faces=faces,
            masks=self._masks or None,
            plate_det_side=self.profile.plate_det_side,
        )
        ref = self._model().process.remote([task], list(self.cam.formats) if self.cam.formats else None)
        self._inflight[ref] = [seq]
        self._sent_at[ref] = time.time()

    def _collect(self, timeout_s: float) -> None:
        """Take finished batches (waiting up to ``timeout_s`` for one), feed them in order."""
        import ray

        if not self._inflight:
            return
        ready, _ = ray.wait(list(self._inflight), num_returns=len(self._inflight), timeout=timeout_s)
        now = time.time()
        stuck = [
            r
            for r in self._inflight
            if r not in ready and now - self._sent_at[r] > self.profile.batch_timeout_s
        ]
        for ref in list(ready) + stuck:
            seqs = self._inflight.pop(ref)
            self._sent_at.pop(ref, None)
            try:
                results = ray.get(ref, timeout=0 if ref in ready else 0.01)
            except Exception as exc:  # noqa: BLE001 - an actor died or a model failed: lose these frames only
                log.warning("camera %s: model batch failed: %s", self.cam.camera_id, exc)
                self.frames_failed += len(seqs)
                if ref not in ready:
                    ray.cancel(ref)
                results = [FrameResult(s) for s in seqs]
            for r in results:
                self._buffer[r.seq] = r
        self._feed()
        self._send()

    def _feed(self) -> None:
        while self._next in self._buffer:
            r = self._buffer.pop(self._next)
            t = self._times.pop(self._next)
            self._next += 1
            self.plate_tracks.update(t, [plate_observation(r.seq, t, x) for x in r.plates])
            self.face_tracks.update(t, [face_observation(r.seq, t, x) for x in r.faces])
            self.frames_analysed += 1
            now = time.time()
            self._analysed_times.append(now)
            self.last_analysed_ts, self.lag_s = t, now - t
            self._emit(now, closing=False)

    def _finish(self) -> None:
        """End of a connection: wait for the frames at the models, close every track, reset."""
        deadline = time.time() + min(self.profile.batch_timeout_s, 60.0)
        self._pending = None
        while self._inflight and time.time() < deadline:
            self._collect(0.5)
        for ref in list(self._inflight):  # never came back: these frames are lost
            self.frames_failed += len(self._inflight.pop(ref))
        self._buffer.clear()
        self._emit(time.time(), closing=True)
        self._reset_tracks()

    # ------------------------------------------------------------------ rows
    def _emit(self, now: float, closing: bool) -> None:
        p = self.profile
        rows: list[tuple[str, dict[str, Any]]] = []
        for tracker, kind in ((self.plate_tracks, "plate"), (self.face_tracks, "face")):
            closed, tracker.done = tracker.done, []
            if closing:
                closed, tracker.active = closed + tracker.active, []
            for tr in closed:
                if self._keep(tr, kind):
                    rows.append((kind, self._row(tr, kind)))
            for tr in tracker.active:
                if not self._keep(tr, kind) or tr.state.get("emitted_len") == len(tr):
                    continue
                if now - tr.state.get("emitted_at", -1e18) < p.emit_every_s:
                    continue
                tr.state["emitted_len"], tr.state["emitted_at"] = len(tr), now
                rows.append((kind, self._row(tr, kind)))
        if not rows:
            return
        with self._lock:
            for kind, row in rows:
                if kind == "plate":
                    self._plates[row["read_id"]] = self._alarm_plates[row["read_id"]] = row
                else:
                    self._faces[row["sighting_id"]] = self._alarm_faces[row["sighting_id"]] = row
                vid = row["video_id"]
                if vid not in self._segments:  # the slice of the track's first observation
                    start = row["ts"].timestamp() - row["offset_s"]
                    self._segments[vid] = segment_row(
                        self.cam, vid, start, p.segment_s, self.width, self.height, self.fps, self.version
                    )

    def _keep(self, tr: Track, kind: str) -> bool:
        return self.filter.keep(tr) if kind == "plate" else True

    def _row(self, tr: Track, kind: str) -> dict[str, Any]:
        if kind == "plate":
            return live_plate_row(tr, self.cam, self.profile.segment_s, self.version)
        return live_face_row(tr, self.cam, self.profile.segment_s, self.version, self.quality_floor)

    # ------------------------------------------------------------------ status
    def _status(self) -> dict[str, Any]:
        now = time.time()
        recent = [t for t in self._analysed_times if now - t <= 10.0]
        window = min(10.0, max(now - (self.connected_at or now), 1e-3))
        return {
            "camera_id": self.cam.camera_id,
            "uri": self.cam.source_uri,
            "worker_state": self.state,
            "error": self.error,
            "last_frame_ts": self.last_frame_ts,
            "last_arrival_ts": self.last_arrival_ts,
            "last_analysed_ts": self.last_analysed_ts,
            "lag_s": self.lag_s,
            "fps_analysed": len(recent) / window if recent else 0.0,
            "frames_decoded": self.frames_decoded,
            "frames_sampled": self.frames_sampled,
            "frames_analysed": self.frames_analysed,
            "frames_dropped": self.frames_dropped,
            "frames_failed": self.frames_failed,
            "frames_deferred": self.frames_deferred,
            "skipped_packets": self.skipped_packets,
            "packets_dropped_behind": self.packets_dropped_behind,
            "reconnects": self.reconnects,
            "inflight": len(self._inflight),
            "busy_s": self.busy_s,
            "cpu_s": time.process_time() - self._cpu0,  # this actor process (decode, gate, track)
            "pid": os.getpid(),
            "started_at": self.started_at,
            "width": self.width,
            "height": self.height,
        }
