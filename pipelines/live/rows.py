"""Live tracks -> ``plate_reads`` / ``face_sightings`` rows, with segment ids and stable row ids.

A live stream has no file to hash, so its rows carry a *segment id* in ``video_id``: the stream
(camera) x a time slice of ``segment_s`` seconds (UTC-aligned), so versions, retention, export and
lineage treat a slice of a stream like a recorded segment (one ``videos`` row per segment,
``status = 'live'``).

Row ids are deterministic: segment + kind + the track's first observation (wall time in µs and
box) + model version. The same track gives the same id in every micro-batch (its row is written
as soon as it is confident and updated while the track grows, by MERGE on the id), and a restart
can never re-create an id (it sees other frames), so re-committing a batch is a no-op.

Observation times in live trackers are epoch seconds (wall clock at decode).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from lakehouse.ids import stable_id
from pipelines.extract.passes import SourceContext, face_row, plate_row
from pipelines.extract.tracking import Track

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class LiveCamera:
    """What a camera worker needs to know about its camera (picklable; the URL stays in the worker)."""

    camera_id: str
    agency: str
    kind: str
    url: str  # with credentials, as registered: never logged or stored
    source_uri: str  # redacted: what rows, status and logs carry
    formats: tuple[str, ...] | None = None
    options: tuple[tuple[str, str], ...] = ()


def segment_start(ts: float, segment_s: float) -> float:
    return math.floor(ts / segment_s) * segment_s


def segment_id(camera_id: str, start_epoch: float) -> str:
    """Id of the slice of ``camera_id``'s stream that starts at ``start_epoch`` (UTC seconds)."""
    return stable_id("live", camera_id, int(start_epoch))


def to_utc(epoch_s: float) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=round(epoch_s * 1_000_000))


def _key(track: Track) -> tuple[int, tuple[int, ...]]:
    first = track.first
    return round(first.t * 1_000_000), tuple(int(round(v)) for v in first.bbox)


def _ctx(cam: LiveCamera, track: Track, segment_s: float, version: str) -> tuple[SourceContext, float]:
    start = segment_start(track.first.t, segment_s)
    return SourceContext(
        segment_id(cam.camera_id, start), cam.camera_id, cam.agency, cam.source_uri, EPOCH, version
    ), start


def live_plate_row(track: Track, cam: LiveCamera, segment_s: float, version: str) -> dict[str, Any]:
    ctx, start = _ctx(cam, track, segment_s, version)
    row = plate_row(track, ctx)
    row["read_id"] = stable_id(ctx.video_id, "plate", *_key(track), version)
    row["ts"] = to_utc(row["offset_s"])
    row["offset_s"] = row["offset_s"] - start
    return row


def live_face_row(
    track: Track, cam: LiveCamera, segment_s: float, version: str, quality_floor: float
) -> dict[str, Any]:
    ctx, start = _ctx(cam, track, segment_s, version)
    row = face_row(track, ctx, quality_floor)
    row["sighting_id"] = stable_id(ctx.video_id, "face", *_key(track), version)
    row["ts"] = to_utc(row["offset_s"])
    row["offset_s"] = row["offset_s"] - start
    return row


def segment_row(
    cam: LiveCamera,
    video_id: str,
    start_epoch: float,
    segment_s: float,
    width: int,
    height: int,
    fps: float,
    version: str,
) -> dict[str, Any]:
    """The ``videos`` row of a live segment."""
    return {
        "video_id": video_id,
        "camera_id": cam.camera_id,
        "agency": cam.agency,
        "uri": cam.source_uri,
        "start_ts": to_utc(start_epoch),
        "end_ts": to_utc(start_epoch + segment_s),
        "fps": float(fps),
        "width": int(width),
        "height": int(height),
        "frames": None,
        "status": "live",
        "model_version": version,  # for source_versions (not a videos column)
    }
