"""The live consumer of the movement transforms: traffic counts per camera and convoy candidates
of watchlisted plates, fed by the live stream's committed micro-batches.

``pesquisa stream run`` hands every committed batch of ``plate_reads`` to
:meth:`LiveMovement.on_batch` (``pipelines.live.commit.MicroBatchCommitter`` calls its
``on_commit`` hooks). The consumer keeps the reads of the open windows in memory (one row per
``read_id``: a live track's row is updated while it grows, the last version wins) and, at most
every ``every_s``, runs the same Beam transforms as the daily job
(:class:`~pipelines.movement.counts.CameraCounts`, :class:`~pipelines.movement.convoys.Convoys`
with one target per watchlisted plate) over them on the in-process runner, then MERGEs:

- ``movement_counts``: one row per camera and count window (``run_id = live``), rewritten while
  the window fills; the daily job later replaces the day with the batch result (the same
  transform over the same reads: equal, tested);
- ``movement_convoys``: candidates travelling with a watchlisted plate during the last
  ``convoy_horizon_s`` (``run_id = live``; ``plate_a`` = the watchlisted plate). These name plates:
  read them through :func:`pipelines.movement.store.read_movement` (case, audit).

Reads older than the retained horizon are dropped at window boundaries, so a window that is still
written always has all its reads. The stream semantics of the same transforms (windows closing as
the watermark passes, ON_TIME panes) are tested with ``TestStream`` (tests/movement).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse import Lakehouse

log = logging.getLogger(__name__)

RUN_ID = "live"
READ_COLUMNS = ("read_id", "camera_id", "ts", "plate", "confidence", "agency", "model_version")


@dataclass(frozen=True)
class LiveMovementParams:
    count_window_s: float = 3600.0  # fixed count windows (the daily job's default)
    convoy_delta_s: float = 60.0
    convoy_min_cameras: int = 3
    convoy_horizon_s: float = 3600.0  # convoy candidates over the last hour of reads
    every_s: float = 30.0  # at most one Beam run per this many seconds
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        if self.count_window_s <= 0 or self.convoy_horizon_s <= 0 or self.convoy_delta_s <= 0:
            raise ValueError("live movement windows must be positive")
        if self.convoy_min_cameras < 1 or self.every_s < 0:
            raise ValueError("need convoy_min_cameras >= 1 and every_s >= 0")


@dataclass
class LiveUpdate:
    counts: pa.Table
    convoys: pa.Table
    reads: int  # reads in memory the run used
    targets: list[str] = field(default_factory=list)
    seconds: float = 0.0


def watchlisted_plates(lh: Lakehouse, now: dt.datetime | None = None) -> list[str]:
    """Plates of the active exact plate entries (wildcard and fuzzy-only patterns are not targets)."""
    from pipelines.watchlist.entries import active_entries

    if not lh.exists("watchlist"):
        return []
    return sorted({e.value for e in active_entries(lh, now) if e.kind == "plate" and e.value.isalnum()})


class LiveMovement:
    """Stateful consumer: call :meth:`on_batch` with each committed batch of plate reads."""

    def __init__(self, lh: Lakehouse, params: LiveMovementParams | None = None, *, targets: Any = None):
        self.lh = lh
        self.params = params or LiveMovementParams()
        self._targets = targets  # None: the watchlist's plates at each run; else a fixed list
        self._rows: dict[str, dict[str, Any]] = {}
        self._last_run = -math.inf
        self.runs = 0

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def on_batch(self, reads: pa.Table | None, *, force: bool = False) -> LiveUpdate | None:
        """Add a committed batch; run the transforms when ``every_s`` passed (or ``force``)."""
        if reads is not None and reads.num_rows:
            cols = [c for c in READ_COLUMNS if c in reads.column_names]
            for r in reads.select(cols).to_pylist():
                if r.get("plate"):
                    self._rows[r["read_id"]] = r
        now = time.monotonic()
        if not self._rows or (not force and now - self._last_run < self.params.every_s):
            return None
        self._last_run = now
        try:
            return self.run()
        except Exception:  # noqa: BLE001 - movement must never stop the cameras; next batch retries
            log.exception("live movement run failed")
            return None

    def run(self) -> LiveUpdate:
        """The transforms over the reads in memory -> MERGE into movement_counts / movement_convoys."""
        t0 = time.perf_counter()
        p = self.params
        rows = sorted(self._rows.values(), key=lambda r: (r["ts"], r["read_id"]))
        targets = list(self._targets) if self._targets is not None else watchlisted_plates(self.lh)
        present = {r["plate"] for r in rows}
        targets = [t for t in targets if t in present]
        last = max(r["ts"] for r in rows)
        horizon_start = last - dt.timedelta(seconds=p.convoy_horizon_s)
        recent = [r for r in rows if r["ts"] >= horizon_start]
        counts, convoys = live_transforms(rows, recent, targets, p)
        self._store(counts, convoys, rows)
        self._evict(last)
        self.runs += 1
        return LiveUpdate(counts, convoys, len(rows), targets, time.perf_counter() - t0)

    def _evict(self, last: dt.datetime) -> None:
        """Drop reads before the start of the oldest window still kept (a window boundary)."""
        p = self.params
        keep_s = max(p.count_window_s, p.convoy_horizon_s)
        edge = math.floor((last.timestamp() - keep_s) / p.count_window_s) * p.count_window_s
        cut = dt.datetime.fromtimestamp(edge, dt.UTC)
        self._rows = {k: r for k, r in self._rows.items() if r["ts"] >= cut}

    def _store(self, counts: pa.Table, convoys: pa.Table, rows: list[dict[str, Any]]) -> None:
        from pipelines.movement.reads import registry

        agency_of = {c["camera_id"]: c.get("agency") for c in registry(self.lh)}
        version = "+".join(sorted({r["model_version"] for r in rows if r.get("model_version")})) or None
        if counts.num_rows:
            starts = counts["window_start"].to_pylist()
            counts = (
                counts.append_column(
                    "agency",
                    pa.array([agency_of.get(c) for c in counts["camera_id"].to_pylist()], pa.string()),
                )
                .append_column("model_version", pa.array([version] * counts.num_rows, pa.string()))
                .append_column("run_id", pa.array([RUN_ID] * counts.num_rows, pa.string()))
                .append_column("date", pa.array([s.date() for s in starts], pa.date32()))
            )
            self.lh.upsert("movement_counts", counts, target_predicate=_days_predicate(starts))
        if convoys.num_rows:
            day = max(r["ts"] for r in rows).date()
            first = [c[0] if c else None for c in convoys["cameras"].to_pylist()]
            convoys = (
                convoys.append_column("agency", pa.array([agency_of.get(c) for c in first], pa.string()))
                .append_column("model_version", pa.array([version] * convoys.num_rows, pa.string()))
                .append_column("run_id", pa.array([RUN_ID] * convoys.num_rows, pa.string()))
                .append_column("date", pa.array([day] * convoys.num_rows, pa.date32()))
            )
            self.lh.upsert("movement_convoys", convoys, target_predicate=f"t.date = '{day.isoformat()}'")


class StreamHook:
    """``MicroBatchCommitter.on_commit`` hook: hands each batch's reads to a :class:`LiveMovement`
    run in ONE background thread, so the commit loop (and the alarms) never wait for Beam."""

    def __init__(self, consumer: LiveMovement):
        self.consumer = consumer
        self._lock = threading.Lock()
        self._pending: list[pa.Table] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-movement", daemon=True)
        self._thread.start()
        self.updates = 0

    def __call__(self, res: Any) -> None:
        reads = getattr(res, "reads", None)
        if reads is not None and reads.num_rows:
            with self._lock:
                self._pending.append(reads)
            self._wake.set()

    def _drain(self, force: bool) -> None:
        with self._lock:
            batches, self._pending = self._pending, []
        for i, b in enumerate(batches or [None]):
            last = i == max(len(batches), 1) - 1
            if self.consumer.on_batch(b, force=force and last) is not None:
                self.updates += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            self._drain(force=False)

    def close(self, timeout_s: float = 120.0) -> None:
        """Stop the thread, then one last run over everything received."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._drain(force=True)


def stream_hook(lh: Lakehouse) -> StreamHook | None:
    """The live movement hook for ``stream run``, or None when ``live.movement_every_s`` is 0."""
    live = lh.settings.live
    if not live.movement_every_s:
        return None
    params = LiveMovementParams(count_window_s=live.movement_count_window_s, every_s=live.movement_every_s)
    return StreamHook(LiveMovement(lh, params))


def _days_predicate(starts: list[dt.datetime]) -> str:
    days = ", ".join(sorted({f"'{s.date().isoformat()}'" for s in starts}))
    return f"t.date IN ({days})"


def live_transforms(
    rows: list[dict[str, Any]],
    recent: list[dict[str, Any]],
    targets: list[str],
    params: LiveMovementParams,
) -> tuple[pa.Table, pa.Table]:
    """CameraCounts over ``rows`` and Convoys(target) over ``recent`` for each target: one Beam
    pipeline on the in-process runner. Returns (counts, convoys) as Arrow tables."""
    import shutil
    import tempfile
    from pathlib import Path

    import apache_beam as beam

    from pipelines.movement.convoys import Convoys
    from pipelines.movement.counts import CameraCounts
    from pipelines.movement.runner import collect_staged, pipeline_options
    from pipelines.movement.schemas import SCHEMAS
    from pipelines.movement.sightings import ParseSightings
    from pipelines.movement.sink import WriteTables

    staging = Path(tempfile.mkdtemp(prefix="pesquisa-live-movement-"))
    try:
        with beam.Pipeline(options=pipeline_options("FnApiRunner")) as p:
            sightings = (
                p | "Reads" >> beam.Create(rows) | "Sightings" >> ParseSightings(params.min_confidence)
            )
            outputs = {"counts": sightings | "Counts" >> CameraCounts(params.count_window_s)}
            if targets and recent:
                near = (
                    p
                    | "Recent" >> beam.Create(recent)
                    | "RecentSightings" >> ParseSightings(params.min_confidence)
                )
                found = [
                    near
                    | f"Convoys {t}"
                    >> Convoys(
                        params.convoy_delta_s,
                        params.convoy_min_cameras,
                        span_s=params.convoy_horizon_s,
                        target=t,
                    )
                    for t in targets
                ]
                outputs["convoys"] = tuple(found) | "AllTargets" >> beam.Flatten()
            _ = outputs | "Write" >> WriteTables(staging, SCHEMAS)
        return collect_staged(staging, "counts"), collect_staged(staging, "convoys")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = [
    "LiveMovement",
    "LiveMovementParams",
    "LiveUpdate",
    "StreamHook",
    "live_transforms",
    "stream_hook",
    "watchlisted_plates",
]
