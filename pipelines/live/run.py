"""``run_streams``: the live cameras of the registry -> tables, alerts and status, until stopped.

The driver process starts (or joins) Ray, one shared model pool
(:func:`pipelines.extract.actors.get_pool`, actors restarted by Ray when they crash) and one light
:class:`~pipelines.live.camera.CameraWorker` actor per camera (``max_restarts``: a crashed camera
actor comes back and reconnects by itself). Every ``commit_every_s`` it drains each worker's rows
and commits them (:class:`~pipelines.live.commit.MicroBatchCommitter`: one committer per table,
MERGE on ids, then the alarm step), and writes each camera's status
(:mod:`pipelines.live.status`). A batch whose commit failed is kept and merged again with the next.

Alarms do not wait for the micro-batch: an alarm thread takes the rows the cameras emitted every
``alarm_every_s`` (0.25 s), matches them against the watchlist and writes the alerts at once
(:meth:`~pipelines.live.commit.MicroBatchCommitter.alarm`); an alert wakes the committer, so the
alert's row is committed right after it. The commit's own alarm step stays as the backstop.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from pipelines.live.commit import BatchResult, MicroBatchCommitter
from pipelines.live.profile import LiveProfile
from pipelines.live.rows import LiveCamera
from pipelines.live.status import camera_state, home_of, write_status
from pipelines.live.urls import redact

log = logging.getLogger(__name__)

CAMERA_RESTARTS = 5
MODEL_RESTARTS = 3
MAX_ERRORS = 100  # errors a report keeps (a runner lives for days: memory stays flat)


class StreamError(ValueError):
    """Nothing to stream (no such camera, no ``stream_uri``)."""


@dataclass
class StreamReport:
    cameras: list[str]
    plate_reads: int = 0  # row writes (a track's row may be written several times while it grows)
    face_sightings: int = 0
    batches: int = 0
    alerts: int = 0
    seconds: float = 0.0
    device: str = ""
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS
    failed_commits: int = 0
    compactions: int = 0  # tables compacted and checkpointed (``live.compact_every_s``)
    status: list[dict[str, Any]] = field(default_factory=list)


def live_cameras(lh: Lakehouse, camera_ids: Sequence[str] | None = None) -> list[LiveCamera]:
    """Registry cameras with a ``stream_uri`` (only ``camera_ids`` when given)."""
    from pipelines.extract.ingest import CameraSettings, plate_formats

    rows: list[dict[str, Any]] = []
    if lh.exists("cameras"):
        rows = (
            lh.scan("cameras")
            .select("camera_id", "agency", "kind", "plate_format", "stream_uri")
            .collect()
            .to_dicts()
        )
    by_id = {r["camera_id"]: r for r in rows}
    if camera_ids:
        unknown = [c for c in camera_ids if c not in by_id]
        if unknown:
            raise StreamError(f"unknown camera(s): {', '.join(unknown)}")
        no_uri = [c for c in camera_ids if not by_id[c]["stream_uri"]]
        if no_uri:
            raise StreamError(f"camera(s) without a stream_uri: {', '.join(no_uri)}")
        chosen = [by_id[c] for c in camera_ids]
    else:
        chosen = [r for r in rows if r["stream_uri"]]
        if not chosen:
            raise StreamError(
                "no camera in the registry has a stream_uri (import cameras with a stream_uri column)"
            )
    out = []
    for r in chosen:
        cs = CameraSettings(
            r["camera_id"],
            r["agency"] or "municipal",
            (r["kind"] or "street").lower(),
            r["plate_format"] or None,
            True,
        )
        formats = plate_formats(cs)
        out.append(
            LiveCamera(
                cs.camera_id,
                cs.agency,
                cs.kind,
                r["stream_uri"],
                redact(r["stream_uri"]),
                tuple(formats) if formats else None,
            )
        )
    return out


def run_streams(
    lh: Lakehouse,
    camera_ids: Sequence[str] | None = None,
    *,
    duration_s: float | None = None,
    home: str | None = None,
    profile: LiveProfile | None = None,
    workers: int | None = None,
    device: str = "auto",
    stop: threading.Event | None = None,
    on_batch: Callable[[BatchResult, list[dict[str, Any]]], None] | None = None,
    on_alerts: Callable[[list[dict[str, Any]]], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> StreamReport:
    """Stream the cameras until ``duration_s`` passed or ``stop`` is set; returns what was done.

    ``on_alerts`` gets every alert raised (by the alarm loop or a commit's alarm step) with its
    ``committed_at``."""
    import ray

    from pipelines.extract.actors import PoolConfig, get_pool
    from pipelines.extract.version import EXTRACTION_MODEL_VERSION
    from pipelines.live.camera import CameraWorker
    from pipelines.memory import HeapTrimmer
    from pipelines.ray_runtime import ensure_ray

    t0 = time.time()
    say = say or log.info
    cams = live_cameras(lh, camera_ids)
    profile = profile or LiveProfile.from_settings(home)
    home_path = home if home is not None else str(home_of(lh))
    stop = stop or threading.Event()
    report = StreamReport(cameras=[c.camera_id for c in cams])
    for name in ("plate_reads", "face_sightings", "videos"):
        lh.ensure(name)

    for cam in cams:  # the models take a while to load: say so instead of "not started"
        write_status(
            home_path,
            {
                "camera_id": cam.camera_id,
                "uri": cam.source_uri,
                "state": "reconnecting",
                "worker_state": "connecting",
                "error": "starting: loading the models",
                "last_frame_ts": None,
                "lag_s": None,
                "fps_analysed": None,
                "commit_every_s": max(profile.commit_every_s, 60.0),
            },
        )
    ensure_ray()
    pool = get_pool(
        PoolConfig.for_settings(lh.settings, workers=workers, device=device, max_restarts=MODEL_RESTARTS)
    )
    report.device = pool.device
    say(
        f"model pool: {pool.size} actor(s) on {pool.device}; {len(cams)} camera(s): "
        + ", ".join(f"{c.camera_id} ({c.source_uri})" for c in cams)
    )
    remote = ray.remote(CameraWorker).options(num_cpus=0, max_restarts=CAMERA_RESTARTS, max_concurrency=4)
    workers_by_cam = {
        c.camera_id: remote.remote(c, pool.actors, profile, EXTRACTION_MODEL_VERSION, pool.quality_floor)
        for c in cams
    }
    last: dict[str, dict[str, Any]] = {}
    committer = MicroBatchCommitter(lh)
    from pipelines.movement.live import stream_hook  # live counts / convoys (live.movement_every_s)

    movement = stream_hook(lh)
    if movement is not None:
        committer.on_commit.append(movement)
    carry: tuple[list, list, list] = ([], [], [])
    ray.get([h.ping.remote() for h in workers_by_cam.values()], timeout=120)
    deadline = time.time() + duration_s if duration_s else math.inf  # streaming time, after the models loaded

    def collect(calls: dict[str, Any], timeout_s: float) -> tuple[list, list, list]:
        plates, faces, segments = list(carry[0]), list(carry[1]), list(carry[2])
        for cam_id, ref in calls.items():
            try:
                out = ray.get(ref, timeout=timeout_s)
            except Exception as exc:  # noqa: BLE001 - a restarting camera actor: its status says so
                st = dict(last.get(cam_id) or {"camera_id": cam_id, "started_at": t0, "last_frame_ts": None})
                st.update(worker_state="restarting", error=f"camera worker unavailable: {type(exc).__name__}")
                last[cam_id] = st
                continue
            plates += out["plates"]
            faces += out["faces"]
            segments += out["segments"]
            last[cam_id] = out["status"]
        return plates, faces, segments

    def commit(rows: tuple[list, list, list], final: bool) -> None:
        nonlocal carry
        try:
            res = committer.commit(*rows)
        except Exception as exc:  # noqa: BLE001 - keep the rows, merge them again next time
            if len(report.errors) < MAX_ERRORS:  # a store down for hours: the first ones tell
                report.errors.append(f"commit failed: {type(exc).__name__}: {exc}")
            report.failed_commits += 1
            carry = rows
            return
        carry = ([], [], [])
        report.batches += 1
        report.plate_reads += res.plate_reads
        report.face_sightings += res.face_sightings
        report.alerts += len(res.alerts)
        statuses = write_statuses(final)
        if res.alerts and on_alerts is not None:
            on_alerts(res.alerts)
        if on_batch is not None:
            on_batch(res, statuses)

    alarms_stop = threading.Event()
    wake = threading.Event()  # the alarm loop raised an alert: commit its rows now

    def alarm_loop() -> None:
        """Every ``alarm_every_s``: the rows the cameras emitted since the last round -> the
        watchlist -> alerts, without waiting for the micro-batch commit."""
        while not alarms_stop.wait(profile.alarm_every_s):
            plates: list[dict[str, Any]] = []
            faces: list[dict[str, Any]] = []
            refs = [h.drain_alarms.remote() for h in workers_by_cam.values()]
            for ref in refs:
                try:
                    out = ray.get(ref, timeout=5.0)
                except Exception:  # noqa: BLE001 - a restarting camera: the commit's alarm step covers it
                    continue
                plates += out["plates"]
                faces += out["faces"]
            if not plates and not faces:
                continue
            try:
                alerts = committer.alarm(plates, faces)
            except Exception as exc:  # noqa: BLE001 - the commit's alarm step is the backstop
                log.warning("live alarm step failed: %s", exc)
                continue
            if alerts:
                report.alerts += len(alerts)
                wake.set()
                if on_alerts is not None:
                    on_alerts(alerts)

    alarms = threading.Thread(target=alarm_loop, name="live-alarms", daemon=True)

    def write_statuses(final: bool) -> list[dict[str, Any]]:
        now = time.time()
        out = []
        for cam in cams:
            st = dict(
                last.get(cam.camera_id)
                or {
                    "camera_id": cam.camera_id,
                    "worker_state": "connecting",
                    "last_frame_ts": None,
                    "started_at": t0,
                }
            )
            st["uri"] = cam.source_uri
            st["state"] = camera_state(
                "stopped" if final else st.get("worker_state", "connecting"),
                st.get("last_frame_ts"),
                float(st.get("started_at") or t0),
                now,
                profile.offline_after_s,
                st.get("last_arrival_ts"),
            )
            if final:
                st["error"] = "stream runner stopped"
            st["commit_every_s"] = profile.commit_every_s
            try:
                write_status(home_path, st)
            except OSError as exc:
                log.warning("cannot write status of %s: %s", cam.camera_id, exc)
            out.append(st)
        report.status = out
        return out

    try:
        alarms.start()
        next_tick = time.time() + profile.commit_every_s
        compact_every_s = lh.settings.live.compact_every_s
        next_compact = time.time() + compact_every_s
        trimmer = HeapTrimmer(every_s=30.0)  # the driver's C heap too (Arrow, delta-rs, PyAV buffers)
        while not stop.is_set() and time.time() < deadline:
            # a micro-batch every commit_every_s, or at once when an alert's row is waiting
            while not (stop.is_set() or wake.is_set()) and time.time() < min(next_tick, deadline):
                wake.wait(min(0.1, max(0.0, min(next_tick, deadline) - time.time())))
            wake.clear()
            if stop.is_set() or time.time() >= deadline:
                break
            next_tick = time.time() + profile.commit_every_s
            calls = {c: h.drain.remote() for c, h in workers_by_cam.items()}
            commit(collect(calls, timeout_s=5.0), final=False)
            if compact_every_s and time.time() >= next_compact:
                next_compact = time.time() + compact_every_s
                report.compactions += len(committer.compact())
            trimmer.maybe()
    finally:
        alarms_stop.set()
        if alarms.is_alive():
            alarms.join(30)
        calls = {c: h.stop.remote() for c, h in workers_by_cam.items()}
        rows = collect(calls, timeout_s=max(30.0, min(profile.batch_timeout_s, 120.0)))
        commit(rows, final=True)
        if movement is not None:  # last live counts / convoys over the final batch
            movement.close()
        if carry != ([], [], []):
            write_statuses(final=True)
        for h in workers_by_cam.values():
            try:
                ray.kill(h)
            except Exception:  # noqa: BLE001 - already gone
                pass
        report.seconds = time.time() - t0
    return report
