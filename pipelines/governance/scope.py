"""Agency scoping: which cameras' data a user may search (DESIGN.md §8).

An agency sees its own cameras plus every camera whose ``shared_with`` lists it; rows whose own
``agency`` column is the user's agency are visible too (data the agency ingested from a camera that
is not registered yet). An administrator, or a context without an agency, sees everything
(:func:`camera_scope` returns ``None``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lakehouse import Lakehouse
from lakehouse.timeutil import TimeRange
from pipelines.governance.context import SearchContext


@dataclass(frozen=True)
class CameraScope:
    """What one agency may see."""

    agency: str
    cameras: frozenset[str]

    def allows(self, camera_id: str | None, row_agency: str | None = None) -> bool:
        return (camera_id in self.cameras) or (row_agency is not None and row_agency == self.agency)


def visible_cameras(camera_rows: list[dict], agency: str) -> frozenset[str]:
    """Cameras ``agency`` owns or has been shared, from rows of the ``cameras`` table."""
    out = set()
    for r in camera_rows:
        shared = r.get("shared_with") or []
        if r.get("agency") == agency or agency in shared:
            out.add(r["camera_id"])
    return frozenset(out)


def camera_scope(lh: Lakehouse, ctx: SearchContext) -> CameraScope | None:
    """The scope of ``ctx`` (None: unrestricted)."""
    if ctx.sees_all_agencies:
        return None
    rows = lh.read("cameras", columns=["camera_id", "agency", "shared_with"]).to_pylist()
    return CameraScope(agency=str(ctx.agency), cameras=visible_cameras(rows, str(ctx.agency)))


# --------------------------------------------------------------------------------------------------
# The one read scope every reader takes.
# --------------------------------------------------------------------------------------------------

DATA_TYPES = ("plates", "faces", "video", "alerts", "incidents")


@dataclass(frozen=True)
class VersionPolicy:
    """Which model version of each source a reader sees.

    ``model_version=None`` (the default) means each source's *current* version (see the versions
    module of the re-processing work); a string pins every source to that version."""

    model_version: str | None = None

    @property
    def current(self) -> bool:
        return self.model_version is None

    def as_dict(self) -> dict[str, str | None]:
        return {"model_version": self.model_version}


@dataclass(frozen=True)
class WarrantScope:
    """Limits a case's warrant puts on what its searches may touch (None: no limit).

    Filled from the ``cases`` table by the governance work; readers call :meth:`ReadScope.check`
    before reading."""

    area: Any = None  # a pipelines.search.area.Area
    time: TimeRange | None = None
    plates: frozenset[str] | None = None
    faces: frozenset[str] | None = None
    expires_at: Any = None  # aware datetime


@dataclass(frozen=True)
class ReadScope:
    """Who reads, for which case, what they may see, which model version, over which time.

    One typed object that every reader takes (search, route, canvass, movement, counts, indexes,
    app pages, notebooks), so identity, sharing, versions and warrant limits are threaded once.
    Build it with :meth:`of` (the CLI, app and Dagster do) and pass it down unchanged.
    """

    ctx: SearchContext
    time: TimeRange = field(default_factory=TimeRange)
    versions: VersionPolicy = field(default_factory=VersionPolicy)
    warrant: WarrantScope | None = None

    @classmethod
    def of(
        cls,
        ctx: SearchContext,
        *,
        start: Any = None,
        end: Any = None,
        tz: Any = None,
        model_version: str | None = None,
        warrant: WarrantScope | None = None,
    ) -> ReadScope:
        """From a context plus ``--from/--to`` as typed (parsed with :mod:`lakehouse.timeutil`)."""
        return cls(
            ctx=ctx,
            time=TimeRange.parse(start, end, tz=tz),
            versions=VersionPolicy(model_version),
            warrant=warrant,
        )

    # who ------------------------------------------------------------------------------------
    @property
    def user(self) -> str:
        return self.ctx.user

    @property
    def agency(self) -> str | None:
        return self.ctx.agency

    @property
    def case_number(self) -> str:
        return self.ctx.case_number

    @property
    def sees_all_agencies(self) -> bool:
        return self.ctx.sees_all_agencies

    # what -----------------------------------------------------------------------------------
    def cameras(self, lh: Lakehouse, data_type: str = "plates") -> CameraScope | None:
        """The cameras (and own rows) this reader may see for ``data_type`` (None: unrestricted)."""
        if data_type not in DATA_TYPES:
            raise ValueError(f"unknown data type {data_type!r}; one of {', '.join(DATA_TYPES)}")
        return camera_scope(lh, self.ctx)

    def replace(self, **changes: Any) -> ReadScope:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {**self.ctx.as_dict(), **self.time.as_dict(), **self.versions.as_dict()}
