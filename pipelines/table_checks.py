"""Data checks over the extraction tables, as plain functions (Dagster's asset checks call them).

Every check returns a :class:`CheckOutcome` (passed, a one-line summary, per-item details) and can
really fail:

- :func:`schema_conformance`: each stored table has its spec's columns with the spec's types;
- :func:`freshness`: each camera that produced data has a row newer than ``max_age`` (a camera
  that went dark is listed);
- :func:`rate_anomalies`: each camera's plate read rate and face rate (passes per minute of
  processed video) on a day against its OWN trailing baseline (median of the previous days); a
  camera whose rate collapsed under ``min_ratio`` x baseline is flagged;
- :func:`null_and_range`: columns that can really be null or out of range (empty plate text,
  confidence / quality / det_score outside 0..1, negative offsets, boxes that are not 4 numbers,
  face descriptors that are not 128-d, times outside their source's recording).

Readers of the rows see each source's current model version only (pipelines/versions.py).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds

from lakehouse import Lakehouse
from lakehouse.specs import TABLES
from pipelines.versions import version_filter

EMBEDDING_DIM = 128


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    summary: str
    details: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "summary": self.summary,
            "details": self.details,
            **self.metrics,
        }


def _days_expr(first: dt.date, last: dt.date, cameras: Sequence[str] | None = None) -> Any:
    e = (pds.field("date") >= pa.scalar(first, pa.date32())) & (
        pds.field("date") <= pa.scalar(last, pa.date32())
    )
    if cameras:
        e &= pds.field("camera_id").isin(list(cameras))
    return e


def _current(lh: Lakehouse, name: str, columns: list[str], expr: Any) -> pa.Table:
    vf = version_filter(lh)
    e = vf.dataset_expr()
    cols = sorted(set(columns) | ({"video_id", "model_version"} if e is not None else set()))
    return lh.read(name, columns=cols, filter=expr if e is None else expr & e)


# ------------------------------------------------------------------------------------------ schema
def schema_conformance(lh: Lakehouse, names: Sequence[str] | None = None) -> CheckOutcome:
    problems = []
    checked = 0
    for name in names or list(TABLES):
        if not lh.exists(name):
            continue
        checked += 1
        have = {f.name: f.type for f in lh.dataset(name).schema}
        for f in TABLES[name].schema:
            if f.name not in have:
                problems.append({"table": name, "column": f.name, "problem": "missing"})
            elif not have[f.name].equals(f.type) and not _compatible(have[f.name], f.type):
                problems.append(
                    {"table": name, "column": f.name, "problem": f"type {have[f.name]} != {f.type}"}
                )
    return CheckOutcome(
        "schema_conformance",
        not problems,
        f"{checked} tables, {len(problems)} column problems",
        problems,
        {"tables": checked},
    )


def _compatible(a: pa.DataType, b: pa.DataType) -> bool:
    """Delta stores strings as large_string in some readers; treat those as equal."""
    norm = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    if pa.types.is_list(a) or pa.types.is_large_list(a):
        return (pa.types.is_list(b) or pa.types.is_large_list(b)) and _compatible(a.value_type, b.value_type)
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        return a.num_fields == b.num_fields and all(
            a.field(i).name == b.field(i).name and _compatible(a.field(i).type, b.field(i).type)
            for i in range(a.num_fields)
        )
    return norm.get(a, a).equals(norm.get(b, b))


# ------------------------------------------------------------------------------------------ freshness
def freshness(
    lh: Lakehouse,
    *,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = dt.timedelta(hours=26),
    cameras: Sequence[str] | None = None,
) -> CheckOutcome:
    """Cameras whose newest plate read / face sighting / processed video is older than ``max_age``."""
    now = now or dt.datetime.now(dt.UTC)
    latest: dict[str, dt.datetime] = {}
    for name, col in (("plate_reads", "ts"), ("face_sightings", "ts"), ("videos", "end_ts")):
        if not lh.exists(name):
            continue
        con = lh.duckdb([name])
        rows = con.execute(f"SELECT camera_id, max({col}) FROM {name} GROUP BY camera_id").fetchall()
        for cam, ts in rows:
            if cam is None or ts is None:
                continue
            ts = ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
            if cam not in latest or ts > latest[cam]:
                latest[cam] = ts
    wanted = set(cameras) if cameras else None
    stale = [
        {"camera_id": c, "latest": t.isoformat(), "age_h": round((now - t).total_seconds() / 3600, 1)}
        for c, t in sorted(latest.items())
        if (wanted is None or c in wanted) and now - t > max_age
    ]
    n = len([c for c in latest if wanted is None or c in wanted])
    return CheckOutcome(
        "freshness",
        not stale,
        f"{len(stale)} of {n} cameras older than {max_age}",
        stale,
        {"cameras": n, "stale": len(stale)},
    )


# ------------------------------------------------------------------------------------------ rates
def video_minutes(
    lh: Lakehouse, first: dt.date, last: dt.date, cameras: Sequence[str] | None = None
) -> dict[tuple[str, dt.date], float]:
    """(camera, day) -> minutes of processed video (at least 1 s per source, stills count as 1 s)."""
    if not lh.exists("videos"):
        return {}
    t = lh.read(
        "videos",
        columns=["camera_id", "start_ts", "end_ts", "status", "date"],
        filter=_days_expr(first, last, cameras),
    )
    out: dict[tuple[str, dt.date], float] = {}
    for r in t.to_pylist():
        if r["status"] == "failed":
            continue
        secs = (
            max((r["end_ts"] - r["start_ts"]).total_seconds(), 1.0) if r["start_ts"] and r["end_ts"] else 1.0
        )
        key = (r["camera_id"], r["date"])
        out[key] = out.get(key, 0.0) + secs / 60.0
    return out


def _counts(
    lh: Lakehouse, name: str, first: dt.date, last: dt.date, cameras: Sequence[str] | None
) -> dict[tuple[str, dt.date], int]:
    if not lh.exists(name):
        return {}
    t = _current(lh, name, ["camera_id", "date"], _days_expr(first, last, cameras))
    if t.num_rows == 0:
        return {}
    g = t.group_by(["camera_id", "date"]).aggregate([("camera_id", "count")])
    return {
        (c, d): n
        for c, d, n in zip(
            g["camera_id"].to_pylist(), g["date"].to_pylist(), g["camera_id_count"].to_pylist(), strict=True
        )
    }


def camera_rates(
    lh: Lakehouse, first: dt.date, last: dt.date, cameras: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Per camera and day: video minutes, plate passes, face sightings and their rates per minute."""
    minutes = video_minutes(lh, first, last, cameras)
    plates = _counts(lh, "plate_reads", first, last, cameras)
    faces = _counts(lh, "face_sightings", first, last, cameras)
    out = []
    for (cam, day), mins in sorted(minutes.items()):
        p, f = plates.get((cam, day), 0), faces.get((cam, day), 0)
        out.append(
            {
                "camera_id": cam,
                "date": day,
                "minutes": round(mins, 3),
                "plate_reads": p,
                "face_sightings": f,
                "plate_rate": p / mins if mins else 0.0,
                "face_rate": f / mins if mins else 0.0,
            }
        )
    return out


def rate_anomalies(
    lh: Lakehouse,
    day: dt.date,
    *,
    cameras: Sequence[str] | None = None,
    baseline_days: int = 7,
    min_ratio: float = 0.5,
    min_baseline_days: int = 2,
    metric: str = "plate_rate",
) -> CheckOutcome:
    """Cameras whose ``metric`` (plate_rate | face_rate) on ``day`` fell under ``min_ratio`` x the
    median of their own previous ``baseline_days`` days (cameras with fewer than
    ``min_baseline_days`` baseline days, or a zero baseline, are not judged)."""
    if metric not in ("plate_rate", "face_rate"):
        raise ValueError("metric must be plate_rate or face_rate")
    rows = camera_rates(lh, day - dt.timedelta(days=baseline_days), day, cameras)
    by_cam: dict[str, dict[dt.date, float]] = {}
    for r in rows:
        by_cam.setdefault(r["camera_id"], {})[r["date"]] = r[metric]
    flagged: list[dict[str, Any]] = []
    judged, details = 0, []
    for cam, series in sorted(by_cam.items()):
        if day not in series:
            continue
        base = [v for d, v in series.items() if d < day]
        if len(base) < min_baseline_days:
            continue
        baseline = statistics.median(base)
        if baseline <= 0:
            continue
        judged += 1
        ratio = series[day] / baseline
        item = {
            "camera_id": cam,
            "rate": round(series[day], 4),
            "baseline": round(baseline, 4),
            "ratio": round(ratio, 3),
            "baseline_days": len(base),
        }
        details.append(item)
        if ratio < min_ratio:
            flagged.append(item)
    return CheckOutcome(
        f"{metric}_vs_baseline",
        not flagged,
        f"{len(flagged)} of {judged} cameras under {min_ratio:.0%} of their {metric} baseline on {day}"
        + (": " + ", ".join(f["camera_id"] for f in flagged) if flagged else ""),
        details,
        {"judged": judged, "flagged": [f["camera_id"] for f in flagged]},
    )


# ------------------------------------------------------------------------------------------ null / range
def null_and_range(
    lh: Lakehouse, first: dt.date, last: dt.date, cameras: Sequence[str] | None = None
) -> CheckOutcome:
    problems: list[dict[str, Any]] = []
    expr = _days_expr(first, last, cameras)

    def report(table: str, column: str, problem: str, mask: pa.Array, ids: pa.ChunkedArray) -> None:
        n = pc.sum(pc.fill_null(mask, False)).as_py() or 0
        if n:
            bad = ids.filter(pc.fill_null(mask, False)).slice(0, 3).to_pylist()
            problems.append(
                {"table": table, "column": column, "problem": problem, "rows": int(n), "examples": bad}
            )

    if lh.exists("plate_reads"):
        t = _current(lh, "plate_reads", ["read_id", "plate", "confidence", "offset_s", "bbox"], expr)
        if t.num_rows:
            plate = t["plate"].cast(pa.string())
            report(
                "plate_reads",
                "plate",
                "null or empty",
                pc.or_kleene(pc.is_null(plate), pc.equal(pc.utf8_trim_whitespace(plate), "")),
                t["read_id"],
            )
            conf = t["confidence"]
            report(
                "plate_reads",
                "confidence",
                "outside 0..1",
                pc.or_kleene(pc.less(conf, 0), pc.greater(conf, 1)),
                t["read_id"],
            )
            report("plate_reads", "offset_s", "negative", pc.less(t["offset_s"], 0), t["read_id"])
            report(
                "plate_reads",
                "bbox",
                "not 4 numbers",
                pc.not_equal(pc.list_value_length(t["bbox"]), 4),
                t["read_id"],
            )
    if lh.exists("face_sightings"):
        t = _current(
            lh, "face_sightings", ["sighting_id", "quality", "det_score", "embedding", "offset_s"], expr
        )
        if t.num_rows:
            for col in ("quality", "det_score"):
                report(
                    "face_sightings",
                    col,
                    "outside 0..1",
                    pc.or_kleene(pc.less(t[col], 0), pc.greater(t[col], 1)),
                    t["sighting_id"],
                )
            report(
                "face_sightings",
                "embedding",
                f"null or not {EMBEDDING_DIM}-d",
                pc.or_kleene(
                    pc.is_null(t["embedding"]),
                    pc.not_equal(pc.list_value_length(t["embedding"]), EMBEDDING_DIM),
                ),
                t["sighting_id"],
            )
            report("face_sightings", "offset_s", "negative", pc.less(t["offset_s"], 0), t["sighting_id"])
    return CheckOutcome(
        "null_and_range",
        not problems,
        f"{sum(p['rows'] for p in problems)} rows with null or out-of-range values",
        problems,
    )
