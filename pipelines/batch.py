"""Batch extraction over recorded sources: find them, then run the one extraction library call.

Two places sources come from:

- the inbox, ``HOME/inbox/<camera_id>/<YYYY-MM-DD>/<file>`` (new recordings dropped by cameras or
  operators; a ``YYYYMMDDTHHMMSS`` stamp in the file name, or a name starting with
  ``HHMMSS``/``HH-MM-SS``/``HH_MM_SS``, gives the recording's UTC start time);
- the ``videos`` table (every source already registered), for re-processing a day range with a new
  model version (backfills).

:func:`run_sources` groups sources by camera and calls
:func:`pipelines.extract.ingest_paths` — the same call ``pesquisa ingest`` and the Dagster asset
make, so replace-in-one-commit semantics per source and model version come from the extraction
library. Used by ``pesquisa backfill`` and by Dagster's ``extracted_video`` asset.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from lakehouse import Lakehouse
from lakehouse.config import resolve_home

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mkv", ".avi", ".mov", ".ts", ".m4v", ".webm", ".mpg", ".mpeg", ".jpg", ".jpeg", ".png"}
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STAMP_IN_NAME = re.compile(r"(?<!\d)(\d{8})T(\d{2})(\d{2})(\d{2})(?!\d)")
_TIME_AT_START = re.compile(r"^()(\d{2})[-_:]?(\d{2})[-_:]?(\d{2})(?!\d)")


@dataclass(frozen=True)
class Source:
    """One recorded file to extract."""

    path: str  # absolute path or URL
    camera_id: str
    day: dt.date | None = None
    start: dt.datetime | None = None  # UTC start of the recording, when known
    agency: str | None = None
    video_id: str | None = None  # when already registered
    size: int = 0
    mtime_ns: int = 0


@dataclass
class BatchReport:
    """What a batch did, summed over its ingest calls."""

    sources: int = 0
    succeeded: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    plate_reads: int = 0
    face_sightings: int = 0
    frames: int = 0
    seconds: float = 0.0
    model_version: str = ""
    lineage: list[dict[str, Any]] = field(default_factory=list)  # one summary per previous version

    def add(self, report: Any) -> None:
        self.succeeded += _n(getattr(report, "succeeded", 0))
        self.skipped += _n(getattr(report, "skipped", 0))
        self.failed.extend((str(p), str(r)) for p, r in (getattr(report, "failed", None) or []))
        for name in ("plate_reads", "face_sightings", "frames"):
            setattr(self, name, getattr(self, name) + _n(getattr(report, name, 0)))
        self.seconds += float(getattr(report, "seconds", 0.0) or 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "succeeded": self.succeeded,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "plate_reads": self.plate_reads,
            "face_sightings": self.face_sightings,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "model_version": self.model_version,
            **({"lineage": self.lineage} if self.lineage else {}),
        }


def _n(value: Any) -> int:
    """Counts may come as ints or as lists of items."""
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return int(value or 0)


# ---------------------------------------------------------------------------------------- inbox
def inbox_dir(home: str | os.PathLike[str] | None = None) -> Path:
    return resolve_home(home) / "inbox"


def start_from_name(day: dt.date, name: str) -> dt.datetime | None:
    """Recording start from a file name: ``YYYYMMDDTHHMMSS`` anywhere (``cam7_20260302T131100Z.mp4``)
    or a time at its start (``131100.mp4``, ``13-11-00.mp4``) on ``day``; else None."""
    m = _STAMP_IN_NAME.search(name) or _TIME_AT_START.match(name)
    if not m:
        return None
    date_part, hh, mm, ss = m.groups()
    try:
        d = dt.datetime.strptime(date_part, "%Y%m%d").date() if date_part else day
        return dt.datetime(d.year, d.month, d.day, int(hh), int(mm), int(ss), tzinfo=dt.UTC)
    except ValueError:
        return None


def scan_inbox(
    home: str | os.PathLike[str] | None = None,
    *,
    days: Iterable[dt.date] | None = None,
    cameras: Sequence[str] | None = None,
    settle_s: float = 0.0,
    now: float | None = None,
) -> list[Source]:
    """Recorded files under ``HOME/inbox/<camera_id>/<YYYY-MM-DD>/``, sorted by camera, day, name.

    Files modified less than ``settle_s`` seconds ago are left for later (still being copied);
    hidden files and unknown suffixes are ignored."""
    root = inbox_dir(home)
    if not root.is_dir():
        return []
    wanted_days = {d.isoformat() for d in days} if days is not None else None
    wanted_cams = set(cameras) if cameras else None
    now = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    out: list[Source] = []
    for cam_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if wanted_cams is not None and cam_dir.name not in wanted_cams:
            continue
        for day_dir in sorted(p for p in cam_dir.iterdir() if p.is_dir() and _DAY.match(p.name)):
            if wanted_days is not None and day_dir.name not in wanted_days:
                continue
            try:
                day = dt.date.fromisoformat(day_dir.name)
            except ValueError:
                continue
            for f in sorted(day_dir.iterdir()):
                if f.name.startswith(".") or not f.is_file() or f.suffix.lower() not in VIDEO_SUFFIXES:
                    continue
                st = f.stat()
                if now - st.st_mtime < settle_s:
                    continue
                out.append(
                    Source(
                        str(f.resolve()),
                        cam_dir.name,
                        day,
                        start_from_name(day, f.name),
                        size=st.st_size,
                        mtime_ns=st.st_mtime_ns,
                    )
                )
    return out


# ---------------------------------------------------------------------------------------- videos table
def registered_sources(
    lh: Lakehouse, first_day: dt.date, last_day: dt.date, cameras: Sequence[str] | None = None
) -> list[Source]:
    """Sources in the ``videos`` table whose start falls on ``first_day`` .. ``last_day`` (inclusive)."""
    expr = (ds.field("date") >= pa.scalar(first_day, pa.date32())) & (
        ds.field("date") <= pa.scalar(last_day, pa.date32())
    )
    cols = ["video_id", "camera_id", "agency", "uri", "start_ts", "date"]
    rows = lh.read("videos", columns=cols, filter=expr).to_pylist()
    wanted = set(cameras) if cameras else None
    out = [
        Source(r["uri"], r["camera_id"], r["date"], r["start_ts"], r["agency"], r["video_id"])
        for r in rows
        if r["uri"] and (wanted is None or r["camera_id"] in wanted)
    ]
    return sorted(out, key=lambda s: (s.camera_id, s.start or dt.datetime.min.replace(tzinfo=dt.UTC), s.path))


def merge_sources(*groups: Iterable[Source]) -> list[Source]:
    """Union by path (first occurrence wins: put the richest source first)."""
    seen: dict[str, Source] = {}
    for group in groups:
        for s in group:
            seen.setdefault(str(Path(s.path).resolve()) if "://" not in s.path else s.path, s)
    return list(seen.values())


# ---------------------------------------------------------------------------------------- run
IngestFn = Callable[..., Any]
Progress = Callable[[int, int, list[Source], Any], None]


def library_model_version() -> str:
    from pipelines.extract import EXTRACTION_MODEL_VERSION

    return str(EXTRACTION_MODEL_VERSION)


def resolve_model_version(requested: str | None) -> str:
    """The version a run writes: ``requested``, else the library's :data:`EXTRACTION_MODEL_VERSION`.

    ``ingest_paths(..., model_version=V)`` writes rows under ``V`` (a backfill with a tuned
    configuration, or a new release's version); rows of other versions are never touched."""
    if requested is not None and not requested.strip():
        raise ValueError("model version must not be empty")
    return requested.strip() if requested else library_model_version()


def _groups(sources: Sequence[Source]) -> list[list[Source]]:
    """Sources grouped per call: same camera and agency; a known start time needs its own call
    (``ingest_paths`` takes one ``start``)."""
    batches: dict[tuple[str, str | None], list[Source]] = {}
    singles: list[list[Source]] = []
    for s in sources:
        if s.start is not None:
            singles.append([s])
        else:
            batches.setdefault((s.camera_id, s.agency), []).append(s)
    groups = list(batches.values()) + singles
    return sorted(groups, key=lambda g: (g[0].camera_id, g[0].day or dt.date.min, g[0].path))


def run_sources(
    lh: Lakehouse,
    sources: Sequence[Source],
    *,
    model_version: str | None = None,
    ingest: IngestFn | None = None,
    on_group: Progress | None = None,
    **ingest_kwargs: Any,
) -> BatchReport:
    """Extract ``sources`` with ``ingest`` (default :func:`pipelines.extract.ingest_paths`), one call
    per camera group; ``on_group(done, total, group, report)`` after each call. ``ingest_kwargs``
    (``sample_fps``, ``workers``, ``progress`` ...) go to every call."""
    if ingest is None:
        from pipelines.extract import ingest_paths

        ingest = ingest_paths
    version = resolve_model_version(model_version)
    extra: dict[str, Any] = dict(ingest_kwargs)
    if model_version is not None:
        extra["model_version"] = version
    report = BatchReport(sources=len(sources), model_version=version)
    groups = _groups(sources)
    done = 0
    for group in groups:
        first = group[0]
        result = ingest(
            lh,
            [s.path for s in group],
            camera_id=first.camera_id,
            agency=first.agency,
            start=first.start if len(group) == 1 else None,
            **extra,
        )
        report.add(result)
        done += len(group)
        if on_group is not None:
            on_group(done, len(sources), group, result)
    return report


# ---------------------------------------------------------------------------------------- camera groups
#: the group of cameras that are not in the registry (inbox folders of unknown cameras)
UNREGISTERED_GROUP = "unregistered"
#: H3 resolution of a camera group: cameras of one agency in one cell of this size process together
#: (7: ~5 km2; 3,000 city cameras -> tens of groups, far under Dagster's ~100k partitions per asset)
DEFAULT_GROUP_H3_RES = 7
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def camera_group(row: dict[str, Any], resolution: int = DEFAULT_GROUP_H3_RES) -> str:
    """``<agency>.<H3 cell>`` of a camera registry row (``<agency>.nogeo`` without a position)."""
    import h3

    agency = _KEY_SAFE.sub("_", str(row.get("agency") or "none")).strip("_") or "none"
    lat, lon = row.get("lat"), row.get("lon")
    if lat is None or lon is None:
        return f"{agency}.nogeo"
    return f"{agency}.{h3.latlng_to_cell(float(lat), float(lon), resolution)}"


def camera_groups(lh: Lakehouse, resolution: int = DEFAULT_GROUP_H3_RES) -> dict[str, list[str]]:
    """Group key -> its cameras, from the camera registry (sorted)."""
    if not lh.exists("cameras"):
        return {}
    out: dict[str, list[str]] = {}
    for r in lh.read("cameras", columns=["camera_id", "agency", "lat", "lon"]).to_pylist():
        out.setdefault(camera_group(r, resolution), []).append(r["camera_id"])
    return {g: sorted(c) for g, c in sorted(out.items())}


def group_of_camera(lh: Lakehouse, resolution: int = DEFAULT_GROUP_H3_RES) -> dict[str, str]:
    """Camera id -> group key (registered cameras only; others are :data:`UNREGISTERED_GROUP`)."""
    return {c: g for g, cams in camera_groups(lh, resolution).items() for c in cams}


def cameras_of_groups(
    lh: Lakehouse,
    groups: Iterable[str],
    resolution: int = DEFAULT_GROUP_H3_RES,
    inbox_cameras: Iterable[str] = (),
) -> list[str]:
    """The cameras of ``groups``; :data:`UNREGISTERED_GROUP` means the cameras among
    ``inbox_cameras`` (those seen in the inbox or the videos table) that are not in the registry."""
    groups = set(groups)
    by_group = camera_groups(lh, resolution)
    out = {c for g in groups for c in by_group.get(g, [])}
    if UNREGISTERED_GROUP in groups:
        known = {c for cams in by_group.values() for c in cams}
        out |= {c for c in inbox_cameras if c not in known}
    return sorted(out)


# ---------------------------------------------------------------------------------------- backfill
def reprocess(
    lh: Lakehouse,
    sources: Sequence[Source],
    *,
    model_version: str | None = None,
    lineage: bool = True,
    by: str = "backfill",
    **kwargs: Any,
) -> BatchReport:
    """:func:`run_sources`, then a lineage report per previous version of the sources it switched
    (what the new version changed: pipelines/lineage.py), stored in the ``lineage`` table. Used by
    ``pesquisa backfill`` and Dagster's ``extracted_video`` so every backfill ends with one."""
    from pipelines.versions import current_versions

    before = current_versions(lh)
    report = run_sources(lh, sources, model_version=model_version, **kwargs)
    if not lineage:
        return report
    after = current_versions(lh)
    switched: dict[str, list[str]] = {}
    for vid, version in after.items():
        prev = before.get(vid)
        if version == report.model_version and prev is not None and prev != version:
            switched.setdefault(prev, []).append(vid)
    from pipelines.lineage import diff_versions, store_report

    for prev, vids in sorted(switched.items()):
        rep = diff_versions(lh, prev, report.model_version, video_ids=vids)
        store_report(lh, rep, by=by)
        report.lineage.append({"report_id": rep.report_id, "from_version": prev, **rep.totals()})
    return report
