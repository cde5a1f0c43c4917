"""Plate reads -> timestamped ``Sighting`` elements: the one input every movement pipeline takes.

A bad record (no plate, no camera, no time) is counted with a Beam metric and dropped, never raised:
one broken row must not stop a day's analytics. Counters live in the ``pesquisa.movement``
namespace so :func:`pipelines.movement.runner.run_movement` can report them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue

from lakehouse.timeutil import to_epoch_s
from pipelines.plates.text import normalize as normalize_plate

NAMESPACE = "pesquisa.movement"

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Sighting(NamedTuple):
    """One plate read, reduced to what movement analytics need. ``ts`` is UTC epoch seconds."""

    plate: str
    camera_id: str
    ts: float
    read_id: str = ""
    confidence: float = 1.0


def to_epoch(value: Any) -> float:
    """UTC epoch seconds from a datetime (naive = UTC), an ISO string, or a number
    (:func:`lakehouse.timeutil.to_epoch_s`)."""
    try:
        return to_epoch_s(value)
    except ValueError as exc:
        raise TypeError(f"not a time: {value!r}") from exc


def to_datetime(epoch_s: float) -> dt.datetime:
    """Aware UTC datetime, microsecond precision (what ``timestamp[us, UTC]`` stores)."""
    return EPOCH + dt.timedelta(microseconds=round(epoch_s * 1e6))


class _ParseSighting(beam.DoFn):
    def __init__(self, min_confidence: float):
        self.min_confidence = min_confidence
        self.seen = Metrics.counter(NAMESPACE, "reads_in")
        self.kept = Metrics.counter(NAMESPACE, "reads_used")
        self.no_plate = Metrics.counter(NAMESPACE, "bad_no_plate")
        self.no_camera = Metrics.counter(NAMESPACE, "bad_no_camera")
        self.bad_time = Metrics.counter(NAMESPACE, "bad_time")
        self.low_conf = Metrics.counter(NAMESPACE, "low_confidence")

    def process(self, row: Mapping[str, Any]) -> Iterator[TimestampedValue]:
        self.seen.inc()
        raw = row.get("plate")
        plate = normalize_plate(raw) if isinstance(raw, str) else ""
        if not plate:
            self.no_plate.inc()
            return
        camera = row.get("camera_id")
        if not isinstance(camera, str) or not camera:
            self.no_camera.inc()
            return
        try:
            ts = to_epoch(row.get("ts"))
        except (TypeError, ValueError):
            self.bad_time.inc()
            return
        conf = row.get("confidence")
        conf = 1.0 if conf is None else float(conf)
        if conf < self.min_confidence:
            self.low_conf.inc()
            return
        self.kept.inc()
        s = Sighting(plate, camera, ts, str(row.get("read_id") or ""), conf)
        yield TimestampedValue(s, ts)


class ParseSightings(beam.PTransform):
    """Rows (dicts with ``plate``, ``camera_id``, ``ts`` and optionally ``read_id``,
    ``confidence``) -> ``Sighting`` elements timestamped with the read's event time."""

    def __init__(self, min_confidence: float = 0.0):
        super().__init__()
        self.min_confidence = min_confidence

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        return rows | "Parse" >> beam.ParDo(_ParseSighting(self.min_confidence))
