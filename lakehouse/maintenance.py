"""Table upkeep: compaction, checkpoints, vacuum and retention (DESIGN.md §8, §12)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from lakehouse.specs import TABLES, spec
from lakehouse.store import Lakehouse

log = logging.getLogger(__name__)

#: default retention in days per table (biometric data shortest); None keeps forever
DEFAULT_RETENTION_DAYS: dict[str, int | None] = {
    "face_sightings": 30,
    "plate_reads": 180,
    "alerts": 365,
    "videos": 180,
    "audit_log": None,
    "incidents": None,
    "cameras": None,
    "watchlist": None,
    "processing_runs": None,
}


#: tables maintenance never touches: the audit log is append-only and hash-chained (issue 12.4)
UNTOUCHED: frozenset[str] = frozenset({"audit_log"})


def _tables(names: list[str] | None) -> list[str]:
    return [n for n in (names or list(TABLES)) if n not in UNTOUCHED]


@dataclass
class MaintenanceResult:
    table: str
    action: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "action": self.action, **self.detail}


def compact(lh: Lakehouse, names: list[str] | None = None) -> list[MaintenanceResult]:
    out = []
    for name in _tables(names):
        lh.ensure(name)
        metrics = lh._with_retry(name, lambda n=name: lh.table(n).optimize.compact())
        out.append(MaintenanceResult(name, "compact", {k: metrics.get(k) for k in ("numFilesAdded", "numFilesRemoved")}))
    return out


def checkpoint(lh: Lakehouse, names: list[str] | None = None) -> list[MaintenanceResult]:
    out = []
    for name in _tables(names):
        lh.ensure(name)
        lh._with_retry(name, lambda n=name: lh.table(n).create_checkpoint())
        out.append(MaintenanceResult(name, "checkpoint", {"version": lh.version(name)}))
    return out


def vacuum(
    lh: Lakehouse, names: list[str] | None = None, retention_hours: int = 168, dry_run: bool = False
) -> list[MaintenanceResult]:
    """Delete files no longer referenced and older than ``retention_hours`` (default 7 days)."""
    out = []
    for name in _tables(names):
        lh.ensure(name)
        removed = lh._with_retry(
            name,
            lambda n=name: lh.table(n).vacuum(
                retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=retention_hours >= 168
            ),
        )
        out.append(MaintenanceResult(name, "vacuum", {"files": len(removed), "dry_run": dry_run}))
    return out


def retention(
    lh: Lakehouse,
    days: dict[str, int | None] | None = None,
    now: dt.datetime | None = None,
) -> list[MaintenanceResult]:
    """Delete rows older than each table's retention period (one delete commit per table).
    Vacuum afterwards removes the underlying files for good."""
    days = {**DEFAULT_RETENTION_DAYS, **(days or {})}
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for name, keep in days.items():
        s = spec(name)
        if keep is None or not s.time_column or name in UNTOUCHED:
            continue
        lh.ensure(name)
        cutoff = (now - dt.timedelta(days=keep)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        predicate = f"{s.time_column} < '{cutoff}'"
        metrics = lh._with_retry(name, lambda n=name, p=predicate: lh.table(n).delete(p))
        out.append(MaintenanceResult(name, "retention", {"keep_days": keep, "deleted": metrics.get("num_deleted_rows", 0)}))
    return out
