"""The camera's frame policy when the model pool is behind (no Ray, no models: the scheduling
decision only). With ``live.prioritise`` on, a camera with a pass under way (an open plate track short of a confident read, a
face track under the alarm quality floor) keeps sending at the sampling rate; an idle one yields
(one frame at a time, at most ``idle_fps``); faces go on every ``face_every``-th frame sent."""

from __future__ import annotations

import numpy as np

from pipelines.extract.passes import face_observation, plate_observation
from pipelines.live.camera import CameraWorker
from pipelines.live.profile import LiveProfile
from pipelines.live.rows import LiveCamera


class _Recorder:
    """Stands in for a pool actor handle: records what the camera sends (``actor.process.remote``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, bool]] = []
        self.process = self

    def remote(self, tasks, formats):  # noqa: ANN001, ANN201 - Ray's call shape
        self.sent.append((tasks[0].seq, tasks[0].faces))
        return object()


def _camera(**profile) -> tuple[CameraWorker, _Recorder]:
    cam = LiveCamera("CAM-1", "municipal", "street", "udp://127.0.0.1:1", "udp://127.0.0.1:1")
    pool = _Recorder()
    worker = CameraWorker(cam, [pool], LiveProfile(**profile), "v", 0.2, autostart=False)
    return worker, pool


def _plate(score: float) -> dict:
    return {"text": "ABC1234", "score": score, "bbox": (10.0, 10.0, 60.0, 30.0), "candidates": []}


def _face(quality: float) -> dict:
    return {
        "quality": quality,
        "bbox": (100.0, 10.0, 140.0, 50.0),
        "det_score": 0.99,
        "embedding": np.zeros(128),
    }


def _offer(worker: CameraWorker, ts: float) -> None:
    worker._pending = (ts, np.zeros((4, 4, 3), np.uint8), None)
    worker._send()


def test_an_idle_camera_yields_only_while_the_pool_is_behind():
    worker, pool = _camera(prioritise=True, behind_s=1.0, idle_fps=1.0, max_inflight=2)
    worker.lag_s = 0.3  # keeping up: every frame goes, two at a time
    _offer(worker, 0.0)
    _offer(worker, 0.33)
    assert len(pool.sent) == 2 and not worker._idle_while_behind()
    worker._inflight.clear()
    worker.lag_s = 4.0  # behind, nothing waiting for a read: one frame at a time, at most 1 per second
    assert worker._idle_while_behind()
    _offer(worker, 0.66)
    assert len(pool.sent) == 2 and worker._pending is not None  # 0.33 s after the last: waits
    _offer(worker, 1.4)
    assert len(pool.sent) == 3 and worker.frames_deferred == 1
    _offer(worker, 2.5)
    assert len(pool.sent) == 3, "one frame at a time while idle"


def test_a_pass_under_way_keeps_the_camera_at_full_rate():
    worker, pool = _camera(prioritise=True, behind_s=1.0)
    worker.lag_s = 4.0
    worker.plate_tracks.update(0.0, [plate_observation(0, 0.0, _plate(0.4))])  # not yet confident
    assert worker._needs_reads() and not worker._idle_while_behind()
    _offer(worker, 0.1)
    _offer(worker, 0.2)
    assert len(pool.sent) == 2
    worker.plate_tracks.update(0.3, [plate_observation(1, 0.3, _plate(0.95))])  # read: confident
    assert not worker._needs_reads() and worker._idle_while_behind()
    worker.face_tracks.update(0.3, [face_observation(1, 0.3, _face(0.1))])  # a face under the floor
    assert worker._needs_reads()
    worker.face_tracks.update(0.6, [face_observation(2, 0.6, _face(0.8))])
    assert not worker._needs_reads()


def test_prioritise_off_and_faces_on_every_third_frame_sent():
    worker, pool = _camera(max_inflight=16, face_every=3)  # prioritise off: the default
    worker.lag_s = 9.0
    assert not worker._idle_while_behind()
    for k in range(7):
        _offer(worker, k * 0.05)
    assert [faces for _, faces in pool.sent] == [True, False, False, True, False, False, True]
