"""The micro-batch committer: one per table, in the ``stream run`` driver.

Every ``commit_every_s`` the driver hands it the rows the camera workers produced. Rows are
written with MERGE on their id (:meth:`lakehouse.Lakehouse.upsert`, reading only the batch's day partitions and
the day before): an open track's row is
inserted once it is confident and updated while the track grows, and re-committing a batch
(a retry after an error, or a restart) changes nothing: no duplicate and no lost committed row.
New live segments get their ``videos`` row first and, once the batch's rows are committed, their
``source_versions`` row (``kind = live``: one model version per segment). Right after the rows are
committed, :func:`pipelines.watchlist.alarms.raise_alerts` sees the batch (the alarm step; alerts
are insert-only and suppressed per entry, camera and pass, so a re-committed batch raises nothing
new). Every ``compact_every_s`` the driver asks it to :meth:`MicroBatchCommitter.compact` the
day partitions it wrote since the last time: a commit every few seconds leaves a small file each,
and a table of thousands of small files costs every later commit more time and memory. The driver also runs the alarm step on rows as soon as the workers emit them
(:meth:`MicroBatchCommitter.alarm`, every ``alarm_every_s``): the commit's alarm step is then the
backstop that catches what the fast step missed (an error).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.conform import conform, to_arrow
from lakehouse.specs import spec

log = logging.getLogger(__name__)

#: segment ids a committer remembers as written (a forgotten one is only upserted again: harmless)
MAX_SEGMENTS = 4096


@dataclass
class BatchResult:
    plate_reads: int = 0
    face_sightings: int = 0
    segments: int = 0
    committed_at: float = 0.0  # epoch seconds when the rows were readable
    alerts_s: float = 0.0
    reads: pa.Table | None = None
    sightings: pa.Table | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)  # raised by this batch (with committed_at)
    errors: list[str] = field(default_factory=list)


class MicroBatchCommitter:
    def __init__(self, lh: Lakehouse, alerts: bool = True, retries: int = 3):
        self.lh = lh
        self.alerts = alerts
        self.retries = retries
        self._segments: dict[str, None] = {}  # written segment ids, oldest first
        self.alerts_raised = 0
        self._written: dict[str, set[Any]] = {}  # table -> days written since the last compact()
        #: called with each committed batch after its alarm step (e.g. the live movement consumer,
        #: pipelines/movement/live.py); a failing hook is logged and never stops the cameras
        self.on_commit: list[Any] = []

    def table(self, name: str, rows: list[dict[str, Any]]) -> pa.Table | None:
        if not rows:
            return None
        key = spec(name).key[0]
        unique = {r[key]: r for r in rows}  # last version of each id wins
        return conform(to_arrow(list(unique.values()), spec(name)), spec(name))

    def commit(
        self, plates: list[dict[str, Any]], faces: list[dict[str, Any]], segments: list[dict[str, Any]]
    ) -> BatchResult:
        res = BatchResult()
        new_segments = [
            s for s in {s["video_id"]: s for s in segments}.values() if s["video_id"] not in self._segments
        ]
        if new_segments:
            self._write("videos", new_segments, res)
        res.reads = self.table("plate_reads", plates)
        res.sightings = self.table("face_sightings", faces)
        if res.reads is not None:
            res.plate_reads = self._write("plate_reads", res.reads, res)
        if res.sightings is not None:
            res.face_sightings = self._write("face_sightings", res.sightings, res)
        if new_segments:  # every table committed: the segments' version is current (pipelines/versions.py)
            from pipelines.versions import record_switch

            self._retry(
                lambda: record_switch(
                    self.lh,
                    [
                        {
                            "video_id": s["video_id"],
                            "camera_id": s["camera_id"],
                            "model_version": s["model_version"],
                            "kind": "live",
                            "start_ts": s["start_ts"],
                        }
                        for s in new_segments
                    ],
                    by=self._service_user(),
                    reason="live segment opened",
                ),
                "source_versions",
                res,
            )
            self._segments.update((s["video_id"], None) for s in new_segments)
            while len(self._segments) > MAX_SEGMENTS:  # days of segments: forget the oldest
                del self._segments[next(iter(self._segments))]
        res.segments = len(new_segments)
        res.committed_at = time.time()
        if self.alerts and (res.reads is not None or res.sightings is not None):
            t0 = time.perf_counter()
            res.alerts = self._raise_alerts(res.reads, res.sightings)
            res.alerts_s = time.perf_counter() - t0
        for hook in self.on_commit:
            try:
                hook(res)
            except Exception:  # noqa: BLE001 - consumers must not stop the cameras (rows are committed)
                log.exception("live: on_commit hook failed")
        return res

    def alarm(self, plates: list[dict[str, Any]], faces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alarm step on rows not committed yet (the driver's alarm loop, every
        ``alarm_every_s``): an alert does not wait for the micro-batch. Its row follows in the next
        commit (the driver commits at once after an alert); the commit's own alarm step then finds
        the pass already alerted (suppression), so nothing is raised twice."""
        reads, sightings = self.table("plate_reads", plates), self.table("face_sightings", faces)
        if reads is None and sightings is None:
            return []
        return self._raise_alerts(reads, sightings)

    def _write(self, name: str, data: Any, res: BatchResult) -> int:
        if name == "videos":  # model_version goes to source_versions, not videos
            data = [{k: v for k, v in r.items() if k != "model_version"} for r in data]
            return self._retry(lambda: self.lh.upsert(name, data), name, res)
        if "date" in data.column_names:
            self._written.setdefault(name, set()).update(d for d in data["date"].to_pylist() if d is not None)
        return self._retry(lambda: self.lh.upsert(name, data, target_predicate=_days(data)), name, res)

    def compact(self) -> list[Any]:
        """Compact and checkpoint the day partitions written since the last call (a failure is
        logged: the rows are committed, compaction is only upkeep, tried again next time)."""
        from lakehouse.maintenance import compact_days

        out = []
        for name, days in sorted(self._written.items()):
            try:
                out.append(compact_days(self.lh, name, sorted(days)))
            except Exception:  # noqa: BLE001 - upkeep must not stop the cameras
                log.exception("live: compacting %s failed", name)
                continue
            self._written.pop(name)
        return out

    def _retry(self, fn: Any, name: str, res: BatchResult) -> int:
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - retried; MERGE on ids makes a retry harmless
                if attempt == self.retries:
                    log.exception("live commit to %s failed", name)
                    res.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    raise
                time.sleep(0.2 * 2**attempt)
        return 0

    def _service_user(self) -> str:
        """The named service identity the stream job acts as (``svc-stream`` unless configured)."""
        from pipelines.governance.identity import lakehouse_home, service_identity

        return service_identity(lakehouse_home(self.lh), "stream").user

    def _raise_alerts(self, reads: pa.Table | None, sightings: pa.Table | None) -> list[dict[str, Any]]:
        from pipelines.watchlist.alarms import raise_alerts

        try:
            alerts = raise_alerts(self.lh, reads=reads, sightings=sightings)
        except Exception:  # noqa: BLE001 - alarms failing must not stop the cameras (rows are committed)
            log.exception("live: raising alerts failed")
            return []
        self.alerts_raised += len(alerts)
        return alerts


def _days(table: pa.Table) -> str | None:
    """The MERGE's target filter: the batch's UTC days and the day before each (a track's row may
    move to the next day while it grows), so a micro-batch reads only those partitions' files."""
    import datetime as dt

    if "date" not in table.column_names:
        return None
    days = {d for d in table["date"].to_pylist() if d is not None}
    days |= {d - dt.timedelta(days=1) for d in days}
    if not days:
        return None
    return "t.date IN (" + ", ".join(f"'{d.isoformat()}'" for d in sorted(days)) + ")"
