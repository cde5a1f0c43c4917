"""Camera registry import: CSV or GeoJSON -> the ``cameras`` table (upsert on camera_id).

CSV columns: ``camera_id, agency, lat, lon`` required; ``name, kind, heading, stream_uri,
plate_format, shared_with`` optional (``shared_with``: agencies separated by ``;`` or ``|``).
GeoJSON: Point features whose properties carry the same names (``id`` is accepted for camera_id).
Every problem is reported with its line/feature number; nothing is written unless all rows are valid.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lakehouse import Lakehouse
from lakehouse.settings import CameraSettings

KINDS = {"street", "portico", "transit"}
H3_RES = 9


class CameraFileError(ValueError):
    """The registry file cannot be imported; the message names the file and the first problems."""


@dataclass
class CameraImport:
    path: str
    cameras: int
    agencies: dict[str, int]


def _float(value: Any, what: str, lo: float, hi: float) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not lo <= f <= hi:
        raise ValueError(f"{what} {f} is outside [{lo}, {hi}]")
    return f


def known_plate_format(name: str | None) -> str | None:
    """``name`` as the preset it names (case-insensitive), or ValueError naming the known presets."""
    if name is None or not str(name).strip():
        return None
    from pipelines.plates.formats import PRESETS

    by_upper = {k.upper(): k for k in PRESETS}
    key = by_upper.get(str(name).strip().upper())
    if key is None:
        raise ValueError(f"plate_format {name!r} is not a known preset; known: {', '.join(PRESETS)}")
    return key


#: the per-camera settings the registry stores (columns of the ``cameras`` table)
STORED_SETTINGS = ("plate_format", "sample_fps", "gating")


def camera_settings_of(raw: dict[str, Any]) -> CameraSettings:
    """The per-camera settings of a registry row, validated where they enter (bounds, a known plate
    preset). Only :data:`STORED_SETTINGS` are read: the registry has no column for the others yet."""
    try:
        values = {k: raw[k] for k in STORED_SETTINGS if raw.get(k) not in (None, "")}
        if isinstance(values.get("gating"), str):
            values["gating"] = values["gating"].strip().lower()
        settings = CameraSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
    return settings.model_copy(update={"plate_format": known_plate_format(settings.plate_format)})


def _row_to_camera(raw: dict[str, Any]) -> dict[str, Any]:
    import h3

    cid = str(raw.get("camera_id") or raw.get("id") or "").strip()
    if not cid:
        raise ValueError("camera_id is empty")
    agency = str(raw.get("agency") or "").strip()
    if not agency:
        raise ValueError("agency is empty")
    lat = _float(raw.get("lat"), "lat", -90, 90)
    lon = _float(raw.get("lon"), "lon", -180, 180)
    kind = str(raw.get("kind") or "street").strip().lower()
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {sorted(KINDS)}")
    heading = raw.get("heading")
    shared = raw.get("shared_with") or []
    if isinstance(shared, str):
        shared = [s.strip() for s in shared.replace("|", ";").split(";") if s.strip()]
    return {
        "camera_id": cid,
        "agency": agency,
        "name": str(raw.get("name") or cid),
        "lat": lat,
        "lon": lon,
        "h3": h3.latlng_to_cell(lat, lon, H3_RES),
        "kind": kind,
        "heading": None if heading in (None, "") else _float(heading, "heading", 0, 360),
        "stream_uri": raw.get("stream_uri") or None,
        **camera_settings_of(raw).model_dump(include=set(STORED_SETTINGS)),
        "shared_with": list(shared),
    }


def read_camera_file(path: str | Path) -> list[dict[str, Any]]:
    """Parse and validate a registry file. Raises :class:`CameraFileError` listing the bad rows."""
    p = Path(path)
    if not p.is_file():
        raise CameraFileError(f"{p}: no such file")
    raws: list[tuple[str, dict[str, Any]]] = []
    try:
        if p.suffix.lower() in (".geojson", ".json"):
            doc = json.loads(p.read_text(encoding="utf-8"))
            feats = doc.get("features") if isinstance(doc, dict) else None
            if not isinstance(feats, list):
                raise CameraFileError(f"{p}: not a GeoJSON FeatureCollection")
            for i, f in enumerate(feats, 1):
                geom = (f or {}).get("geometry") or {}
                props = dict((f or {}).get("properties") or {})
                if geom.get("type") == "Point" and len(geom.get("coordinates") or []) >= 2:
                    props.setdefault("lon", geom["coordinates"][0])
                    props.setdefault("lat", geom["coordinates"][1])
                raws.append((f"feature {i}", props))
        else:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                missing = {"camera_id", "agency", "lat", "lon"} - set(reader.fieldnames or [])
                if missing:
                    raise CameraFileError(
                        f"{p}: missing column(s) {sorted(missing)}; found {reader.fieldnames}"
                    )
                for i, row in enumerate(reader, 2):
                    raws.append((f"line {i}", row))
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise CameraFileError(f"{p}: cannot parse: {exc}") from exc
    cams, problems, seen = [], [], set()
    for where, raw in raws:
        try:
            cam = _row_to_camera(raw)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if cam["camera_id"] in seen:
            problems.append(f"{where}: duplicate camera_id {cam['camera_id']!r}")
        seen.add(cam["camera_id"])
        cams.append(cam)
    if problems:
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CameraFileError(f"{p}: {len(problems)} invalid row(s): " + "; ".join(problems[:5]) + more)
    if not cams:
        raise CameraFileError(f"{p}: no cameras found")
    return cams


def import_camera_rows(lh: Lakehouse, rows: list[dict[str, Any]]) -> int:
    """Validate camera dicts (same fields as the file layouts) and upsert them. Returns the count."""
    cams, problems = [], []
    for i, raw in enumerate(rows, 1):
        try:
            cams.append(_row_to_camera(raw))
        except ValueError as exc:
            problems.append(f"camera {i}: {exc}")
    if problems:
        raise CameraFileError(f"{len(problems)} invalid camera(s): " + "; ".join(problems[:5]))
    lh.upsert("cameras", cams)
    return len(cams)


def import_cameras(lh: Lakehouse, path: str | Path) -> CameraImport:
    cams = read_camera_file(path)
    lh.upsert("cameras", cams)
    agencies: dict[str, int] = {}
    for c in cams:
        agencies[c["agency"]] = agencies.get(c["agency"], 0) + 1
    return CameraImport(str(path), len(cams), agencies)


def write_camera_csv(cameras: list[dict[str, Any]], path: str | Path) -> None:
    """Write cameras in the CSV layout :func:`read_camera_file` reads."""
    cols = [
        "camera_id",
        "agency",
        "name",
        "lat",
        "lon",
        "kind",
        "heading",
        "stream_uri",
        "plate_format",
        "shared_with",
        "sample_fps",
        "gating",
    ]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for c in cameras:
            row = {k: c.get(k) for k in cols}
            row["shared_with"] = ";".join(c.get("shared_with") or [])
            w.writerow(row)
