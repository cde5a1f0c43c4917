"""Counts: reads and distinct plates per camera in fixed or sliding event-time windows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms import window

from pipelines.movement.sightings import to_datetime


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


class _CountRow(beam.DoFn):
    def process(self, element: tuple[str, tuple[int, int]], win=beam.DoFn.WindowParam) -> Iterator[dict]:
        camera, (reads, plates) = element
        yield {
            "camera_id": camera,
            "window_start": to_datetime(float(win.start)),
            "window_end": to_datetime(float(win.end)),
            "reads": reads,
            "plates": plates,
        }


class CameraCounts(beam.PTransform):
    """``Sighting`` elements -> one row per camera and window: ``reads`` and distinct ``plates``.

    ``size_s`` is the window length; with ``period_s`` the windows slide (a sighting falls into
    ``size_s / period_s`` windows), otherwise they are fixed. Windows without reads produce no row.
    """

    def __init__(self, size_s: float = 3600.0, period_s: float | None = None):
        super().__init__()
        if size_s <= 0 or (period_s is not None and period_s <= 0):
            raise ValueError("window size and period must be positive")
        self.size_s = size_s
        self.period_s = period_s

    def expand(self, sightings: beam.PCollection) -> beam.PCollection:
        windowfn = (
            window.SlidingWindows(self.size_s, self.period_s)
            if self.period_s is not None
            else window.FixedWindows(self.size_s)
        )
        return (
            sightings
            | "KeyByCamera" >> beam.Map(lambda s: (s.camera_id, s.plate))
            | "Window" >> beam.WindowInto(windowfn)
            | "Count" >> beam.CombinePerKey(_CountReadsAndPlates())
            | "Row" >> beam.ParDo(_CountRow())
            | "Unwindow" >> beam.WindowInto(window.GlobalWindows())
        )
