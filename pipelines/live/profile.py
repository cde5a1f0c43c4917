"""The live profile: what a live camera analyses, and how it keeps up.

Recorded video is processed for accuracy (every sampled frame goes through the models, however
long it takes). A live camera must keep up instead: it decodes every frame (inter-coded video
cannot skip), samples ``sample_fps`` of them, gates them on motion, and keeps at most
``max_inflight`` frames at the shared model pool. When the pool is behind, the newest sampled frame
replaces the one waiting to be sent (older frames are dropped and counted): the analysis lag stays
bounded by ``max_inflight`` frames' model time instead of growing without end. While the pool is
behind, cameras with a pass under way can come first (``prioritise``, off by default: measured
without a gain so far): a camera with no open track still short of a confident read then sends at
most ``idle_fps`` frames, one at a time. When decoding itself
falls behind (a starved CPU), packets more than ``max_decode_lag_s`` late are dropped undecoded up
to the next keyframe (:class:`~pipelines.live.source.LiveSource`).

The defaults (3 fps, faces every 3rd analysed frame, plate detector at 480 px) come from the
measured model cost per 720p frame on one core (plates ~100 ms at 480 px vs ~160 ms at 640; faces
~370 ms, most of it embedding every detected face): about 0.7 of a core per busy camera, so two
cameras fit on two cores (``benchmarks/live.py``). Alarms are raised every ``alarm_every_s`` from
the rows the cameras emit, without waiting for the ``commit_every_s`` micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiveProfile:
    sample_fps: float = 3.0
    face_every: int = 3
    plate_det_side: int = 480  # the plate detector's longest side on live frames (recorded: 640)
    alarm_every_s: float = 0.25  # new rows are matched against the watchlist this often
    max_decode_lag_s: float = 2.0  # decoding this far behind: drop packets up to the next keyframe
    gating: str = "region"
    region_step_px: int = 64  # motion regions grown to multiples of this (pipelines/live/regions.py; 0: off)
    max_inflight: int = 2
    commit_every_s: float = 2.0
    segment_s: float = 600.0
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    offline_after_s: float = 10.0
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    emit_every_s: float = 0.25  # an open track's row is refreshed at most this often
    batch_timeout_s: float = 900.0  # settings compute.batch_timeout_s
    mask_overlays: bool = True
    #: when the pool is behind (analysis lag over ``behind_s``), a camera with no open track still
    #: waiting for a confident read sends at most ``idle_fps`` frames, one at a time: the pool's
    #: time goes to the cameras where a pass is under way (False, the default: every camera at
    #: ``sample_fps``; a starved-pool test did not show it reading more passes, RESULTS.md)
    prioritise: bool = False
    behind_s: float = 1.0
    idle_fps: float = 1.0
    face_confident_quality: float = 0.3  # settings watchlist.face_alarm_quality_min

    @classmethod
    def from_settings(cls, home: str | None = None, **overrides: object) -> LiveProfile:
        from lakehouse.settings import get_settings

        settings = get_settings(home)
        live = settings.live
        values = {
            k: getattr(live, k)
            for k in (
                "sample_fps",
                "face_every",
                "plate_det_side",
                "alarm_every_s",
                "max_decode_lag_s",
                "gating",
                "region_step_px",
                "max_inflight",
                "commit_every_s",
                "segment_s",
                "open_timeout_s",
                "read_timeout_s",
                "offline_after_s",
                "backoff_max_s",
                "prioritise",
                "behind_s",
                "idle_fps",
            )
        }
        values["batch_timeout_s"] = settings.compute.batch_timeout_s
        values["face_confident_quality"] = settings.watchlist.face_alarm_quality_min
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
