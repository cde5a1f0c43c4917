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
from pipelines.governance.scope import ReadScope

TABLE = "watchlist"
KINDS = ("plate", "face")


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
    """Every entry row (newest first); removed ones only with ``include_removed``. The table is read
    once per version in a process (:mod:`pipelines.watchlist.cache`); callers get their own dicts."""
    from pipelines.watchlist import cache

    version = cache.table_version(lh, TABLE)
    rows = cache.get(lh, TABLE, version)
    if rows is None:
        rows = lh.read(TABLE).to_pylist()
        rows.sort(
            key=lambda r: (r.get("created_at") or dt.datetime.min.replace(tzinfo=dt.UTC), r["entry_id"]),
            reverse=True,
        )
        cache.put(lh, TABLE, version, rows)
    return [dict(r) for r in rows if include_removed or r.get("active") is not False]


def active_entries(lh: Lakehouse, now: dt.datetime | None = None) -> list[Entry]:
    """Entries that alarm at ``now``: not removed, not expired."""
    now = now or dt.datetime.now(dt.UTC)
    return [e for e in current_entries(lh) if e.alive(now)]


def current_entries(lh: Lakehouse) -> list[Entry]:
    """Entries not removed (expired ones included: check :meth:`Entry.alive`), built once per
    watchlist version in a process."""
    from pipelines.watchlist import cache

    version = cache.table_version(lh, TABLE)
    got = cache.get(lh, TABLE + "#entries", version)
    if got is None:
        got = [Entry.from_row(r) for r in read_entries(lh)]
        cache.put(lh, TABLE + "#entries", version, got)
    return got


def visible_to(row: dict[str, Any], agency: str | None) -> bool:
    """May ``agency`` (None: all agencies, an administrator) see this entry?"""
    return agency is None or row.get("agency") == agency or not row.get("covert")


def list_entries(
    lh: Lakehouse,
    scope: ReadScope | SearchContext,
    *,
    include_removed: bool = False,
    include_expired: bool = True,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Entries the reader may see (covert ones only for their agency), without embeddings, newest
    first. Each row carries ``status``: active | expired | removed."""
    ctx = scope.ctx if isinstance(scope, ReadScope) else scope
    now = now or dt.datetime.now(dt.UTC)
    agency = ctx.visible_agency
    out = []
    for r in read_entries(lh, include_removed=include_removed):
        if not visible_to(r, agency):
            continue
        status = (
            "removed"
            if r.get("active") is False
            else ("expired" if r.get("expires_at") is not None and r["expires_at"] <= now else "active")
        )
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
    """Refuse roles without the ``watchlist`` permission (the governance roles table); the case
    requirement is checked by the caller. Raises ``PermissionDenied`` (a PermissionError)."""
    from pipelines.governance.identity import require_permission

    require_permission(ctx.role, "watchlist", user=ctx.user)
