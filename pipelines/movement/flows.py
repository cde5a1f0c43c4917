"""Origin-destination flows between ring porticos.

Per trip, the origin is the first portico in its camera sequence and the destination the last one
(the same portico when the trip passed only one, e.g. entered and was not seen leaving). Trips that
pass no portico are counted in a metric and left out. Flows are counted per (origin, destination)
in fixed windows of departure time (``bucket_s``) or over the whole input (``bucket_s=None``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from pipelines.movement.sightings import NAMESPACE, to_datetime


def od_of_trip(trip: dict[str, Any], porticos: frozenset[str]) -> tuple[str, str, float | None] | None:
    """(origin, destination, travel seconds or None when origin == destination step) or None."""
    steps = [(cam, ts) for cam, ts in zip(trip["cameras"], trip["camera_ts"], strict=True) if cam in porticos]
    if not steps:
        return None
    (o, o_ts), (d, d_ts) = steps[0], steps[-1]
    travel = (d_ts - o_ts).total_seconds() if len(steps) > 1 else None
    return o, d, travel


class _TripToOD(beam.DoFn):
    def __init__(self, porticos: frozenset[str], bucket_s: float | None):
        self.porticos = porticos
        self.bucket_s = bucket_s
        self.no_portico = Metrics.counter(NAMESPACE, "trips_without_portico")
        self.with_od = Metrics.counter(NAMESPACE, "trips_with_portico")

    def process(self, trip: dict[str, Any]) -> Iterator[Any]:
        od = od_of_trip(trip, self.porticos)
        if od is None:
            self.no_portico.inc()
            return
        self.with_od.inc()
        if self.bucket_s is None:
            yield (od[0], od[1], None), od[2]
            return
        # the departure bucket is part of the key (runner-portable) and the element is stamped at
        # the bucket's last instant, so it lands in the one Beam window that closes with the bucket
        start = math.floor(trip["start"].timestamp() / self.bucket_s) * self.bucket_s
        yield TimestampedValue(((od[0], od[1], start), od[2]), start + self.bucket_s - 1e-6)


class _FlowStats(beam.CombineFn):
    """trips, and mean travel time over the trips that have one."""

    def create_accumulator(self) -> tuple[int, float, int]:
        return 0, 0.0, 0

    def add_input(self, acc: tuple[int, float, int], travel: float | None) -> tuple[int, float, int]:
        n, total, n_t = acc
        if travel is None:
            return n + 1, total, n_t
        return n + 1, total + travel, n_t + 1

    def merge_accumulators(self, accs: Iterable[tuple[int, float, int]]) -> tuple[int, float, int]:
        n, total, n_t = 0, 0.0, 0
        for a, b, c in accs:
            n, total, n_t = n + a, total + b, n_t + c
        return n, float(total), n_t

    def extract_output(self, acc: tuple[int, float, int]) -> tuple[int, float | None]:
        n, total, n_t = acc
        return n, (total / n_t if n_t else None)


class _FlowRow(beam.DoFn):
    def __init__(self, bucket_s: float | None):
        self.bucket_s = bucket_s

    def process(self, element: Any) -> Iterator[dict[str, Any]]:
        (origin, dest, start), (trips, mean_travel) = element
        yield {
            "origin": origin,
            "destination": dest,
            "window_start": to_datetime(start) if start is not None else None,
            "window_end": to_datetime(start + self.bucket_s) if start is not None and self.bucket_s else None,
            "trips": trips,
            "mean_travel_s": mean_travel,
        }


class ODFlows(beam.PTransform):
    """Trip rows (from :class:`~pipelines.movement.trips.Trips`) -> OD flow rows between porticos."""

    def __init__(self, porticos: Iterable[str], bucket_s: float | None = None):
        super().__init__()
        self.porticos = frozenset(porticos)
        if bucket_s is not None and bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        self.bucket_s = bucket_s

    def expand(self, trips: beam.PCollection) -> beam.PCollection:
        windowfn = window.FixedWindows(self.bucket_s) if self.bucket_s else window.GlobalWindows()
        return (
            trips
            | "TripToOD" >> beam.ParDo(_TripToOD(self.porticos, self.bucket_s))
            | "Window" >> beam.WindowInto(windowfn)
            | "Stats" >> beam.CombinePerKey(_FlowStats())
            | "Row" >> beam.ParDo(_FlowRow(self.bucket_s))
            | "Unwindow" >> beam.WindowInto(window.GlobalWindows())
        )
