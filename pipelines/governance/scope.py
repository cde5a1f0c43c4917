"""Agency scoping: which rows of which cameras a reader may see (DESIGN.md §8, issue 12.2).

Decided in ONE place, :func:`camera_scope` (``ReadScope.cameras(lh, data_type)``), that every
reader inherits:

- an agency always sees its own rows (the row's ``agency`` column), whether or not the camera is
  registered, plus rows without an agency at the cameras it owns in the registry;
- it sees another agency's rows only through a sharing agreement in force now for that data type
  (:mod:`pipelines.governance.agreements`): of the agreement's cameras, or of every camera of that
  agency when the agreement names none;
- only an administrator is unrestricted (``None``); any other role without an agency sees nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lakehouse import Lakehouse
from lakehouse.timeutil import TimeRange

if TYPE_CHECKING:
    import pyarrow.dataset as pds
from pipelines.governance.context import NO_AGENCY, SearchContext

DATA_TYPES = ("plates", "faces", "video", "alerts", "incidents")


def _q(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _in(col: str, values: Iterable[str]) -> str:
    vals = sorted(values)
    return f"{col} IN ({', '.join(_q(v) for v in vals)})" if vals else "FALSE"


@dataclass(frozen=True)
class CameraScope:
    """What one agency may see.

    ``agency`` its own rows; ``grants`` ``(from_agency, cameras or None = all)`` from agreements in
    force; ``unowned`` the cameras whose rows *without* an agency it may see (its own registered
    cameras and granted cameras registered to the granting agency). ``cameras`` every camera it may
    see something of (for camera lists and pickers). ``within`` (a case's warrant area) limits all of
    it to those cameras; ``all_agencies`` (an administrator under a warrant area) sees every row of
    the ``within`` cameras."""

    agency: str
    cameras: frozenset[str]
    grants: tuple[tuple[str, frozenset[str] | None], ...] = ()
    unowned: frozenset[str] = frozenset()
    within: frozenset[str] | None = None
    all_agencies: bool = False

    def allows(self, camera_id: str | None, row_agency: str | None = None) -> bool:
        if self.within is not None and camera_id not in self.within:
            return False
        if self.all_agencies:
            return True
        if row_agency is not None and row_agency == self.agency:
            return True
        if row_agency is None:
            return camera_id in self.unowned
        return any(a == row_agency and (cams is None or camera_id in cams) for a, cams in self.grants)

    def sql(self, camera_col: str = "camera_id", agency_col: str = "agency") -> str:
        """The visibility as one SQL condition (DuckDB / delta-rs predicate syntax)."""
        if self.all_agencies:
            return _in(camera_col, self.within or ())
        conds = [f"{agency_col} = {_q(self.agency)}"]
        if self.unowned:
            conds.append(f"({agency_col} IS NULL AND {_in(camera_col, self.unowned)})")
        for a, cams in self.grants:
            conds.append(
                f"{agency_col} = {_q(a)}"
                if cams is None
                else f"({agency_col} = {_q(a)} AND {_in(camera_col, cams)})"
            )
        out = "(" + " OR ".join(conds) + ")"
        return out if self.within is None else f"({out} AND {_in(camera_col, self.within)})"

    def expr(self, camera_col: str = "camera_id", agency_col: str = "agency") -> pds.Expression:
        """The visibility as a pyarrow dataset expression."""
        import pyarrow.dataset as pds

        cam, ag = pds.field(camera_col), pds.field(agency_col)
        if self.all_agencies:
            return cam.isin(sorted(self.within or ()))
        e = ag == self.agency
        if self.unowned:
            e = e | (ag.is_null() & cam.isin(sorted(self.unowned)))
        for a, cams in self.grants:
            e = e | ((ag == a) if cams is None else ((ag == a) & cam.isin(sorted(cams))))
        return e if self.within is None else e & cam.isin(sorted(self.within))

    def mask(self, camera_ids: np.ndarray, agencies: np.ndarray) -> np.ndarray:
        """Vectorized visibility over parallel arrays (object/str arrays; ``None`` agencies allowed)."""
        camera_ids = np.asarray(camera_ids, dtype=object)
        agencies = np.asarray(agencies, dtype=object)
        inside = (
            np.ones(len(camera_ids), bool) if self.within is None else np.isin(camera_ids, list(self.within))
        )
        if self.all_agencies:
            return inside
        null = (
            np.array([a is None or a != a for a in agencies], dtype=bool)
            if len(agencies)
            else np.zeros(0, bool)
        )
        m = agencies == self.agency
        if self.unowned:
            m |= null & np.isin(camera_ids, list(self.unowned))
        for a, cams in self.grants:
            g = agencies == a
            m |= g if cams is None else g & np.isin(camera_ids, list(cams))
        visible: np.ndarray = np.asarray(m, dtype=bool) & inside
        return visible

    def narrowed(self, within: frozenset[str] | None) -> CameraScope:
        """This scope limited to the ``within`` cameras (a warrant area)."""
        if within is None:
            return self
        w = within if self.within is None else self.within & within
        return dataclasses.replace(self, within=w, cameras=self.cameras & w if not self.all_agencies else w)


def scope_from(camera_rows: list[dict[str, Any]], agency: str, agreements: Iterable[Any] = ()) -> CameraScope:
    """The scope of ``agency`` from registry rows and the agreements in force (already filtered for
    the data type and the time)."""
    owner = {r["camera_id"]: r.get("agency") for r in camera_rows}
    own = {c for c, a in owner.items() if a == agency}
    grants: list[tuple[str, frozenset[str] | None]] = []
    unowned = set(own)
    visible = set(own)
    for ag in agreements:
        if ag.to_agency != agency or ag.from_agency == agency:
            continue
        if ag.cameras is None:
            theirs = {c for c, a in owner.items() if a == ag.from_agency}
            grants.append((ag.from_agency, None))
        else:
            theirs = set(ag.cameras)
            grants.append((ag.from_agency, frozenset(ag.cameras)))
        visible |= theirs
        unowned |= {c for c in theirs if owner.get(c) == ag.from_agency}
    grants = _merge(grants)
    return CameraScope(
        agency=agency, cameras=frozenset(visible), grants=tuple(grants), unowned=frozenset(unowned)
    )


def _merge(grants: list[tuple[str, frozenset[str] | None]]) -> list[tuple[str, frozenset[str] | None]]:
    by: dict[str, frozenset[str] | None] = {}
    for a, cams in grants:
        if a in by and (by[a] is None or cams is None):
            by[a] = None
        else:
            by[a] = cams if a not in by else (by[a] or frozenset()) | cams  # type: ignore[operator]
    return sorted(by.items(), key=lambda kv: kv[0])


def visible_cameras(
    camera_rows: list[dict[str, Any]],
    agency: str,
    agreements: Iterable[Any] | None = None,
    data_type: str = "plates",
) -> frozenset[str]:
    """Cameras ``agency`` owns or may see through an agreement. With ``agreements=None`` the rows'
    legacy ``shared_with`` are read as the agreements they migrate to."""
    if agreements is None:
        from pipelines.governance.agreements import Agreement, legacy_agreement_rows

        agreements = [Agreement.from_row(r) for r in legacy_agreement_rows(camera_rows)]
    agreements = [a for a in agreements if data_type in getattr(a, "data_types", DATA_TYPES)]
    return scope_from(camera_rows, agency, agreements).cameras


def camera_scope(
    lh: Lakehouse, ctx: SearchContext, data_type: str = "plates", *, at: dt.datetime | None = None
) -> CameraScope | None:
    """The scope of ``ctx`` for ``data_type`` (None: unrestricted, administrators only)."""
    from pipelines.governance.agreements import agreements_for

    if data_type not in DATA_TYPES:
        raise ValueError(f"unknown data type {data_type!r}; one of {', '.join(DATA_TYPES)}")
    if ctx.sees_all_agencies:
        return None
    if not ctx.agency:
        return CameraScope(agency=NO_AGENCY, cameras=frozenset())
    agency = str(ctx.agency)
    rows = lh.read("cameras", columns=["camera_id", "agency"]).to_pylist() if lh.exists("cameras") else []
    return scope_from(rows, agency, agreements_for(lh, agency, data_type, at=at))


# --------------------------------------------------------------------------------------------------
# The one read scope every reader takes.
# --------------------------------------------------------------------------------------------------


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
        """What this reader may see of ``data_type`` (None: unrestricted, administrators only).

        The ONE place visibility is decided: own rows + agreements in force
        (:func:`camera_scope`), limited to the case's warrant area. Under a case number the case is
        checked first (:meth:`check`): closed, expired, another agency's, outside the warrant's
        time -> :class:`~pipelines.governance.cases.ScopeRefused`, logged as a refusal."""
        from pipelines.governance.cases import warrant_cameras

        if data_type not in DATA_TYPES:
            raise ValueError(f"unknown data type {data_type!r}; one of {', '.join(DATA_TYPES)}")
        if (self.ctx.case_number or "").strip():
            self.check(lh, f"{data_type}.read")
        base = camera_scope(lh, self.ctx, data_type)
        within = warrant_cameras(lh, self) if (self.ctx.case_number or "").strip() else None
        if within is None:
            return base
        if base is None:
            return CameraScope(agency="*", cameras=within, within=within, all_agencies=True)
        return base.narrowed(within)

    def begin(self, lh: Lakehouse, action: str, data_type: str, **query: Any) -> dict[str, int]:
        """What a search calls before it reads: refuse (logged) what the case does not allow
        (:meth:`check`) and return the Delta versions of the tables it reads, which its audit row
        keeps for ``pesquisa audit replay``."""
        from pipelines.governance.audit import table_versions
        from pipelines.governance.replay import READ_TABLES

        self.check(lh, action, **query)
        return table_versions(lh, READ_TABLES.get(data_type, ()))

    def check(self, lh: Lakehouse, action: str, **query: Any) -> None:
        """Refuse (logged) a search outside what its case allows: ``plate=``, ``probe_sha256=``,
        ``cameras=``, ``area=`` describe the query (see :func:`pipelines.governance.cases.check_search`)."""
        from pipelines.governance.cases import check_search

        check_search(lh, self, action, **query)

    def replace(self, **changes: Any) -> ReadScope:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {**self.ctx.as_dict(), **self.time.as_dict(), **self.versions.as_dict()}


def registry_cameras(
    lh: Lakehouse, agency: str | None, *, at: dt.datetime | None = None
) -> frozenset[str] | None:
    """The registered cameras ``agency`` may know of (its own plus those of any agreement in force,
    whatever the data type): for camera lists, maps, crime-map coverage and ingest status.
    ``None`` agency (an administrator): every camera (returns None)."""
    from pipelines.governance.agreements import Agreement, all_agreements

    if agency is None:
        return None
    at = at or dt.datetime.now(dt.UTC)
    rows = lh.read("cameras", columns=["camera_id", "agency"]).to_pylist() if lh.exists("cameras") else []
    agreements = [
        a
        for a in (Agreement.from_row(r) for r in all_agreements(lh))
        if a.to_agency == agency and a.in_force(at)
    ]
    registered = {r["camera_id"] for r in rows}
    return frozenset(c for c in scope_from(rows, agency, agreements).cameras if c in registered)


def context_cameras(lh: Lakehouse, ctx: SearchContext) -> frozenset[str] | None:
    """:func:`registry_cameras` for a context (None: an administrator sees every camera)."""
    return None if ctx.sees_all_agencies else registry_cameras(lh, ctx.visible_agency)
