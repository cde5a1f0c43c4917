"""Ingest status as one reader sees it (the app's ingest page; issue 12.2): extraction runs, table
sizes and videos by status, each scoped like every other read path.

A non-administrator sees the runs and rows of its own agency (whether or not the camera is
registered) and of cameras shared with it by an agreement in force for that data type
(:meth:`pipelines.governance.scope.ReadScope.cameras`); ``processing_runs`` has no agency column,
so a run takes the agency of its video (``videos.agency``), else the camera's owner; the camera
registry counts the cameras the reader may know of. Tables that carry no camera (cases, holds, the
audit log) are shown to administrators only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pds

from lakehouse import TABLES, Lakehouse

if TYPE_CHECKING:
    from pipelines.governance.context import SearchContext
    from pipelines.governance.scope import CameraScope

#: the data type (sharing agreements) of each camera-scoped table the page counts
TABLE_DATA_TYPE: dict[str, str] = {
    "plate_reads": "plates",
    "face_sightings": "faces",
    "alerts": "alerts",
    "videos": "video",
    "processing_runs": "video",
}


@dataclass(frozen=True)
class IngestStatus:
    runs: pd.DataFrame  # processing_runs rows the reader may see
    tables: pd.DataFrame  # table, version, rows (visible rows)
    videos_by_status: pd.DataFrame  # status, videos


def _scope(lh: Lakehouse, ctx: SearchContext, data_type: str) -> CameraScope | None:
    from pipelines.governance.scope import ReadScope

    return ReadScope.of(ctx).cameras(lh, data_type)


def _runs(lh: Lakehouse, ctx: SearchContext) -> pd.DataFrame:
    if not lh.exists("processing_runs"):
        return pd.DataFrame()
    t = lh.read("processing_runs")
    scope = _scope(lh, ctx, "video")
    if scope is None or t.num_rows == 0:
        return t.to_pandas()
    owner: dict[str, Any] = {}
    if lh.exists("videos"):
        v = lh.read("videos", columns=["video_id", "agency"])
        owner = dict(zip(v["video_id"].to_pylist(), v["agency"].to_pylist(), strict=True))
    import numpy as np

    agencies = np.array([owner.get(vid) for vid in t["video_id"].to_pylist()], dtype=object)
    mask = scope.mask(t["camera_id"].to_numpy(zero_copy_only=False), agencies)
    return t.filter(pa.array(mask)).to_pandas().reset_index(drop=True)


def _visible(lh: Lakehouse, ctx: SearchContext, name: str) -> pds.Expression | None | bool:
    """The row filter of ``name`` for ``ctx``: None = every row, False = not shown at all."""
    if ctx.sees_all_agencies:
        return None
    if name == "cameras":  # the registry: its own cameras and those of agreements in force
        from pipelines.governance.scope import context_cameras

        cams = context_cameras(lh, ctx)
        return None if cams is None else pds.field("camera_id").isin(sorted(cams))
    data_type = TABLE_DATA_TYPE.get(name)
    if data_type is None or name == "processing_runs":
        return False
    scope = _scope(lh, ctx, data_type)
    return None if scope is None else scope.expr()


def ingest_status(lh: Lakehouse, ctx: SearchContext) -> IngestStatus:
    """What the ingest page shows to ``ctx``: runs, visible rows per table, videos by status."""
    runs = _runs(lh, ctx)
    rows = []
    for name in TABLES:
        if name == "processing_runs":
            exists = lh.exists(name)
            rows.append({"table": name, "version": lh.version(name) if exists else None, "rows": len(runs)})
            continue
        flt = _visible(lh, ctx, name)
        if flt is False:
            continue
        if not lh.exists(name):
            rows.append({"table": name, "version": None, "rows": 0})
            continue
        if flt is None:
            n = lh.count(name)
        else:  # lh.read: its fallback filters files a MERGE rewrote (string_view columns)
            n = lh.read(name, columns=[lh.table(name).schema().fields[0].name], filter=flt).num_rows
        rows.append({"table": name, "version": lh.version(name), "rows": int(n)})
    videos = pd.DataFrame(columns=["status", "videos"])
    if lh.exists("videos"):
        flt = _visible(lh, ctx, "videos")
        t = lh.read("videos", columns=["status"], filter=flt if isinstance(flt, pds.Expression) else None)
        if t.num_rows:
            g = t.group_by("status").aggregate([("status", "count")])
            videos = pd.DataFrame(
                {"status": g["status"].to_pylist(), "videos": g["status_count"].to_pylist()}
            )
    return IngestStatus(runs=runs, tables=pd.DataFrame(rows), videos_by_status=videos)


__all__ = ["TABLE_DATA_TYPE", "IngestStatus", "ingest_status"]
