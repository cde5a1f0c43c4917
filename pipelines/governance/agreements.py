"""Sharing agreements as data: agency A shares data types T of cameras C (or all) with agency B
from t1 to t2 (issue 12.2). The one source of truth for cross-agency visibility; applied by
:mod:`pipelines.governance.scope` on every read path.

Created and revoked by administrators only, each change audited. The legacy ``cameras.shared_with``
column is migrated into agreements (one per camera and partner agency, all data types, created by
``migration``) the first time agreements are read; afterwards ``shared_with`` is ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lakehouse import Lakehouse
from lakehouse.ids import stable_id
from pipelines.governance.context import SearchContext

TABLE = "sharing_agreements"
DATA_TYPES: tuple[str, ...] = ("plates", "faces", "video", "alerts", "incidents")
SHAREABLE: tuple[str, ...] = ("plates", "faces", "video", "alerts")
MIGRATED_BY = "migration"
_MIGRATED: set[tuple[str, int]] = set()  # (table root, cameras version) already migrated


class AgreementError(ValueError):
    """An agreement that cannot be created or revoked."""


@dataclass(frozen=True)
class Agreement:
    agreement_id: str
    from_agency: str
    to_agency: str
    data_types: frozenset[str]
    cameras: frozenset[str] | None  # None: every camera (and every row) of from_agency
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    revoked_at: dt.datetime | None

    def in_force(self, at: dt.datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_to is None or at < self.valid_to

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Agreement:
        cams = r.get("cameras")
        return cls(
            agreement_id=r["agreement_id"],
            from_agency=r["from_agency"],
            to_agency=r["to_agency"],
            data_types=frozenset(r.get("data_types") or DATA_TYPES),
            cameras=None if cams is None else frozenset(cams),
            valid_from=r.get("valid_from"),
            valid_to=r.get("valid_to"),
            revoked_at=r.get("revoked_at"),
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def legacy_agreement_rows(camera_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``cameras.shared_with`` as agreement rows (deterministic ids, so migration is idempotent)."""
    out = []
    for r in camera_rows:
        for to in r.get("shared_with") or []:
            if not to or to == r.get("agency"):
                continue
            out.append(
                {
                    "agreement_id": stable_id("shared_with", r["camera_id"], r["agency"], to),
                    "from_agency": r["agency"],
                    "to_agency": str(to),
                    "data_types": list(DATA_TYPES),
                    "cameras": [r["camera_id"]],
                    "valid_from": None,
                    "valid_to": None,
                    "created_by": MIGRATED_BY,
                    "created_at": _now(),
                    "note": "migrated from cameras.shared_with",
                }
            )
    return out


def migrate_shared_with(lh: Lakehouse) -> int:
    """Create the agreements that ``cameras.shared_with`` implies and that do not exist yet (a
    revoked migrated agreement stays revoked). Returns how many were added."""
    if not lh.exists("cameras"):
        return 0
    key = (str(lh.storage.root), lh.version("cameras"))
    if key in _MIGRATED:  # this version of the registry was migrated already (in this process)
        return 0
    cams = lh.read("cameras", columns=["camera_id", "agency", "shared_with"]).to_pylist()
    legacy = legacy_agreement_rows(cams)
    if not legacy:
        _MIGRATED.add(key)
        return 0
    have = (
        set(lh.read(TABLE, columns=["agreement_id"]).column("agreement_id").to_pylist())
        if lh.exists(TABLE)
        else set()
    )
    new = [r for r in legacy if r["agreement_id"] not in have]
    if new:
        lh.upsert(TABLE, new)
    _MIGRATED.add(key)
    return len(new)


def all_agreements(lh: Lakehouse) -> list[dict[str, Any]]:
    migrate_shared_with(lh)
    if not lh.exists(TABLE):
        return []
    rows: list[dict[str, Any]] = lh.read(TABLE).to_pylist()
    rows.sort(key=lambda r: (r["from_agency"], r["to_agency"], r["agreement_id"]))
    return rows


def agreements_for(
    lh: Lakehouse, to_agency: str, data_type: str, *, at: dt.datetime | None = None
) -> list[Agreement]:
    """Agreements in force at ``at`` (default now) that share ``data_type`` with ``to_agency``."""
    at = at or _now()
    out = []
    for r in all_agreements(lh):
        a = Agreement.from_row(r)
        if a.to_agency == to_agency and data_type in a.data_types and a.in_force(at):
            out.append(a)
    return out


def _check_types(types: Iterable[str]) -> list[str]:
    types = sorted({t.strip().lower() for t in types if t and t.strip()})
    bad = [t for t in types if t not in DATA_TYPES]
    if bad or not types:
        raise AgreementError(
            f"data types must be some of {', '.join(SHAREABLE)} (got {', '.join(bad) or 'none'})"
        )
    return types


def add_agreement(
    lh: Lakehouse,
    ctx: SearchContext,
    *,
    from_agency: str,
    to_agency: str,
    data_types: Iterable[str],
    cameras: Iterable[str] | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Create an agreement (admins only; audited). Returns the row."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(lh, ctx, "administer", "share.add", {"from_agency": from_agency, "to_agency": to_agency})
    from_agency, to_agency = (from_agency or "").strip(), (to_agency or "").strip()
    if not from_agency or not to_agency:
        raise AgreementError("both --from and --to agencies are required")
    if from_agency == to_agency:
        raise AgreementError("an agency always sees its own data: --from and --to must differ")
    types = _check_types(data_types)
    cams = None if cameras is None else sorted({str(c).strip() for c in cameras if str(c).strip()})
    if cams is not None and not cams:
        raise AgreementError("--camera given without a camera id")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise AgreementError("the agreement ends before it starts")
    now = _now()
    row = {
        "agreement_id": stable_id(
            "agreement", from_agency, to_agency, ",".join(types), ",".join(cams or ["*"]), now.isoformat()
        ),
        "from_agency": from_agency,
        "to_agency": to_agency,
        "data_types": types,
        "cameras": cams,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "created_by": ctx.user,
        "created_at": now,
        "revoked_by": None,
        "revoked_at": None,
        "note": note or None,
    }
    lh.upsert(TABLE, [row])
    audit_admin(lh, ctx, "share.add", {k: v for k, v in row.items() if k not in ("created_at",)})
    return row


def revoke_agreement(lh: Lakehouse, ctx: SearchContext, agreement_id: str) -> dict[str, Any]:
    """Revoke an agreement from now on (admins only; audited). The row is kept as history."""
    from pipelines.governance.audit import audit_admin, require_allowed

    require_allowed(lh, ctx, "administer", "share.revoke", {"agreement_id": agreement_id})
    rows = [r for r in all_agreements(lh) if r["agreement_id"] == agreement_id.strip()]
    if not rows:
        raise AgreementError(f"no agreement {agreement_id!r} (see `pesquisa share list`)")
    row = rows[0]
    if row.get("revoked_at") is not None:
        raise AgreementError(f"agreement {agreement_id} was already revoked at {row['revoked_at']}")
    row = {**row, "revoked_by": ctx.user, "revoked_at": _now()}
    lh.upsert(TABLE, [row])
    audit_admin(
        lh,
        ctx,
        "share.revoke",
        {
            "agreement_id": row["agreement_id"],
            "from_agency": row["from_agency"],
            "to_agency": row["to_agency"],
        },
    )
    return row
