"""Drive one source through an executor: decode -> sample -> motion gate -> batches -> models ->
tracks, with bounded memory.

The driver decodes while the actors infer: it keeps up to ``executor.max_inflight`` batches in
flight and only then waits (with a timeout) for one to come back, so a long video never piles up
frames. Results can come back out of order; they are fed to the trackers strictly in frame order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipelines.extract.executors import Executor
from pipelines.extract.frames import VIDEO_PLATE_DET_SIDE, FrameResult, FrameTask
from pipelines.extract.motion import MotionConfig, MotionGate
from pipelines.extract.passes import face_observation, face_tracker, plate_observation, plate_tracker
from pipelines.extract.tracking import Track
from pipelines.video.decode import VideoInfo, VideoReader

GATING_MODES = ("region", "frame", "off")


@dataclass
class RunOptions:
    sample_fps: float | None = 5.0
    gating: str = "region"  # region: detect in moving regions; frame: whole frames with motion; off
    batch_size: int = 4
    face_every: int = 2  # faces on every n-th analysed video frame (people walk; vehicles drive)
    mask_overlays: bool = True  # find burned-in clock/date overlays on the first frame and mask them
    formats: list[str] | None = None  # plate format presets of the camera
    plate_det_side: int = VIDEO_PLATE_DET_SIDE  # the plate detector's longest side on frames
    plate_second_pass: bool = False  # the reader's high-resolution second pass on empty frames
    motion: MotionConfig = field(default_factory=MotionConfig)
    timeout_s: float | None = None  # None: setting compute.batch_timeout_s

    def __post_init__(self) -> None:
        if self.gating not in GATING_MODES:
            raise ValueError(f"gating must be one of {GATING_MODES}, not {self.gating!r}")


@dataclass
class VideoRun:
    info: VideoInfo
    plate_tracks: list[Track]
    face_tracks: list[Track]
    frames_decoded: int = 0
    frames_sampled: int = 0
    frames_processed: int = 0
    pixels_share: float = 0.0  # share of sampled pixels the models looked at
    overlays: list = field(default_factory=list)  # masked overlay boxes
    seconds: float = 0.0
    model_seconds: float = 0.0


class _Ordered:
    """Feeds frame results to the trackers in sequence order."""

    def __init__(self) -> None:
        self.plates = plate_tracker()
        self.faces = face_tracker()
        self.times: dict[int, float] = {}
        self.buffer: dict[int, FrameResult] = {}
        self.next = 0
        self.model_seconds = 0.0

    def add(self, results: Iterable[FrameResult]) -> None:
        for r in results:
            self.buffer[r.seq] = r
            self.model_seconds += r.seconds
        while self.next in self.buffer:
            r = self.buffer.pop(self.next)
            t = self.times.pop(self.next)
            self.plates.update(t, [plate_observation(r.seq, t, p) for p in r.plates])
            self.faces.update(t, [face_observation(r.seq, t, f) for f in r.faces])
            self.next += 1


def run_video(
    path: str,
    executor: Executor,
    opts: RunOptions,
    on_frames: Callable[[int], None] | None = None,
    reader: VideoReader | None = None,
) -> VideoRun:
    """Decode, gate, infer and track one video. Raises :class:`~pipelines.video.DecodeError` for bad
    input and :class:`~pipelines.extract.actors.PoolError` when the actors fail; nothing is kept
    from a source that raised."""
    t0 = time.perf_counter()
    own = reader is None
    reader = reader or VideoReader(path, sample_fps=opts.sample_fps)
    info = reader.info
    gate = MotionGate(info.width, info.height, opts.motion) if opts.gating != "off" else None
    order = _Ordered()
    batch: list[FrameTask] = []
    masks: list | None = None
    seq = 0
    pixels_seen = 0.0
    sampled_pixels = 0.0
    reported = 0

    def drain(block: bool) -> None:
        while executor.pending() and (block or executor.pending() >= executor.max_inflight):
            for _, results in executor.wait(opts.timeout_s):
                order.add(results)
            if not block:
                break

    try:
        for frame in reader:
            if masks is None:
                masks = executor.find_overlays(frame.rgb()) if opts.mask_overlays else []
                if gate is not None:
                    gate.ignore = list(masks)
            sampled_pixels += 1.0
            regions = None
            if gate is not None:
                d = gate.update(frame.gray(opts.motion.width), frame.offset_s)
                if not d.process:
                    frame.release()
                    continue
                if opts.gating == "region" and d.regions is not None:
                    regions = d.regions
                    pixels_seen += sum((b[2] - b[0]) * (b[3] - b[1]) for b in regions) / (
                        info.width * info.height
                    )
                else:
                    pixels_seen += 1.0
            else:
                pixels_seen += 1.0
            order.times[seq] = frame.offset_s
            batch.append(
                FrameTask(
                    seq,
                    frame.rgb(),
                    regions,
                    faces=seq % max(1, opts.face_every) == 0,
                    masks=masks or None,
                    plate_det_side=opts.plate_det_side,
                    second_pass=opts.plate_second_pass,
                )
            )
            frame.release()
            seq += 1
            if len(batch) >= opts.batch_size:
                while executor.pending() >= executor.max_inflight:
                    drain(block=False)
                executor.submit(batch, opts.formats)
                batch = []
            if on_frames is not None and reader.decoded - reported >= 25:
                on_frames(reader.decoded - reported)
                reported = reader.decoded
        if batch:
            while executor.pending() >= executor.max_inflight:
                drain(block=False)
            executor.submit(batch, opts.formats)
        drain(block=True)
    except BaseException:
        executor.cancel()
        raise
    finally:
        if on_frames is not None and reader.decoded > reported:
            on_frames(reader.decoded - reported)
        if own:
            reader.close()
    if order.next != seq:
        raise RuntimeError(f"internal: {seq - order.next} frame result(s) missing")
    return VideoRun(
        info=info,
        plate_tracks=order.plates.finish(),
        face_tracks=order.faces.finish(),
        frames_decoded=reader.decoded,
        frames_sampled=reader.sampled,
        frames_processed=seq,
        pixels_share=pixels_seen / max(sampled_pixels, 1.0),
        overlays=list(masks or []),
        seconds=time.perf_counter() - t0,
        model_seconds=order.model_seconds,
    )


def run_images(
    images: Iterable[tuple[Any, Any]],
    executor: Executor,
    opts: RunOptions,
    on_done: Callable[[int], None] | None = None,
) -> dict[Any, FrameResult]:
    """Run the models on stills: ``images`` is ``[(key, rgb)]``; returns ``{key: FrameResult}``.
    Each still is read with the reader's extra high-resolution pass."""
    keys: dict[int, Any] = {}
    out: dict[Any, FrameResult] = {}

    def take(block: bool) -> None:
        while executor.pending() and (block or executor.pending() >= executor.max_inflight):
            for _, results in executor.wait(opts.timeout_s):
                for r in results:
                    out[keys[r.seq]] = r
                if on_done is not None:
                    on_done(len(results))
            if not block:
                break

    batch: list[FrameTask] = []
    try:
        for seq, (key, rgb) in enumerate(images):
            keys[seq] = key
            batch.append(FrameTask(seq, rgb, None, still=True))
            if len(batch) >= opts.batch_size:
                while executor.pending() >= executor.max_inflight:
                    take(block=False)
                executor.submit(batch, opts.formats)
                batch = []
        if batch:
            while executor.pending() >= executor.max_inflight:
                take(block=False)
            executor.submit(batch, opts.formats)
        take(block=True)
    except BaseException:
        executor.cancel()
        raise
    return out
