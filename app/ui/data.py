"""Cached table readers for the pages that show tables rather than search them (cameras, ingest
status, audit). Every cache entry is keyed by the Delta table version, so a new commit shows up on
the next rerun and an unchanged table is never read twice. Searches are NOT cached: each one goes
through the search library, which audits it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import streamlit as st

from lakehouse import Lakehouse


def table_version(lh: Lakehouse, name: str) -> int:
    """Current version of a table, or -1 when it does not exist yet (nothing ingested)."""
    return lh.version(name) if lh.exists(name) else -1


# Cached functions take the lakehouse as ``_lh`` (not hashed) and are keyed by its table root and
# the table version.


# ------------------------------------------------------------------ cameras
@st.cache_data(show_spinner=False, max_entries=8)
def _cameras(_lh: Lakehouse, root: str, version: int) -> pd.DataFrame:
    if version < 0:
        return pd.DataFrame(columns=["camera_id", "agency", "name", "lat", "lon", "kind", "shared_with"])
    df = _lh.read("cameras").to_pandas()
    df["shared_with"] = df["shared_with"].map(lambda v: list(v) if v is not None else [])
    return df.sort_values(["agency", "camera_id"]).reset_index(drop=True)


def visible_camera_ids(lh: Lakehouse, agency: str | None) -> frozenset[str] | None:
    """Registered cameras ``agency`` may know of: its own plus those of sharing agreements in force
    (:func:`pipelines.governance.scope.registry_cameras`); None (all) for an administrator."""
    from pipelines.governance.scope import registry_cameras

    return registry_cameras(lh, agency)


def cameras(lh: Lakehouse, agency: str | None) -> pd.DataFrame:
    """Cameras visible to ``agency`` (its own plus those shared with it by agreement; all for ``None``)."""
    df = _cameras(lh, lh.storage.root, table_version(lh, "cameras"))
    if agency is None or df.empty:
        return df
    ids = visible_camera_ids(lh, agency) or frozenset()
    return df[df["camera_id"].isin(ids)].reset_index(drop=True)


def camera_labels(cams: pd.DataFrame) -> dict[str, str]:
    """camera_id -> "name (camera_id)" for pickers and tables."""
    return {
        r.camera_id: (f"{r.name} ({r.camera_id})" if r.name and r.name != r.camera_id else r.camera_id)
        for r in cams.itertuples()
    }


@st.cache_data(show_spinner=False, max_entries=32)
def _counts(
    _lh: Lakehouse,
    root: str,
    table: str,
    version: int,
    since: date | None,
    versions_key: tuple[int, int] = (-1, -1),
) -> dict[str, dict]:
    from pipelines.versions import version_filter

    if version < 0:
        return {}
    dataset = _lh.dataset(table)
    flt = (ds.field("date") >= pa.scalar(since, pa.date32())) if since else None
    current = version_filter(_lh).dataset_expr()  # each pass once: only each source's current model version
    if current is not None:
        flt = current if flt is None else flt & current
    t = dataset.to_table(columns=["camera_id", "ts"], filter=flt)
    if t.num_rows == 0:
        return {}
    g = t.group_by("camera_id").aggregate([("ts", "count"), ("ts", "max")])
    return {
        cid: {"count": int(n), "last": last}
        for cid, n, last in zip(
            g["camera_id"].to_pylist(), g["ts_count"].to_pylist(), g["ts_max"].to_pylist(), strict=True
        )
    }


def camera_activity(lh: Lakehouse, days: int | None, agency: str | None = None) -> pd.DataFrame:
    """Per camera: plate reads and face sightings in the last ``days`` days (all time for None),
    and the time of the latest one. Reads only the partitions in the window. With ``agency``, only
    the cameras it may know of."""
    since = (datetime.now(UTC) - timedelta(days=days)).date() if days else None
    root = lh.storage.root
    vkey = (table_version(lh, "processing_runs"), table_version(lh, "source_versions"))  # a switch re-counts
    plates = _counts(lh, root, "plate_reads", table_version(lh, "plate_reads"), since, vkey)
    faces = _counts(lh, root, "face_sightings", table_version(lh, "face_sightings"), since, vkey)
    rows = []
    visible = visible_camera_ids(lh, agency) if agency is not None else None
    for cid in sorted(set(plates) | set(faces)):
        if visible is not None and cid not in visible:
            continue
        lasts = [x["last"] for x in (plates.get(cid), faces.get(cid)) if x and x["last"] is not None]
        rows.append(
            {
                "camera_id": cid,
                "plate_reads": plates.get(cid, {}).get("count", 0),
                "face_sightings": faces.get(cid, {}).get("count", 0),
                "last_seen": max(lasts) if lasts else None,
            }
        )
    return pd.DataFrame(rows, columns=["camera_id", "plate_reads", "face_sightings", "last_seen"])


# ------------------------------------------------------------------ ingest status
# the ingest page calls pipelines.extract.ingest_status.ingest_status (scoped runs, table sizes and
# videos in one library call); no unscoped totals are read here


# ------------------------------------------------------------------ audit log
@st.cache_data(show_spinner=False, max_entries=16)
def _audit(
    _lh: Lakehouse, root: str, version: int, since: date, agency: str | None, case: str
) -> pd.DataFrame:
    if version < 0:
        return pd.DataFrame()
    from pipelines.governance import audit_rows

    rows = audit_rows(_lh, agency=agency, start=datetime.combine(since, datetime.min.time(), tzinfo=UTC))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    if case:
        df = df[df["case_number"].fillna("").str.lower().str.contains(case.lower(), regex=False)]
    return df.drop(columns=["date"], errors="ignore").reset_index(drop=True)


def audit_entries(lh: Lakehouse, since: date, agency: str | None, case: str = "") -> pd.DataFrame:
    return _audit(lh, lh.storage.root, table_version(lh, "audit_log"), since, agency, case.strip())


# ------------------------------------------------------------------ media for results
def attach_crops(lh: Lakehouse, table: str, key: str, rows: list[dict]) -> list[dict]:
    """Add ``crop_jpeg`` to search hits (:func:`pipelines.search.media.attach_crops`)."""
    from pipelines.search.media import attach_crops as attach

    return attach(lh, table, key, rows)
