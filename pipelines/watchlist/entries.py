"""Watchlist entries: reading the active ones, and who may see which (DESIGN.md §8).

An entry is a plate pattern (exact, wildcard ``?``/``*``, or OCR-tolerant with an edit budget) or a
face (one or more enrolled 128-d descriptors). Entries are never deleted: removing one sets
``active = false`` so past alerts keep naming it. Covert entries are seen only by their owning
agency; the others are visible to every agency (both control centres watch for the stolen car).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.dataset as pds

from lakehouse import Lakehouse
from pipelines.governance.context import SearchContext

TABLE = "watchlist"
KINDS = ("plate", "face")
#: roles that may add, change or remove entries (analysts and engineers may not)
EDIT_ROLES = frozenset({"supervisor", "investigator", "admin"})


class WatchlistError(ValueError):
    """A watchlist request that cannot be carried out; nothing was written."""


@dataclass(frozen=True)
class Entry:
    """One watchlist entry as the matcher uses it."""

    entry_id: str
    kind: str
    value: str
    agency: str | None
    covert: bool = False
    priority: int = 3
    reason: str = ""
    case_number: str = ""
    fuzzy: float = 0.0
    max_distance: float | None = None
    embeddings: np.ndarray | None = field(default=None, repr=False)  # (m, 128) float32 for faces
    expires_at: dt.datetime | None = None
    active: bool = True

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Entry:
        embs = r.get("embeddings") or ([r["embedding"]] if r.get("embedding") else None)
        return cls(
            entry_id=r["entry_id"],
            kind=r["kind"],
            value=r.get("value") or "",
            agency=r.get("agency"),
            covert=bool(r.get("covert")),
            priority=int(r["priority"]) if r.get("priority") is not None else 3,
            reason=r.get("reason") or "",
            case_number=r.get("case_number") or "",
            fuzzy=float(r.get("fuzzy") or 0.0),
            max_distance=float(r["max_distance"]) if r.get("max_distance") is not None else None,
            embeddings=np.asarray(embs, dtype=np.float32) if embs else None,
            expires_at=r.get("expires_at"),
            active=r.get("active") is not False,
        )

    def alive(self, now: dt.datetime) -> bool:
        return self.active and (self.expires_at is None or self.expires_at > now)


def read_entries(lh: Lakehouse, *, include_removed: bool = False) -> list[dict[str, Any]]:
    """Every entry row (newest first); removed ones only with ``include_removed``."""
    flt = None if include_removed else (pds.field("active") != False) | pds.field("active").is_null()  # noqa: E712
    rows = lh.read(TABLE, filter=flt).to_pylist()
    rows.sort(key=lambda r: (r.get("created_at") or dt.datetime.min.replace(tzinfo=dt.UTC), r["entry_id"]),
              reverse=True)
    return rows


def active_entries(lh: Lakehouse, now: dt.datetime | None = None) -> list[Entry]:
    """Entries that alarm at ``now``: not removed, not expired."""
    now = now or dt.datetime.now(dt.UTC)
    return [e for e in (Entry.from_row(r) for r in read_entries(lh)) if e.alive(now)]


def visible_to(row: dict[str, Any], agency: str | None) -> bool:
    """May ``agency`` (None: all agencies, an administrator) see this entry?"""
    return agency is None or row.get("agency") == agency or not row.get("covert")


def list_entries(
    lh: Lakehouse, ctx: SearchContext, *, include_removed: bool = False, include_expired: bool = True,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Entries ``ctx`` may see (covert ones only for their agency), without embeddings, newest first.
    Each row carries ``status``: active | expired | removed."""
    now = now or dt.datetime.now(dt.UTC)
    agency = None if ctx.sees_all_agencies else ctx.agency
    out = []
    for r in read_entries(lh, include_removed=include_removed):
        if not visible_to(r, agency):
            continue
        status = "removed" if r.get("active") is False else (
            "expired" if r.get("expires_at") is not None and r["expires_at"] <= now else "active")
        if status == "expired" and not include_expired:
            continue
        embs = r.pop("embeddings", None) or []
        r.pop("embedding", None)
        r["photos"] = len(embs)
        r["status"] = status
        out.append(r)
    return out


def get_entry(lh: Lakehouse, entry_id: str) -> dict[str, Any] | None:
    rows = lh.read(TABLE, filter=pds.field("entry_id") == entry_id).to_pylist()
    return rows[0] if rows else None


def check_editor(ctx: SearchContext) -> None:
    """Refuse roles that may not keep watchlists (the case requirement is checked by the caller)."""
    if ctx.role not in EDIT_ROLES:
        raise PermissionError(f"role {ctx.role!r} may not change watchlists (needs one of "
                              f"{', '.join(sorted(EDIT_ROLES))})")
