"""Row filters shared by every search: time range, cameras, area (-> cameras) and agency scope.

A :class:`RowFilter` is resolved once per search from the reader's
:class:`~pipelines.governance.scope.ReadScope` (who reads, the time range, the version policy, the
warrant) plus the query's own cameras and area (:func:`resolve_filter`), and then applied three
ways: as DuckDB SQL (with ``date`` partition pruning), as numpy masks over index columns, and to
single rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from lakehouse.timeutil import to_epoch_us
from pipelines.governance.scope import CameraScope, ReadScope
from pipelines.search.area import Area, cameras_in_area

UTC = dt.UTC


def _us(t: dt.datetime) -> int:
    return to_epoch_us(t)


@dataclass(frozen=True)
class RowFilter:
    """``start`` inclusive, ``end`` exclusive; ``cameras`` the allowed cameras (None: any);
    ``scope`` the agency scope (None: unrestricted); ``versions`` which model version of each source
    (a :class:`pipelines.versions.VersionFilter`; None: every row)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    cameras: frozenset[str] | None = None
    scope: CameraScope | None = None
    versions: Any = None

    @property
    def nothing(self) -> bool:
        """True when no row can pass (empty camera set, or an empty time range)."""
        if self.cameras is not None and not self.cameras:
            return True
        return self.start is not None and self.end is not None and self.end <= self.start

    @property
    def start_us(self) -> int | None:
        return None if self.start is None else _us(self.start)

    @property
    def end_us(self) -> int | None:
        return None if self.end is None else _us(self.end)

    def sql(self, con: Any = None) -> str:
        """DuckDB conditions (``TRUE`` when unrestricted). ``date`` bounds prune partitions. With the
        connection ``con``, many hidden model versions become an anti-join on a relation registered
        on it (cheaper than a long literal list)."""
        conds: list[str] = []
        if self.start is not None:
            conds.append(f"date >= DATE '{self.start.date().isoformat()}'")
            conds.append(f"ts >= TIMESTAMPTZ '{self.start.isoformat()}'")
        if self.end is not None:
            last = (self.end - dt.timedelta(microseconds=1)).date()
            conds.append(f"date <= DATE '{last.isoformat()}'")
            conds.append(f"ts < TIMESTAMPTZ '{self.end.isoformat()}'")
        if self.cameras is not None:
            conds.append(_in("camera_id", self.cameras))
        if self.scope is not None:
            conds.append(self.scope.sql())
        if self.versions is not None and not self.versions.empty:
            conds.append(self.versions.sql_on(con) if con is not None else self.versions.sql())
        return " AND ".join(conds) if conds else "TRUE"

    def dataset_expr(self) -> Any:
        """The same conditions as a pyarrow dataset expression (None when unrestricted)."""
        import pyarrow as pa
        import pyarrow.dataset as pds

        expr = None

        def add(e: Any) -> None:
            nonlocal expr
            expr = e if expr is None else expr & e

        ts_type = pa.timestamp("us", tz="UTC")
        if self.start is not None:
            add(pds.field("date") >= pa.scalar(self.start.date(), pa.date32()))
            add(pds.field("ts") >= pa.scalar(self.start, ts_type))
        if self.end is not None:
            last = (self.end - dt.timedelta(microseconds=1)).date()
            add(pds.field("date") <= pa.scalar(last, pa.date32()))
            add(pds.field("ts") < pa.scalar(self.end, ts_type))
        if self.cameras is not None:
            add(pds.field("camera_id").isin(sorted(self.cameras)))
        if self.scope is not None:
            add(self.scope.expr())
        if self.versions is not None and not self.versions.empty:
            add(self.versions.dataset_expr())
        return expr

    def mask(
        self,
        ts_us: np.ndarray,
        camera_ids: np.ndarray,
        agencies: np.ndarray,
        video_ids: np.ndarray | None = None,
        model_versions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Vectorized filter over parallel arrays (camera ids / agencies as object or str arrays);
        the version filter applies when ``video_ids`` and ``model_versions`` are given."""
        m = np.ones(len(ts_us), dtype=bool)
        if self.start is not None:
            m &= ts_us >= self.start_us
        if self.end is not None:
            m &= ts_us < self.end_us
        if self.cameras is not None:
            m &= np.isin(camera_ids, list(self.cameras))
        if self.scope is not None:
            m &= self.scope.mask(camera_ids, agencies)
        if (
            video_ids is not None
            and model_versions is not None
            and self.versions is not None
            and not self.versions.empty
        ):
            m &= self.versions.mask(video_ids, model_versions)
        return m

    def allows_version(self, video_id: str | None, model_version: str | None) -> bool:
        return self.versions is None or self.versions.allows(video_id, model_version)

    def allows(self, ts: dt.datetime, camera_id: str, agency: str | None) -> bool:
        if self.start is not None and ts < self.start:
            return False
        if self.end is not None and ts >= self.end:
            return False
        if self.cameras is not None and camera_id not in self.cameras:
            return False
        return self.scope is None or self.scope.allows(camera_id, agency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "cameras": sorted(self.cameras) if self.cameras is not None else None,
            "scope_agency": self.scope.agency if self.scope else None,
            **({"versions": self.versions.as_dict()} if self.versions is not None else {}),
        }


def _in(col: str, values: Iterable[str]) -> str:
    vals = sorted(values)
    if not vals:
        return "FALSE"
    return f"{col} IN ({', '.join(sql_literal(v) for v in vals)})"


def camera_rows(lh: Lakehouse) -> list[dict[str, Any]]:
    """The camera registry (small table) as dicts."""
    rows: list[dict[str, Any]] = lh.read(
        "cameras", columns=["camera_id", "agency", "name", "lat", "lon", "shared_with"]
    ).to_pylist()
    return rows


def resolve_filter(
    lh: Lakehouse,
    scope: ReadScope,
    *,
    data_type: str = "plates",
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    cams: list[dict[str, Any]] | None = None,
) -> RowFilter:
    """The one filter of a read: ``scope``'s time range, agency visibility for ``data_type``
    (:meth:`ReadScope.cameras`) and model version policy (each source's current version, or the
    pinned one: :func:`pipelines.versions.version_filter`), narrowed by the query's explicit
    ``cameras`` and ``area``.

    ``cams`` (rows of the camera registry) saves a read when the caller already has them."""
    time_range = scope.time
    allowed: set[str] | None = None
    if cameras is not None:
        allowed = {str(c) for c in cameras}
    if area is not None:
        rows = cams if cams is not None else camera_rows(lh)
        inside = cameras_in_area(rows, area)
        allowed = inside if allowed is None else allowed & inside
    from pipelines.versions import version_filter

    versions = version_filter(lh, scope.versions)  # read before the rows / index (pipelines/versions.py)
    visible = scope.cameras(lh, data_type)
    return RowFilter(
        start=time_range.start,
        end=time_range.end,
        cameras=None if allowed is None else frozenset(allowed),
        scope=visible,
        versions=versions,
    )
