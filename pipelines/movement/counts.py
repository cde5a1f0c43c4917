"""Counts: reads and distinct plates per camera in fixed or sliding event-time windows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from pipelines.movement.sightings import Sighting, to_datetime


class _CountReadsAndPlates(beam.CombineFn):
    """(reads, set of plates) -> (reads, distinct plates)."""

    def create_accumulator(self) -> tuple[int, set[str]]:
        return 0, set()

    def add_input(self, acc: tuple[int, set[str]], plate: str) -> tuple[int, set[str]]:
        n, plates = acc
        plates.add(plate)
        return n + 1, plates

    def merge_accumulators(self, accs: Any) -> tuple[int, set[str]]:
        n, plates = 0, set()
        for a_n, a_plates in accs:
            n += a_n
            plates |= a_plates
        return n, plates

    def extract_output(self, acc: tuple[int, set[str]]) -> tuple[int, int]:
        return acc[0], len(acc[1])


def window_starts(ts: float, size_s: float, period_s: float) -> list[float]:
    """Starts of the windows of length ``size_s`` every ``period_s`` (multiples of it) holding ``ts``."""
    last = math.floor(ts / period_s) * period_s
    out = []
    s = last
    while s + size_s > ts:
        out.append(s)
        s -= period_s
    return out


class _KeyByWindow(beam.DoFn):
    """(camera, window start) keys made explicit, stamped at the window's last instant so that
    the element lands in the one Beam window that closes with it (runner-portable: a runner that
    groups without windows still groups by the key)."""

    def __init__(self, size_s: float, period_s: float):
        self.size_s = size_s
        self.period_s = period_s

    def process(self, s: Sighting) -> Iterator[TimestampedValue]:
        for start in window_starts(s.ts, self.size_s, self.period_s):
            yield TimestampedValue(((s.camera_id, start), s.plate), start + self.size_s - 1e-6)


class _CountRow(beam.DoFn):
    def __init__(self, size_s: float):
        self.size_s = size_s

    def process(self, element: tuple[tuple[str, float], tuple[int, int]]) -> Iterator[dict]:
        (camera, start), (reads, plates) = element
        yield {
            "camera_id": camera,
            "window_start": to_datetime(start),
            "window_end": to_datetime(start + self.size_s),
            "reads": reads,
            "plates": plates,
        }


class CameraCounts(beam.PTransform):
    """``Sighting`` elements -> one row per camera and window: ``reads`` and distinct ``plates``.

    ``size_s`` is the window length; with ``period_s`` the windows slide (a sighting falls into
    ``size_s / period_s`` windows; ``size_s`` must be a multiple of ``period_s``), otherwise they
    are fixed. Windows without reads produce no row. On unbounded input a window's row is emitted
    when the watermark passes its end.
    """

    def __init__(self, size_s: float = 3600.0, period_s: float | None = None, global_window: bool = True):
        super().__init__()
        self.global_window = global_window
        if size_s <= 0 or (period_s is not None and period_s <= 0):
            raise ValueError("window size and period must be positive")
        period = period_s or size_s
        if abs(size_s / period - round(size_s / period)) > 1e-9:
            raise ValueError("the window size must be a multiple of the period")
        self.size_s = size_s
        self.period_s = period

    def expand(self, sightings: beam.PCollection) -> beam.PCollection:
        out = (
            sightings
            | "KeyByWindow" >> beam.ParDo(_KeyByWindow(self.size_s, self.period_s))
            | "Window" >> beam.WindowInto(window.FixedWindows(self.period_s))
            | "Count" >> beam.CombinePerKey(_CountReadsAndPlates())
            | "Row" >> beam.ParDo(_CountRow(self.size_s))
        )
        return out | "Unwindow" >> beam.WindowInto(window.GlobalWindows()) if self.global_window else out
