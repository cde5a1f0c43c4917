"""Lineage: what model version ``V2`` changed against ``V1``, per source and in total.

For every source (``video_id``) that has rows of either version in the selection (cameras, source
time range), passes are matched between the versions by their time in the source (``offset_s``
within :data:`MATCH_TOLERANCE_S`, nearest first, one-to-one):

- plate passes *added* (only V2 has them), *dropped* (only V1), *re-read* (both, plate text changed:
  both texts listed), *same*;
- face sightings added / dropped (same matching);
- watchlist hits that would change: active plate entries (pattern match, as the watchlist does) and
  face entries (descriptor distance) hit by a changed pass under one version but not the other;
- search results of open cases that would change: each open case's plate searches (the ``cases``
  table when the governance work provides it, else the case numbers in the audit log, with the
  patterns they searched) matched against the changed texts.

:func:`diff_versions` computes a :class:`LineageReport`; :func:`store_report` writes it to the
``lineage`` table (one row per source plus one total row, sharing a ``report_id``) in one commit.
The CLI (``pesquisa lineage diff``), the Dagster ``lineage_report`` asset and the engineers' app page
call these functions.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds

from lakehouse import Lakehouse
from lakehouse.ids import stable_id

#: two passes of one source are the same pass when their times in the source differ by at most this
MATCH_TOLERANCE_S = 1.0
#: face watchlist: a sighting hits an entry within this descriptor distance (dlib's usual threshold)
FACE_MATCH_DISTANCE = 0.6

PLATE_COLUMNS = ["read_id", "video_id", "camera_id", "ts", "offset_s", "plate", "model_version"]
FACE_COLUMNS = ["sighting_id", "video_id", "camera_id", "ts", "offset_s", "embedding", "model_version"]


@dataclass
class SourceDiff:
    video_id: str
    camera_id: str | None
    passes_added: list[dict[str, Any]] = field(default_factory=list)
    passes_dropped: list[dict[str, Any]] = field(default_factory=list)
    passes_reread: list[dict[str, Any]] = field(default_factory=list)  # ts, offset_s, old, new
    passes_same: int = 0
    faces_added: list[dict[str, Any]] = field(default_factory=list)
    faces_dropped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.passes_added
            or self.passes_dropped
            or self.passes_reread
            or self.faces_added
            or self.faces_dropped
        )

    def counts(self) -> dict[str, int]:
        return {
            "passes_added": len(self.passes_added),
            "passes_dropped": len(self.passes_dropped),
            "passes_reread": len(self.passes_reread),
            "passes_same": self.passes_same,
            "faces_added": len(self.faces_added),
            "faces_dropped": len(self.faces_dropped),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "camera_id": self.camera_id,
            **self.counts(),
            "reread": self.passes_reread,
            "added": [p["plate"] for p in self.passes_added],
            "dropped": [p["plate"] for p in self.passes_dropped],
        }


@dataclass
class LineageReport:
    from_version: str
    to_version: str
    selection: dict[str, Any]
    sources: list[SourceDiff] = field(default_factory=list)
    watchlist: list[dict[str, Any]] = field(default_factory=list)  # entry_id, kind, change, ...
    cases: list[dict[str, Any]] = field(default_factory=list)  # case_number, pattern, gained, lost
    cases_from: str = "audit_log"
    report_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def totals(self) -> dict[str, int]:
        out = {"sources": len(self.sources), "sources_changed": sum(s.changed for s in self.sources)}
        for s in self.sources:
            for k, v in s.counts().items():
                out[k] = out.get(k, 0) + v
        for k in (
            "passes_added",
            "passes_dropped",
            "passes_reread",
            "passes_same",
            "faces_added",
            "faces_dropped",
        ):
            out.setdefault(k, 0)
        out["watchlist_changes"] = len(self.watchlist)
        out["case_changes"] = len(self.cases)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "selection": self.selection,
            "totals": self.totals(),
            "sources": [s.as_dict() for s in self.sources],
            "watchlist": self.watchlist,
            "cases": self.cases,
            "cases_from": self.cases_from,
        }


# ------------------------------------------------------------------------------------------ read
def _expr(
    versions: Sequence[str], cameras: Sequence[str] | None, start: dt.datetime | None, end: dt.datetime | None
) -> Any:
    e = pds.field("model_version").isin(list(versions))
    if cameras:
        e &= pds.field("camera_id").isin(list(cameras))
    ts = pa.timestamp("us", tz="UTC")
    if start is not None:
        e &= (pds.field("date") >= pa.scalar(start.date(), pa.date32())) & (
            pds.field("ts") >= pa.scalar(start, ts)
        )
    if end is not None:
        last = (end - dt.timedelta(microseconds=1)).date()
        e &= (pds.field("date") <= pa.scalar(last, pa.date32())) & (pds.field("ts") < pa.scalar(end, ts))
    return e


def match_passes(
    old: list[dict[str, Any]], new: list[dict[str, Any]], tol: float = MATCH_TOLERANCE_S
) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """One-to-one matching by ``offset_s`` (nearest pairs first). Returns (pairs, only old, only new)."""
    cand = []
    for i, a in enumerate(old):
        for j, b in enumerate(new):
            d = abs((a.get("offset_s") or 0.0) - (b.get("offset_s") or 0.0))
            if d <= tol:
                same_text = 0 if a.get("plate") is not None and a.get("plate") == b.get("plate") else 1
                cand.append((d, same_text, i, j))
    cand.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, _, i, j in cand:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((old[i], new[j]))
    return (
        pairs,
        [a for i, a in enumerate(old) if i not in used_a],
        [b for j, b in enumerate(new) if j not in used_b],
    )


def _pass(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "ts": r["ts"],
        "offset_s": r.get("offset_s"),
        "plate": r.get("plate"),
        "read_id": r.get("read_id"),
    }


def _face(r: dict[str, Any]) -> dict[str, Any]:
    return {"ts": r["ts"], "offset_s": r.get("offset_s"), "sighting_id": r.get("sighting_id")}


# ------------------------------------------------------------------------------------------ watchlist / cases
def _plate_entries(lh: Lakehouse, now: dt.datetime) -> list[dict[str, Any]]:
    if not lh.exists("watchlist"):
        return []
    t = lh.read("watchlist")
    out = []
    for r in t.to_pylist():
        if (
            r.get("removed_at") or r.get("removed") or r.get("active") is False
        ):  # removed entries keep their row
            continue
        if r.get("expires_at") is not None and r["expires_at"] <= now:
            continue
        out.append(r)
    return out


def _matcher(pattern: str) -> Any:
    from pipelines.search import plate_match as pm

    try:
        p = pm.parse_pattern(pattern, 0)
    except ValueError:
        return None

    def hit(text: str | None) -> bool:
        if not text:
            return False
        return bool(np.isfinite(pm.match_texts(p, [text])[0]))

    return hit


def open_case_searches(lh: Lakehouse) -> tuple[list[tuple[str, str]], str]:
    """(case_number, searched plate pattern) of open cases, and where the cases came from.

    Open cases: the ``cases`` table's rows whose status is open (when that table exists), else every
    case number in the audit log. Patterns: the plate searches those cases made (audit log)."""
    from lakehouse.specs import TABLES

    open_cases: set[str] | None = None
    source = "audit_log"
    if "cases" in TABLES and lh.exists("cases"):
        rows = lh.read("cases").to_pylist()
        open_cases = {
            r.get("case_number") or r.get("case_id")
            for r in rows
            if str(r.get("status") or "open").lower() == "open"
        }
        open_cases.discard(None)
        source = "cases"
    if not lh.exists("audit_log"):
        return [], source
    out = set()
    for r in lh.read("audit_log", columns=["case_number", "action", "parameters"]).to_pylist():
        if not (r["action"] or "").startswith("plates.") or not r["case_number"]:
            continue
        if open_cases is not None and r["case_number"] not in open_cases:
            continue
        try:
            params = json.loads(r["parameters"] or "{}")
        except ValueError:
            continue
        pattern = params.get("pattern") or params.get("plate")
        if pattern:
            out.add((r["case_number"], str(pattern)))
    return sorted(out), source


def _watchlist_changes(
    lh: Lakehouse, diffs: list[SourceDiff], faces_by_id: dict[str, np.ndarray], now: dt.datetime
) -> list[dict[str, Any]]:
    entries = _plate_entries(lh, now)
    out: list[dict[str, Any]] = []
    for e in entries:
        if e.get("kind") == "plate" and e.get("value"):
            hit = _matcher(e["value"])
            if hit is None:
                continue
            for s in diffs:
                changes = (
                    [(p["plate"], None, p) for p in s.passes_dropped]
                    + [(None, p["plate"], p) for p in s.passes_added]
                    + [(p["old"], p["new"], p) for p in s.passes_reread]
                )
                for old, new, p in changes:
                    h_old, h_new = hit(old), hit(new)
                    if h_old != h_new:
                        out.append(
                            {
                                "entry_id": e["entry_id"],
                                "kind": "plate",
                                "value": e["value"],
                                "change": "gained" if h_new else "lost",
                                "video_id": s.video_id,
                                "camera_id": s.camera_id,
                                "ts": p["ts"],
                                "old": old,
                                "new": new,
                            }
                        )
        elif e.get("kind") == "face" and e.get("embedding"):
            probe = np.asarray(e["embedding"], np.float32)
            for s in diffs:
                for change, rows in (("gained", s.faces_added), ("lost", s.faces_dropped)):
                    for f in rows:
                        vec = faces_by_id.get(f["sighting_id"])
                        if vec is not None and float(np.linalg.norm(vec - probe)) <= FACE_MATCH_DISTANCE:
                            out.append(
                                {
                                    "entry_id": e["entry_id"],
                                    "kind": "face",
                                    "value": None,
                                    "change": change,
                                    "video_id": s.video_id,
                                    "camera_id": s.camera_id,
                                    "ts": f["ts"],
                                    "old": None,
                                    "new": None,
                                }
                            )
    return out


def _case_changes(searches: list[tuple[str, str]], diffs: list[SourceDiff]) -> list[dict[str, Any]]:
    out = []
    for case, pattern in searches:
        hit = _matcher(pattern)
        if hit is None:
            continue
        gained, lost = [], []
        for s in diffs:
            changes = (
                [(p["plate"], None, p) for p in s.passes_dropped]
                + [(None, p["plate"], p) for p in s.passes_added]
                + [(p["old"], p["new"], p) for p in s.passes_reread]
            )
            for old, new, p in changes:
                h_old, h_new = hit(old), hit(new)
                item = {
                    "video_id": s.video_id,
                    "camera_id": s.camera_id,
                    "ts": p["ts"],
                    "old": old,
                    "new": new,
                }
                if h_new and not h_old:
                    gained.append(item)
                elif h_old and not h_new:
                    lost.append(item)
        if gained or lost:
            out.append({"case_number": case, "pattern": pattern, "gained": gained, "lost": lost})
    return out


# ------------------------------------------------------------------------------------------ diff
def diff_versions(
    lh: Lakehouse,
    from_version: str,
    to_version: str,
    *,
    cameras: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    video_ids: Sequence[str] | None = None,
    tolerance_s: float = MATCH_TOLERANCE_S,
    now: dt.datetime | None = None,
) -> LineageReport:
    """Compare two model versions over the selection (see the module doc); ``video_ids`` limits it
    to those sources (a backfill's re-processed sources)."""
    if not from_version or not to_version:
        raise ValueError("two model versions are required")
    if from_version == to_version:
        raise ValueError(f"both versions are {from_version!r}: nothing to compare")
    now = now or dt.datetime.now(dt.UTC)
    versions = [from_version, to_version]
    expr = _expr(versions, cameras, start, end)
    if video_ids is not None:
        expr &= pds.field("video_id").isin(sorted(set(video_ids)))
    plates = lh.read("plate_reads", columns=PLATE_COLUMNS, filter=expr).to_pylist()
    faces = lh.read("face_sightings", columns=FACE_COLUMNS, filter=expr).to_pylist()
    by_src: dict[str, dict[str, Any]] = {}
    for r in plates:
        d = by_src.setdefault(r["video_id"], {"camera_id": r["camera_id"], "p": ([], []), "f": ([], [])})
        d["p"][versions.index(r["model_version"])].append(r)
    for r in faces:
        d = by_src.setdefault(r["video_id"], {"camera_id": r["camera_id"], "p": ([], []), "f": ([], [])})
        d["f"][versions.index(r["model_version"])].append(r)
    faces_by_id = {
        r["sighting_id"]: np.asarray(r["embedding"], np.float32) for r in faces if r.get("embedding")
    }
    report = LineageReport(
        from_version,
        to_version,
        selection={
            "cameras": sorted(cameras) if cameras else None,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "tolerance_s": tolerance_s,
            "sources": len(set(video_ids)) if video_ids is not None else None,
        },
    )
    for vid in sorted(by_src, key=lambda v: (by_src[v]["camera_id"] or "", v or "")):
        d = by_src[vid]
        s = SourceDiff(vid, d["camera_id"])
        old, new = (sorted(x, key=lambda r: r.get("offset_s") or 0.0) for x in d["p"])
        pairs, only_old, only_new = match_passes(old, new, tolerance_s)
        for a, b in pairs:
            if (a.get("plate") or "") != (b.get("plate") or ""):
                s.passes_reread.append(
                    {
                        "ts": b["ts"],
                        "offset_s": b.get("offset_s"),
                        "old": a.get("plate"),
                        "new": b.get("plate"),
                        "old_read_id": a.get("read_id"),
                        "new_read_id": b.get("read_id"),
                    }
                )
            else:
                s.passes_same += 1
        s.passes_dropped = [_pass(r) for r in only_old]
        s.passes_added = [_pass(r) for r in only_new]
        fold, fnew = (sorted(x, key=lambda r: r.get("offset_s") or 0.0) for x in d["f"])
        _, f_only_old, f_only_new = match_passes(fold, fnew, tolerance_s)
        s.faces_dropped = [_face(r) for r in f_only_old]
        s.faces_added = [_face(r) for r in f_only_new]
        report.sources.append(s)
    report.watchlist = _watchlist_changes(lh, report.sources, faces_by_id, now)
    searches, report.cases_from = open_case_searches(lh)
    report.cases = _case_changes(searches, report.sources)
    return report


def _json(obj: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.date):
            return o.isoformat()
        return str(o)

    return json.dumps(obj, default=default, sort_keys=True)


def store_report(lh: Lakehouse, report: LineageReport, *, by: str, now: dt.datetime | None = None) -> int:
    """The report as ``lineage`` rows (one per source, one total), in one commit."""
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    base = {
        "report_id": report.report_id,
        "from_version": report.from_version,
        "to_version": report.to_version,
        "created_at": now,
        "created_by": by,
    }
    for s in report.sources:
        c = s.counts()
        rows.append(
            {
                **base,
                "lineage_id": stable_id(report.report_id, s.video_id),
                "scope": "source",
                "video_id": s.video_id,
                "camera_id": s.camera_id,
                **c,
                "details": _json(
                    {
                        "reread": s.passes_reread,
                        "added": s.passes_added,
                        "dropped": s.passes_dropped,
                        "watchlist": [w for w in report.watchlist if w["video_id"] == s.video_id],
                    }
                ),
            }
        )
    t = report.totals()
    rows.append(
        {
            **base,
            "lineage_id": stable_id(report.report_id, "total"),
            "scope": "total",
            "video_id": None,
            "camera_id": None,
            **{
                k: t[k]
                for k in (
                    "passes_added",
                    "passes_dropped",
                    "passes_reread",
                    "passes_same",
                    "faces_added",
                    "faces_dropped",
                )
            },
            "details": _json(
                {
                    "selection": report.selection,
                    "totals": t,
                    "watchlist": report.watchlist,
                    "cases": report.cases,
                    "cases_from": report.cases_from,
                }
            ),
        }
    )
    return lh.append("lineage", rows)


def lineage_reports(lh: Lakehouse, limit: int = 50) -> list[dict[str, Any]]:
    """Stored reports, newest first: one dict per report (its total row, details decoded)."""
    if not lh.exists("lineage"):
        return []
    t = lh.read("lineage", filter=pds.field("scope") == "total").to_pylist()
    t.sort(key=lambda r: r["created_at"], reverse=True)
    out = []
    for r in t[:limit]:
        r = dict(r)
        r["details"] = json.loads(r["details"] or "{}")
        out.append(r)
    return out


def report_sources(lh: Lakehouse, report_id: str) -> list[dict[str, Any]]:
    """The per-source rows of one stored report (details decoded)."""
    rows = lh.read(
        "lineage", filter=(pds.field("report_id") == report_id) & (pds.field("scope") == "source")
    ).to_pylist()
    for r in rows:
        r["details"] = json.loads(r["details"] or "{}")
    return sorted(rows, key=lambda r: (r["camera_id"] or "", r["video_id"] or ""))


def lineage_overview(lh: Lakehouse, report_id: str | None = None, limit: int = 50) -> dict[str, Any]:
    """What the engineers' lineage page shows, in one call: stored reports (newest first), the
    per-source rows of ``report_id`` (default the newest), and model versions per camera."""
    from pipelines.versions import version_summary

    reports = lineage_reports(lh, limit)
    chosen = report_id or (reports[0]["report_id"] if reports else None)
    return {
        "reports": reports,
        "report_id": chosen,
        "sources": report_sources(lh, chosen) if chosen else [],
        "versions": version_summary(lh),
    }
