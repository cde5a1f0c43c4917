"""Cases and their warrant scope (issue 12.3).

A case (``cases`` table) has a number, purpose, owning agency, who opened it, a status and an
optional warrant scope: an area, a time range, target plates, target faces (SHA-256 of the allowed
probe photos) and an expiry. :func:`check_search` is the ONE check every reader goes through
(``ReadScope.cameras`` / ``ReadScope.check``): a search under a closed or expired case, under
another agency's case, or outside the warrant's scope is refused, and the refusal is logged.

A case number that is not in the table is accepted as a free-form reference unless the setting
``governance.require_registered_case`` is on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext
from pipelines.governance.identity import lakehouse_home

if TYPE_CHECKING:
    from pipelines.governance.scope import WarrantScope
    from pipelines.search.area import Area

TABLE = "cases"


class CaseError(ValueError):
    """A case that cannot be opened or closed as asked."""


class ScopeRefused(PermissionError):
    """The search is outside what its case allows; it was refused and the refusal logged."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------- area JSON
def area_to_json(area: Any) -> str | None:
    if area is None:
        return None
    d: dict[str, Any] = {}
    if area.bbox is not None:
        d["bbox"] = [float(x) for x in area.bbox]
    if area.near is not None:
        d["near"] = [float(x) for x in area.near]
    if area.h3_cells:
        d["h3"] = list(area.h3_cells)
    if area.polygon is not None:
        d["polygon"] = area.polygon
    return json.dumps(d, sort_keys=True)


def area_from_json(text: str | None) -> Area | None:
    if not text:
        return None
    from pipelines.search.area import Area

    d = json.loads(text)
    return Area(
        bbox=tuple(d["bbox"]) if d.get("bbox") else None,
        near=tuple(d["near"]) if d.get("near") else None,
        h3_cells=tuple(d["h3"]) if d.get("h3") else None,
        polygon=d.get("polygon"),
    )


# ------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    case_number: str
    purpose: str
    agency: str | None
    opened_by: str
    status: str
    row: dict[str, Any]

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def warrant(self) -> WarrantScope:
        from lakehouse.timeutil import TimeRange
        from pipelines.governance.scope import WarrantScope

        r = self.row
        tr = None
        if r.get("time_from") is not None or r.get("time_to") is not None:
            tr = TimeRange(r.get("time_from"), r.get("time_to"))
        plates = r.get("target_plates")
        faces = r.get("target_faces")
        return WarrantScope(
            area=area_from_json(r.get("area")),
            time=tr,
            plates=None if plates is None else frozenset(plates),
            faces=None if faces is None else frozenset(faces),
            expires_at=r.get("expires_at"),
        )


def get_case(lh: Lakehouse, case_number: str) -> Case | None:
    import pyarrow.dataset as pds

    if not case_number or not lh.exists(TABLE):
        return None
    rows = lh.read(TABLE, filter=pds.field("case_number") == case_number.strip()).to_pylist()
    if not rows:
        return None
    r = rows[0]
    return Case(
        r["case_number"],
        r.get("purpose") or "",
        r.get("agency"),
        r.get("opened_by") or "",
        r.get("status") or "open",
        r,
    )


def list_cases(lh: Lakehouse, ctx: SearchContext, *, status: str | None = None) -> list[dict[str, Any]]:
    """Cases of the caller's agency (every case for an admin), newest first."""
    if not lh.exists(TABLE):
        return []
    rows: list[dict[str, Any]] = lh.read(TABLE).to_pylist()
    if not ctx.sees_all_agencies:
        rows = [r for r in rows if r.get("agency") == ctx.agency]
    if status:
        rows = [r for r in rows if r.get("status") == status]
    rows.sort(key=lambda r: r.get("opened_at") or _now(), reverse=True)
    return rows


def _normalize_plate(p: str) -> str:
    return "".join(ch for ch in str(p).upper() if ch.isalnum())


def open_case(
    lh: Lakehouse,
    ctx: SearchContext,
    case_number: str,
    purpose: str,
    *,
    area: Any = None,
    time_from: dt.datetime | None = None,
    time_to: dt.datetime | None = None,
    plates: list[str] | None = None,
    faces: list[str] | None = None,
    expires_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Register a case for the caller's agency (audited). ``faces`` are probe photo paths or their
    SHA-256; the photos are kept with the case."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(lh, ctx, "cases", "cases.open", {"case_number": case_number})
    case_number, purpose = (case_number or "").strip(), (purpose or "").strip()
    if not case_number:
        raise CaseError("a case number is required")
    if len(purpose) < 3:
        raise CaseError("state the case's purpose (at least 3 characters)")
    if time_from is not None and time_to is not None and time_to <= time_from:
        raise CaseError("the warrant's time range ends before it starts")
    if expires_at is not None and expires_at <= _now():
        raise CaseError(f"the warrant's expiry {expires_at.isoformat()} is in the past")
    if get_case(lh, case_number) is not None:
        raise CaseError(f"case {case_number} already exists (see `pesquisa cases list`)")
    face_hashes = None
    if faces is not None:
        face_hashes = []
        for f in faces:
            if len(f) == 64 and all(c in "0123456789abcdef" for c in f.lower()):
                face_hashes.append(f.lower())
            else:
                face_hashes.append(keep_probe(lh, case_number, Path(f).read_bytes(), suffix=Path(f).suffix))
    row = {
        "case_number": case_number,
        "purpose": purpose,
        "agency": ctx.agency,
        "opened_by": ctx.user,
        "opened_at": _now(),
        "status": "open",
        "area": area_to_json(area),
        "time_from": time_from,
        "time_to": time_to,
        "target_plates": None
        if plates is None
        else sorted({_normalize_plate(p) for p in plates if p.strip()}),
        "target_faces": face_hashes,
        "expires_at": expires_at,
    }
    lh.upsert(TABLE, [row])
    audit_admin(
        lh,
        dataclasses.replace(ctx, case_number=case_number, purpose=purpose),
        "cases.open",
        {k: v for k, v in row.items() if k not in ("opened_at",)},
    )
    return row


def close_case(lh: Lakehouse, ctx: SearchContext, case_number: str) -> dict[str, Any]:
    """Close a case: no search may run under it afterwards (audited)."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(lh, ctx, "cases", "cases.close", {"case_number": case_number})
    case = get_case(lh, case_number)
    if case is None:
        raise CaseError(f"no case {case_number!r}")
    if not ctx.sees_all_agencies and case.agency != ctx.agency:  # refused, and the refusal logged
        from pipelines.governance.audit import audit_refusal

        reason = f"case {case_number} belongs to {case.agency}"
        audit_refusal(lh, ctx, "cases.close", reason, {"case_number": case_number})
        raise CaseError(reason)
    if not case.is_open:
        raise CaseError(f"case {case_number} is already {case.status}")
    row = {**case.row, "status": "closed", "closed_by": ctx.user, "closed_at": _now()}
    lh.upsert(TABLE, [row])
    audit_admin(
        lh,
        dataclasses.replace(ctx, case_number=case.case_number, purpose=ctx.purpose or case.purpose),
        "cases.close",
        {"case_number": case.case_number},
    )
    return row


# ------------------------------------------------------------------------------------- probes
def probes_dir(lh: Lakehouse, case_number: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in case_number)[:64]
    safe = f"{safe}-{hashlib.sha256(case_number.encode()).hexdigest()[:8]}"  # "K/1" and "K_1" stay apart
    return lakehouse_home(lh) / "cases" / safe / "probes"


def keep_probe(lh: Lakehouse, case_number: str, data: bytes, *, suffix: str = ".jpg") -> str:
    """Keep a face search's probe photo with its case (owner-only); returns its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    d = probes_dir(lh, case_number)
    d.mkdir(parents=True, exist_ok=True)
    for p in (d, d.parent, d.parent.parent):
        os.chmod(p, 0o700)
    suffix = suffix if suffix and len(suffix) <= 6 and suffix[1:].isalnum() else ".bin"
    out = d / f"{digest}{suffix.lower()}"
    if not out.exists():
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return digest


# ------------------------------------------------------------------------------------- the check
def _require_registered(lh: Lakehouse) -> bool:
    from lakehouse.settings import get_settings

    return bool(get_settings(lakehouse_home(lh)).governance.require_registered_case)


def refusal_reason(
    lh: Lakehouse,
    scope: Any,
    *,
    plate: str | None = None,
    probe_sha256: str | None = None,
    cameras: list[str] | None = None,
    area: Any = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Why ``scope`` (a ReadScope) may not run this search, or None when it may."""
    ctx = scope.ctx
    if not (ctx.case_number or "").strip():
        return "a case number is required"
    if not (ctx.purpose or "").strip():
        return "a purpose is required"
    from pipelines.governance.identity import allowed

    if not allowed(ctx.role, "search"):
        return f"{ctx.user} ({ctx.role}) may not search"
    case = get_case(lh, ctx.case_number)
    if case is None:
        return (
            f"case {ctx.case_number} is not registered (open it with `pesquisa cases open`)"
            if _require_registered(lh)
            else None
        )
    now = now or _now()
    if not case.is_open:
        return f"case {case.case_number} is {case.status}"
    if not ctx.sees_all_agencies and case.agency is not None and case.agency != ctx.agency:
        return f"case {case.case_number} belongs to agency {case.agency}"
    w = case.warrant()
    if w.expires_at is not None and now >= w.expires_at:
        return f"the warrant of case {case.case_number} expired at {w.expires_at.isoformat()}"
    if w.time is not None:
        t = scope.time
        if (w.time.start is not None and (t.start is None or t.start < w.time.start)) or (
            w.time.end is not None and (t.end is None or t.end > w.time.end)
        ):
            return (
                f"case {case.case_number}'s warrant covers {w.time.start} to {w.time.end} only: "
                "pass --from/--to inside it"
            )
    if w.area is not None and (cameras is not None or area is not None):
        from pipelines.search.area import cameras_in_area

        rows = (
            lh.read("cameras", columns=["camera_id", "lat", "lon"]).to_pylist()
            if lh.exists("cameras")
            else []
        )
        inside = cameras_in_area(rows, w.area)
        asked = set(cameras) if cameras is not None else None
        if area is not None:
            in_q = cameras_in_area(rows, area)
            asked = in_q if asked is None else asked & in_q
        if asked is not None and not asked <= inside:
            return f"case {case.case_number}'s warrant covers an area that excludes cameras {', '.join(sorted(asked - inside))}"
    if w.plates is not None and plate is not None:
        if _normalize_plate(plate) not in w.plates or any(ch in plate for ch in "*?"):
            return f"case {case.case_number}'s warrant covers plates {', '.join(sorted(w.plates))} only"
    if w.faces is not None and probe_sha256 is not None and probe_sha256 not in w.faces:
        return f"case {case.case_number}'s warrant does not cover this probe photo"
    return None


def warrant_cameras(lh: Lakehouse, scope: Any) -> frozenset[str] | None:
    """The cameras inside the case's warrant area (None: no area limit)."""
    case = get_case(lh, scope.ctx.case_number) if (scope.ctx.case_number or "").strip() else None
    if case is None:
        return None
    area = case.warrant().area
    if area is None:
        return None
    from pipelines.search.area import cameras_in_area

    rows = lh.read("cameras", columns=["camera_id", "lat", "lon"]).to_pylist() if lh.exists("cameras") else []
    return frozenset(cameras_in_area(rows, area))


def check_search(lh: Lakehouse, scope: Any, action: str, **query: Any) -> None:
    """Refuse (and log the refusal) when the search is outside what its case allows. An audit replay
    (a pinned, read-only Lakehouse) re-runs what was allowed then and is not re-checked."""
    if getattr(lh, "replaying", False):
        return
    reason = refusal_reason(lh, scope, **query)
    if reason is None:
        return
    from pipelines.governance.audit import audit_refusal, mark_logged

    audit_refusal(
        lh,
        scope.ctx,
        action,
        reason,
        {k: v for k, v in query.items() if v is not None and k != "area"}
        | ({"area": query["area"].as_dict()} if query.get("area") is not None else {}),
    )
    raise mark_logged(ScopeRefused(reason))
