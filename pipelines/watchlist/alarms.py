"""Raise alerts: new plate reads / face sightings against the active watchlist (DESIGN.md §6, §8).

:func:`raise_alerts` is called after every micro-batch commit of the live readers (and may be
called after a recorded ingest). It matches the given rows against the entries that are neither
removed nor expired, and writes one alert per entry, camera and pass: a hit within
``watchlist.suppression_window_s`` of an alert already raised for the same entry and camera is the
same pass and raises nothing, however many rows match. Alert ids are a hash of entry + camera +
the first row that hit, written with an insert-only MERGE: the same rows processed twice (a
restarted stream, a re-run) raise nothing new.

Routing: the owning agency always; unless the entry is covert, also the camera's agency and the
agencies that agency shares the camera's alerts with (sharing agreements, data type ``alerts``)
(``recipients``). Each new alert is also handed to the webhook dispatcher of every recipient
agency with a webhook configured (background thread; never blocks).

``latency_s`` of a returned alert = wall time when its commit finished - the row's wall-clock ``ts``
(the stored ``latency_s`` is measured just before the commit, ``raised_at - ts``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pds

from lakehouse import Lakehouse
from lakehouse.ids import stable_id
from pipelines.live.urls import redact
from pipelines.watchlist.config import watchlist_settings
from pipelines.watchlist.entries import Entry, current_entries
from pipelines.watchlist.matching import Hit, PlateMatcher, face_hits

log = logging.getLogger(__name__)

TABLE = "alerts"
_LOCK = threading.Lock()  # one alert writer per process: suppression check + write are one step

#: fields of a returned alert besides the table's (crop bytes are in ``crop_jpeg``)
ALERT_FIELDS = (
    "alert_id",
    "entry_id",
    "kind",
    "value",
    "ts",
    "camera_id",
    "agency",
    "score",
    "latency_s",
    "read_id",
    "sighting_id",
)


def raise_alerts(
    lh: Lakehouse,
    *,
    reads: pa.Table | None = None,
    sightings: pa.Table | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Match new ``plate_reads`` / ``face_sightings`` rows against the active watchlist; write and
    return the new alerts (oldest first). ``now`` (default: the wall clock) decides expiry and is
    the alert time; pass it only to replay."""
    if not _has_rows(reads) and not _has_rows(sightings):
        return []
    clock = now or dt.datetime.now(dt.UTC)
    cfg = watchlist_settings(lh)
    plates, faces = _matchers(lh)
    faces = [e for e in faces if e.alive(clock)]
    hits: list[tuple[Hit, str, pa.Table]] = []
    if _has_rows(reads) and plates.entries:
        hits += [(h, "plate", reads) for h in plates.hits(reads, clock)]
    if _has_rows(sightings) and faces:
        hits += [
            (h, "face", sightings)
            for h in face_hits(faces, sightings, cfg.face_alarm_quality_min, cfg.face_max_distance)
        ]
    if not hits:
        return []
    candidates = [_candidate(h, kind, table) for h, kind, table in hits]
    with _LOCK:
        fresh, version = _suppress(lh, candidates, cfg.suppression_window_s, clock)
        if not fresh:
            return []
        try:
            cam_agency = _camera_agencies(lh, {c["camera_id"] for c in fresh})
            shared = _shared_alerts(lh, cam_agency, clock)
            raised_at = now or dt.datetime.now(dt.UTC)
            rows = [_alert_row(c, cam_agency, shared, raised_at) for c in fresh]
            days = sorted({r["ts"].astimezone(dt.UTC).date() for r in rows})
            lh.insert_new(
                TABLE,
                rows,
                target_predicate="t.date IN (" + ", ".join(f"'{d.isoformat()}'" for d in days) + ")",
            )  # an alert's date is its row's: only those partitions are read
        except BaseException:
            from pipelines.watchlist import cache

            cache.drop(lh, TABLE)  # it holds hits that were never written
            raise
        _remember(lh, version)
        committed = now or dt.datetime.now(dt.UTC)
    for r in rows:
        r["latency_s"] = round((committed - r["ts"]).total_seconds(), 3)
        r["committed_at"] = committed
    _notify(lh, rows)
    return rows


# ------------------------------------------------------------------ steps
def _matchers(lh: Lakehouse) -> tuple[PlateMatcher, list[Entry]]:
    """The plate matcher and the face entries of the current watchlist version (built once per
    version in a process, so a large hotlist is not re-parsed every micro-batch)."""
    from pipelines.watchlist import cache

    version = cache.table_version(lh, "watchlist")
    got = cache.get(lh, "watchlist#matchers", version)
    if got is None:
        entries = current_entries(lh)
        got = (PlateMatcher(entries), [e for e in entries if e.kind == "face"])
        cache.put(lh, "watchlist#matchers", version, got)
    return got


def _has_rows(t: pa.Table | None) -> bool:
    return t is not None and t.num_rows > 0


def _candidate(h: Hit, kind: str, table: pa.Table) -> dict[str, Any]:
    i = h.row

    def get(name: str) -> Any:
        return column_value(table, name, i)

    ts = get("ts")
    if ts is not None and ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    row_id = get("read_id") if kind == "plate" else get("sighting_id")
    return {
        "entry": h.entry,
        "kind": kind,
        "row_id": row_id,
        "ts": ts,
        "camera_id": get("camera_id"),
        "row_agency": get("agency"),
        "score": h.score,
        "distance": h.distance,
        "matched_text": h.matched_text,
        "crop_jpeg": get("crop_jpeg"),
        "source_uri": redact(get("source_uri")) if get("source_uri") else None,
    }


def column_value(table: pa.Table, name: str, i: int) -> Any:
    return table[name][i].as_py() if name in table.column_names else None


#: the alerts of this many seconds before now are kept in memory between calls
RECENT_S = 86400.0


def _recent(lh: Lakehouse, lo: dt.datetime, clock: dt.datetime) -> tuple[dict, int | None]:
    """``{(entry_id, camera_id): [ts, ...]}`` of alerts since ``lo`` (or since a day ago, whichever is
    earlier), from the per-version cache when the table has not changed since it was filled."""
    from pipelines.watchlist import cache

    version = cache.table_version(lh, TABLE)
    hit = cache.get(lh, TABLE, version)
    # kept while it covers ``lo``, and refilled once it reaches two windows back: a runner that
    # raises alerts for days must not keep every alert it ever raised
    if hit is not None and hit[0] <= lo and hit[0] >= clock - dt.timedelta(seconds=2 * RECENT_S):
        return hit[1], version
    since = min(lo, clock - dt.timedelta(seconds=RECENT_S))
    flt = (pds.field("date") >= since.date()) & (pds.field("ts") >= since)
    seen: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
    for r in lh.read(TABLE, columns=["entry_id", "camera_id", "ts"], filter=flt).to_pylist():
        seen[(r["entry_id"], r["camera_id"])].append(r["ts"])
    cache.put(lh, TABLE, version, (since, seen))
    return seen, version


def _suppress(
    lh: Lakehouse, cands: list[dict[str, Any]], window_s: float, clock: dt.datetime
) -> tuple[list[dict[str, Any]], int | None]:
    """Keep the first hit of each pass: none within ``window_s`` of an alert (stored or kept in
    this batch) of the same entry and camera. Within one row-time, the best score goes first.
    Returns the kept hits and the alerts table version they were checked against."""
    window = dt.timedelta(seconds=window_s)
    lo = min(c["ts"] for c in cands) - window
    seen, version = _recent(lh, lo, clock)
    kept = []
    for c in sorted(cands, key=lambda c: (c["ts"], -c["score"], str(c["row_id"]))):
        key = (c["entry"].entry_id, c["camera_id"])
        if any(abs(c["ts"] - t) <= window for t in seen.get(key, ())):
            continue
        kept.append(c)
        seen.setdefault(key, []).append(c["ts"])  # (the cache is dropped below unless the write lands)
    return kept, version


def _remember(lh: Lakehouse, version: int | None) -> None:
    """After our insert: keep the cache (which already holds the new alerts) when ours was the only
    commit since it was filled, else drop it."""
    from pipelines.watchlist import cache

    hit = cache.get(lh, TABLE, version)
    now_version = cache.table_version(lh, TABLE)
    if hit is not None and version is not None and now_version == version + 1:
        cache.put(lh, TABLE, now_version, hit)
    else:
        cache.drop(lh, TABLE)


def _camera_agencies(lh: Lakehouse, cameras: set[str]) -> dict[str, str]:
    rows = lh.read(
        "cameras",
        columns=["camera_id", "agency"],
        filter=pds.field("camera_id").isin(sorted(c for c in cameras if c)),
    ).to_pylist()
    return {r["camera_id"]: r["agency"] for r in rows}


def _shared_alerts(lh: Lakehouse, cam_agency: dict[str, str], at: dt.datetime) -> dict[str, list[str]]:
    """camera -> agencies its agency shares alerts with (sharing agreements in force at ``at``)."""
    from pipelines.governance.agreements import Agreement, all_agreements

    out: dict[str, list[str]] = defaultdict(list)
    for a in (Agreement.from_row(r) for r in all_agreements(lh)):
        if "alerts" not in a.data_types or not a.in_force(at):
            continue
        for cam, agency in cam_agency.items():
            if (
                a.from_agency == agency
                and (a.cameras is None or cam in a.cameras)
                and a.to_agency not in out[cam]
            ):
                out[cam].append(a.to_agency)
    return out


def recipients(entry: Entry, camera_agency: str | None, shared_with: list[str] | None = None) -> list[str]:
    """Agencies an alert goes to: the owner always; unless the entry is covert, also the camera's
    agency and the agencies it shares the camera's alerts with (sharing agreements)."""
    out = [a for a in (entry.agency,) if a]
    if not entry.covert:
        for a in [camera_agency, *sorted(shared_with or [])]:
            if a and a not in out:
                out.append(a)
    return out


def _alert_row(
    c: dict[str, Any], cam_agency: dict[str, str], shared: dict[str, list[str]], raised_at: dt.datetime
) -> dict[str, Any]:
    e: Entry = c["entry"]
    camera_agency = cam_agency.get(c["camera_id"]) or c["row_agency"]
    return {
        "alert_id": stable_id("alert", e.entry_id, c["camera_id"], c["row_id"]),
        "entry_id": e.entry_id,
        "kind": c["kind"],
        "value": e.value,
        "read_id": c["row_id"] if c["kind"] == "plate" else None,
        "sighting_id": c["row_id"] if c["kind"] == "face" else None,
        "ts": c["ts"],
        "camera_id": c["camera_id"],
        "score": c["score"],
        "distance": c["distance"],
        "matched_text": c["matched_text"],
        "agency": e.agency,
        "camera_agency": camera_agency,
        "recipients": recipients(e, camera_agency, shared.get(c["camera_id"])),
        "covert": e.covert,
        "priority": e.priority,
        "reason": e.reason,
        "case_number": e.case_number,
        "crop_jpeg": c["crop_jpeg"],
        "source_uri": c["source_uri"],
        "raised_at": raised_at,
        "latency_s": round((raised_at - c["ts"]).total_seconds(), 3),
    }


def _notify(lh: Lakehouse, rows: list[dict[str, Any]]) -> None:
    try:
        from pipelines.watchlist.webhooks import dispatch_alerts

        dispatch_alerts(lh, rows)
    except Exception:  # a webhook problem never loses or blocks an alert
        log.exception("could not queue alert webhooks")
