"""Table upkeep: compaction, checkpoints, vacuum and retention (DESIGN.md §8, §12)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
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

_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})")


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
        out.append(
            MaintenanceResult(
                name, "compact", {k: metrics.get(k) for k in ("numFilesAdded", "numFilesRemoved")}
            )
        )
    return out


def compact_days(lh: Lakehouse, name: str, days: list[dt.date]) -> MaintenanceResult:
    """Compact only the given days' partitions of a date-partitioned table, then checkpoint it: what
    a long-running writer that commits small batches (``stream run``) does now and then, so the
    table's active files, and the memory every commit spends loading them, stop growing."""
    lh.ensure(name)
    filters = [("date", "in", sorted({d.isoformat() for d in days}))] if days else None
    metrics = lh._with_retry(name, lambda: lh.table(name).optimize.compact(partition_filters=filters))
    lh._with_retry(name, lambda: lh.table(name).create_checkpoint())
    return MaintenanceResult(
        name,
        "compact",
        {k: metrics.get(k) for k in ("numFilesAdded", "numFilesRemoved")} | {"days": len(days)},
    )


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
                retention_hours=retention_hours,
                dry_run=dry_run,
                enforce_retention_duration=retention_hours >= 168,
            ),
        )
        out.append(MaintenanceResult(name, "vacuum", {"files": len(removed), "dry_run": dry_run}))
    return out


#: which retention setting (``lakehouse.settings.RetentionSettings``) governs which table
RETENTION_SETTING: dict[str, str] = {
    "face_sightings": "faces_days",
    "plate_reads": "plates_days",
    "alerts": "alerts_days",
    "videos": "videos_days",
}

#: log retention while purging (old commits hold column statistics of erased rows) and after it
_PURGE_LOG_RETENTION = "interval 0 seconds"
_NORMAL_LOG_RETENTION = "interval 30 days"


def retention_policy(lh: Lakehouse, days: dict[str, int | None] | None = None) -> dict[str, int | None]:
    """Days kept per table: the home's ``retention`` settings, then ``days`` overrides."""
    conf = lh.settings.retention
    policy = {**DEFAULT_RETENTION_DAYS, **{t: getattr(conf, k) for t, k in RETENTION_SETTING.items()}}
    return {**policy, **(days or {})}


def _cutoff(now: dt.datetime, keep: int) -> dt.datetime:
    return now - dt.timedelta(days=keep)


def migrate_properties(lh: Lakehouse, name: str) -> bool:
    """Give an existing table its spec's properties (e.g. change data feed off on a biometric table
    created before it was). A metadata-only commit; returns whether one was made."""
    props = dict(spec(name).properties)
    conf = lh.table(name).metadata().configuration
    if not props or all(conf.get(k) == v for k, v in props.items()):
        return False
    lh._with_retry(name, lambda: lh.table(name).alter.set_table_properties(props, raise_if_not_exists=False))
    log.info("%s: table properties set to %s", name, props)
    return True


def purge(lh: Lakehouse, name: str) -> dict[str, Any]:
    """Remove every copy of deleted rows from a table's storage: files of older versions and
    ``_change_data/`` (a full vacuum with no retention window), then the Delta log before a new
    checkpoint, whose commits carry column statistics (min/max ids) of erased rows. Time travel to
    versions before the purge is gone afterwards: that is the point."""
    lh.ensure(name)
    lh._with_retry(
        name,
        lambda: lh.table(name).alter.set_table_properties(
            {"delta.logRetentionDuration": _PURGE_LOG_RETENTION}, raise_if_not_exists=False
        ),
    )
    removed = lh._with_retry(
        name,
        lambda: lh.table(name).vacuum(
            retention_hours=0, dry_run=False, enforce_retention_duration=False, full=True
        ),
    )

    def _log() -> int:
        t = lh.table(name)
        t.create_checkpoint()
        version = t.version()
        t.cleanup_metadata()  # commits and checkpoints before ``version`` (log retention 0)
        # back to the usual log retention: later automatic checkpoints keep their history again
        t.alter.set_table_properties(
            {"delta.logRetentionDuration": _NORMAL_LOG_RETENTION}, raise_if_not_exists=False
        )
        return version

    checkpoint_version = lh._with_retry(name, _log)
    if lh.storage.is_local:  # empty partition folders left by vacuum under _change_data/
        cdc = Path(lh.uri(name).removeprefix("file://")) / "_change_data"
        if cdc.is_dir() and not any(p.is_file() for p in cdc.rglob("*")):
            shutil.rmtree(cdc, ignore_errors=True)
    return {"files_purged": len(removed), "checkpoint": checkpoint_version}


def _refresh_indexes(lh: Lakehouse, names: set[str]) -> list[MaintenanceResult]:
    """Drop erased rows from the search indexes that exist (an index never built holds nothing).
    The plate index keeps rows of files gone until a rebuild, and an HNSW face index keeps
    tombstoned vectors: both are rebuilt so no erased entry stays on disk."""
    out = []
    if "face_sightings" in names:
        from pipelines.search.face_index import FaceIndex

        fi = FaceIndex(lh)
        if fi.manifest() is not None:
            res = fi.update()
            if fi.status().get("tombstones"):
                res = fi.rebuild()
            out.append(
                MaintenanceResult(
                    "face_sightings", "index", {"index": "faces", "vectors": res.get("vectors")}
                )
            )
    if "plate_reads" in names:
        from pipelines.search.plate_index import PlateIndex

        pi = PlateIndex(lh)
        if pi.manifest() is not None:
            res = pi.rebuild()
            out.append(
                MaintenanceResult("plate_reads", "index", {"index": "plates", "reads": res.get("reads")})
            )
        if lh.exists("plate_presence"):  # the movement tools' plate index: rebuild the changed days
            from pipelines.movement.presence import build_presence

            built = build_presence(lh)
            out.append(
                MaintenanceResult(
                    "plate_presence",
                    "index",
                    {"days_rebuilt": len(built["days"]), **purge(lh, "plate_presence")},
                )
            )
    return out


def _day_of(name: str) -> dt.date | None:
    m = _DAY.match(name)
    if not m:
        return None
    try:
        return dt.date.fromisoformat(m.group(1))
    except ValueError:
        return None


def purge_derived(
    lh: Lakehouse, keep: int | None, now: dt.datetime, holds: list[dict[str, Any]] | None = None
) -> MaintenanceResult:
    """Delete result files under ``HOME/derived`` written before the cutoff or whose partition
    (file name ``YYYY-MM-DD...``) is a day before it. An expired Parquet file with rows under an
    active legal hold (:func:`pipelines.governance.holds.held_mask`) is rewritten with those rows
    only, keeping its times, so the next run after the hold is released deletes it."""
    root = Path(lh.home) / "derived"
    removed = rewritten = held_rows = 0
    if keep is not None and root.is_dir():
        cutoff = _cutoff(now, keep)
        for p in sorted(root.rglob("*")):
            if not p.is_file():
                continue
            day = _day_of(p.name)
            old = p.stat().st_mtime < cutoff.timestamp() or (day is not None and day < cutoff.date())
            if not old:
                continue
            kept = _keep_held_rows(p, holds) if holds else 0
            if kept:
                rewritten += 1
                held_rows += kept
            else:
                p.unlink(missing_ok=True)
                removed += 1
        for d in sorted((d for d in root.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
    return MaintenanceResult(
        "derived",
        "retention",
        {"keep_days": keep, "deleted_files": removed, "held_files": rewritten, "held_rows": held_rows},
    )


def _keep_held_rows(path: Path, holds: list[dict[str, Any]]) -> int:
    """Rewrite an expired derived Parquet file with only its held rows (same mtime); returns how
    many rows were kept (0: nothing held, the caller deletes the file)."""
    import os

    import pyarrow.parquet as pq

    from pipelines.governance.holds import held_mask

    if path.suffix != ".parquet":
        return 0
    try:
        table = pq.read_table(path)
    except (OSError, ValueError):
        return 0
    mask = held_mask(table, holds)
    if mask is None:
        return 0
    kept = table.filter(mask)
    if kept.num_rows == 0:
        return 0
    if kept.num_rows < table.num_rows:
        st = path.stat()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.held.tmp")
        pq.write_table(kept, tmp)
        os.replace(tmp, path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return int(kept.num_rows)


def _video_uris(lh: Lakehouse) -> dict[str, str]:
    t = lh.table("videos").to_pyarrow_table(columns=["video_id", "uri"])
    return {v: u for v, u in zip(t["video_id"].to_pylist(), t["uri"].to_pylist(), strict=True) if u}


def _delete_managed_video(lh: Lakehouse, uris: list[str]) -> dict[str, Any]:
    """Delete the source files of erased videos that the home manages (under ``HOME``, e.g. the
    inbox); video read where it lies elsewhere is only reported (DESIGN: video is not copied)."""
    home = Path(lh.home).resolve()
    removed, external = 0, []
    for uri in uris:
        path = Path(uri.removeprefix("file://")).expanduser()
        if "://" in uri and not uri.startswith("file://"):
            external.append(uri)
            continue
        try:
            inside = path.resolve().is_relative_to(home)
        except OSError:
            inside = False
        if inside:
            if path.exists():
                path.unlink()
                removed += 1
        else:
            external.append(uri)
    if external:
        log.warning(
            "%d source video(s) past retention lie outside the home and were left: %s",
            len(external),
            external[:5],
        )
    return {"video_files_deleted": removed, "external_videos_past_retention": external}


def _active_holds(lh: Lakehouse) -> list[dict[str, Any]]:
    from pipelines.governance.holds import list_holds

    return list_holds(lh, active_only=True)


def _exempt(name: str, holds: list[dict[str, Any]]) -> str | None:
    from pipelines.governance.holds import exempt_predicate

    return exempt_predicate(name, holds)


def retention(
    lh: Lakehouse,
    days: dict[str, int | None] | None = None,
    now: dt.datetime | None = None,
    names: list[str] | None = None,
) -> list[MaintenanceResult]:
    """Erase everything past its retention (issue 12.5): per table (days from the home's
    ``retention`` settings, ``days`` overriding) turn change data feed off where the spec says so,
    delete expired rows, then :func:`purge` the table's storage and log; drop the erased rows from
    the face and plate indexes; delete expired files under ``HOME/derived``. The audit log is never
    touched. ``names`` limits it to those tables (derived files are then left alone)."""
    policy = retention_policy(lh, days)
    now = now or dt.datetime.now(dt.UTC)
    out = []
    erased: set[str] = set()
    holds = _active_holds(lh)
    for name, keep in policy.items():
        if name not in TABLES or (names and name not in names):
            continue
        s = spec(name)
        if keep is None or not s.time_column or name in UNTOUCHED:
            continue
        lh.ensure(name)
        migrated = migrate_properties(lh, name)
        cutoff = _cutoff(now, keep).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        predicate = f"{s.time_column} < '{cutoff}'"
        held = _exempt(name, holds)
        if held:  # rows under an active legal hold stay until it is released
            predicate = f"{predicate} AND NOT ({held})"
        videos_before = _video_uris(lh) if name == "videos" else {}
        metrics = lh._with_retry(name, lambda n=name, p=predicate: lh.table(n).delete(p))
        deleted = int(metrics.get("num_deleted_rows", 0) or 0)
        detail = {
            "keep_days": keep,
            "deleted": deleted,
            "cdf_turned_off": migrated,
            "held": bool(held),
            **purge(lh, name),
        }
        if name == "videos" and deleted:
            gone = {v: u for v, u in videos_before.items() if v not in _video_uris(lh)}
            detail.update(_delete_managed_video(lh, list(gone.values())))
        out.append(MaintenanceResult(name, "retention", detail))
        erased.add(name)
    out.extend(_refresh_indexes(lh, erased))
    if not names or "derived" in names:
        out.append(purge_derived(lh, policy.get("derived", lh.settings.retention.derived_days), now, holds))
    return out
