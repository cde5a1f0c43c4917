"""Row filters shared by every search: time range, cameras, area (-> cameras) and agency scope.

A :class:`RowFilter` is resolved once per search (one read of the small ``cameras`` table) and then
applied three ways: as DuckDB SQL (with ``date`` partition pruning), as numpy masks over index
columns, and to single rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lakehouse import Lakehouse
from lakehouse.store import sql_literal
from pipelines.governance.context import SearchContext
from pipelines.governance.scope import CameraScope, visible_cameras
from pipelines.search.area import Area, cameras_in_area

UTC = dt.UTC


def to_utc(value: Any, *, end: bool = False) -> dt.datetime | None:
    """A datetime, date or ISO string -> aware UTC datetime (naive times are taken as UTC).

    With ``end=True`` a bare date means the end of that day (the next midnight, exclusive)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
        return d + dt.timedelta(days=1) if end else d
    text = str(value).strip()
    try:
        if len(text) == 10:
            return to_utc(dt.date.fromisoformat(text), end=end)
        return to_utc(dt.datetime.fromisoformat(text.replace(" ", "T")))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {value!r} (e.g. 2024-05-01 or 2024-05-01T08:00:00Z)") from None


def _us(t: dt.datetime) -> int:
    return int((t - dt.datetime(1970, 1, 1, tzinfo=UTC)) / dt.timedelta(microseconds=1))


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
            own = f"agency = {sql_literal(self.scope.agency)}"
            conds.append(f"({_in('camera_id', self.scope.cameras)} OR {own})" if self.scope.cameras else own)
        if self.versions is not None and not self.versions.empty:
            conds.append(self.versions.sql_on(con) if con is not None else self.versions.sql())
        return " AND ".join(conds) if conds else "TRUE"

    def dataset_expr(self):
        """The same conditions as a pyarrow dataset expression (None when unrestricted)."""
        import pyarrow as pa
        import pyarrow.dataset as pds

        expr = None

        def add(e):
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
            own = pds.field("agency") == self.scope.agency
            add(pds.field("camera_id").isin(sorted(self.scope.cameras)) | own if self.scope.cameras else own)
        if self.versions is not None and not self.versions.empty:
            add(self.versions.dataset_expr())
        return expr

    def mask(self, ts_us: np.ndarray, camera_ids: np.ndarray, agencies: np.ndarray,
             video_ids: np.ndarray | None = None, model_versions: np.ndarray | None = None) -> np.ndarray:
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
            m &= np.isin(camera_ids, list(self.scope.cameras)) | (agencies == self.scope.agency)
        if video_ids is not None and model_versions is not None and self.versions is not None \
                and not self.versions.empty:
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
    return lh.read("cameras", columns=["camera_id", "agency", "name", "lat", "lon", "shared_with"]).to_pylist()


def resolve_filter(
    lh: Lakehouse,
    ctx: SearchContext,
    *,
    start: Any = None,
    end: Any = None,
    cameras: Iterable[str] | None = None,
    area: Area | None = None,
    cams: list[dict[str, Any]] | None = None,
) -> RowFilter:
    """Combine explicit cameras, the area's cameras and the agency scope into one filter."""
    s, e = to_utc(start), to_utc(end, end=True)
    need_registry = area is not None or not ctx.sees_all_agencies
    rows = cams if cams is not None else (camera_rows(lh) if need_registry else [])
    allowed: set[str] | None = None
    if cameras is not None:
        allowed = {str(c) for c in cameras}
    if area is not None:
        inside = cameras_in_area(rows, area)
        allowed = inside if allowed is None else allowed & inside
    scope = None
    if not ctx.sees_all_agencies:
        scope = CameraScope(agency=str(ctx.agency), cameras=visible_cameras(rows, str(ctx.agency)))
    return RowFilter(start=s, end=e, cameras=None if allowed is None else frozenset(allowed), scope=scope)
