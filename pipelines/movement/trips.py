"""Trips: event-time session windows per plate.

A trip is a run of sightings of one plate where no two consecutive sightings are more than
``gap_s`` apart (a Beam ``Sessions`` window keyed by plate). Each trip becomes one row: plate,
first/last camera, start/end, number of sightings and the camera sequence (consecutive repeats at
the same camera collapsed, with the time the vehicle was first seen at each step).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from lakehouse.ids import stable_id
from pipelines.movement.sightings import NAMESPACE, Sighting, to_datetime


def trip_row(plate: str, sightings: Iterable[Sighting]) -> dict[str, Any]:
    """One trip row from the sightings of one session (any order)."""
    ordered = sorted(sightings, key=lambda s: (s.ts, s.camera_id))
    cameras: list[str] = []
    camera_ts: list[float] = []
    for s in ordered:
        if not cameras or cameras[-1] != s.camera_id:
            cameras.append(s.camera_id)
            camera_ts.append(s.ts)
    start, end = ordered[0].ts, ordered[-1].ts
    return {
        "trip_id": stable_id("trip", plate, f"{start:.6f}"),
        "plate": plate,
        "start": to_datetime(start),
        "end": to_datetime(end),
        "duration_s": end - start,
        "first_camera": cameras[0],
        "last_camera": cameras[-1],
        "n_sightings": len(ordered),
        "n_cameras": len(set(cameras)),
        "cameras": cameras,
        "camera_ts": [to_datetime(t) for t in camera_ts],
    }


def split_sessions(sightings: Iterable[Sighting], gap_s: float) -> list[list[Sighting]]:
    """Sightings of one plate -> sessions: a new one starts after ``gap_s`` or more without a read
    (what Beam's ``Sessions(gap_s)`` merges)."""
    ordered = sorted(sightings, key=lambda s: (s.ts, s.camera_id))
    out: list[list[Sighting]] = []
    for s in ordered:
        if out and s.ts - out[-1][-1].ts < gap_s:
            out[-1].append(s)
        else:
            out.append([s])
    return out


class _TripFromSession(beam.DoFn):
    """One trip per session in the group. With Beam session windows the group is one session; on a
    runner that groups without windows (Dask) it holds every sighting of the plate, and the split
    finds the same sessions: the transform is runner-portable."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.trips = Metrics.counter(NAMESPACE, "trips")
        self.sizes = Metrics.distribution(NAMESPACE, "sightings_per_trip")

    def process(self, element: tuple[str, Iterable[Sighting]]) -> Iterator[TimestampedValue]:
        plate, sightings = element
        for session in split_sessions(sightings, self.gap_s):
            row = trip_row(plate, session)
            self.trips.inc()
            self.sizes.update(row["n_sightings"])
            # re-stamp at the trip's start: downstream windows (flows per hour) bucket by departure
            yield TimestampedValue(row, row["start"].timestamp())


class Trips(beam.PTransform):
    """``Sighting`` elements (timestamped) -> trip rows, one per plate session of gap ``gap_s``.

    Output elements are timestamped at the trip start and put back in the global window
    (``global_window=False`` keeps the session windows and their pane timing, for a stream consumer).
    """

    def __init__(self, gap_s: float = 900.0, global_window: bool = True):
        super().__init__()
        self.global_window = global_window
        if gap_s <= 0:
            raise ValueError("gap_s must be positive")
        self.gap_s = gap_s

    def expand(self, sightings: beam.PCollection) -> beam.PCollection:
        out = (
            sightings
            | "KeyByPlate" >> beam.Map(lambda s: (s.plate, s))
            | "Sessions" >> beam.WindowInto(window.Sessions(self.gap_s))
            | "GroupSessions" >> beam.GroupByKey()
            | "TripRow" >> beam.ParDo(_TripFromSession(self.gap_s))
        )
        return out | "Unwindow" >> beam.WindowInto(window.GlobalWindows()) if self.global_window else out
