"""Adding, changing, removing and importing watchlist entries. Every change needs a case and a
purpose (:func:`pipelines.governance.audit.require_case`), an editing role, and is audited.

Adding an entry also reports (``AddResult``): hygiene warnings (:mod:`pipelines.watchlist.hygiene`)
and the historical hits — the entry run over past reads and sightings under the entry's case
(:mod:`pipelines.watchlist.historical`).

Entry ids are deterministic (agency + kind + normalized pattern and fuzziness, or the photos'
contents), so adding the same entry again, or importing the same CSV twice, updates it instead of
creating a duplicate.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from lakehouse.ids import stable_id
from lakehouse.timeutil import TimeRange, parse_instant
from pipelines.governance.audit import audit, logs_refusals, require_case
from pipelines.governance.context import SearchContext
from pipelines.governance.scope import ReadScope
from pipelines.search import plate_match as pm
from pipelines.watchlist.config import watchlist_settings
from pipelines.watchlist.entries import TABLE, WatchlistError, check_editor, get_entry

#: transient key of a face row: the photos' SHA-256 (checked against the case's warrant, not stored)
PHOTOS_KEY = "_photos_sha256"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class AddResult:
    entry: dict[str, Any]
    created: bool
    warnings: list[str] = field(default_factory=list)
    historical: list[dict[str, Any]] = field(default_factory=list)


def parse_duration(value: str | None) -> dt.timedelta | None:
    """``90m``, ``12h``, ``30d``, ``2w`` -> a timedelta; None when ``value`` is no duration."""
    m = _DURATION.match(value or "")
    return dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else None


def parse_expiry(value: Any, now: dt.datetime | None = None, tz: Any = None) -> dt.datetime | None:
    """``None``/"" (never), a duration (``90m``, ``12h``, ``30d``, ``2w``) from now, or a date / ISO time
    (a bare date means the end of that day)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    now = now or dt.datetime.now(dt.UTC)
    if isinstance(value, str) and (d := parse_duration(value)) is not None:
        return now + d
    try:
        t = parse_instant(value, tz=tz, end=True)
    except ValueError as exc:
        raise WatchlistError(f"expiry {value!r}: {exc} (or give a duration such as 30d)") from None
    if t is not None and t <= now:
        raise WatchlistError(f"expiry {value!r} is in the past")
    return t


def _owner(ctx: SearchContext, agency: str | None) -> str:
    if agency and ctx.agency and agency != ctx.agency and not ctx.role == "admin":
        raise PermissionError(f"{ctx.user} ({ctx.agency}) may not add entries for agency {agency}")
    owner = agency or ctx.agency
    if not owner:
        raise WatchlistError("an entry needs an owning agency: pass --agency (or PESQUISA_AGENCY)")
    return owner


def _check(ctx: SearchContext) -> None:
    require_case(ctx)
    check_editor(ctx)


def _priority(priority: int) -> int:
    try:
        p = int(priority)
    except (TypeError, ValueError):
        raise WatchlistError(f"priority must be 1..5, got {priority!r}") from None
    if not 1 <= p <= 5:
        raise WatchlistError(f"priority must be 1 (highest) .. 5, got {p}")
    return p


def _base_row(
    ctx: SearchContext,
    owner: str,
    *,
    reason: str,
    priority: int,
    expires: Any,
    covert: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    if not (reason or "").strip():
        raise WatchlistError("a reason is required (why is it watched?)")
    return {
        "reason": reason.strip(),
        "priority": _priority(priority),
        "expires_at": parse_expiry(expires, now),
        "created_by": ctx.user,
        "created_at": now,
        "agency": owner,
        "covert": bool(covert),
        "case_number": ctx.case_number.strip(),
        "purpose": ctx.purpose.strip(),
        "active": True,
        "updated_at": now,
        "updated_by": ctx.user,
    }


def plate_entry_row(
    ctx: SearchContext,
    pattern: str,
    *,
    reason: str,
    priority: int = 3,
    expires: Any = None,
    covert: bool = False,
    fuzzy: float = 0.0,
    agency: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A validated plate entry row (not written)."""
    now = now or dt.datetime.now(dt.UTC)
    owner = _owner(ctx, agency)
    try:
        p = pm.parse_pattern(pattern, fuzzy)
    except pm.PatternError as exc:
        raise WatchlistError(str(exc)) from None
    row = _base_row(ctx, owner, reason=reason, priority=priority, expires=expires, covert=covert, now=now)
    row.update(
        entry_id=stable_id("watch", owner, "plate", p.text, f"{p.fuzzy:g}"),
        kind="plate",
        value=p.text,
        fuzzy=p.fuzzy,
    )
    return row


def face_entry_row(
    ctx: SearchContext,
    photos: Sequence[str | Path],
    *,
    reason: str,
    priority: int = 3,
    expires: Any = None,
    covert: bool = False,
    max_distance: float | None = None,
    label: str | None = None,
    agency: str | None = None,
    analyzer: Any = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A validated face entry row with one descriptor per photo (not written)."""
    from pipelines.watchlist.enrol import enrol_photos

    now = now or dt.datetime.now(dt.UTC)
    owner = _owner(ctx, agency)
    row = _base_row(ctx, owner, reason=reason, priority=priority, expires=expires, covert=covert, now=now)
    if max_distance is not None and not 0 < float(max_distance) <= 2:
        raise WatchlistError(f"max distance must be in (0, 2], got {max_distance}")
    enrolled = enrol_photos(list(photos), analyzer)
    embs = [e.embedding.tolist() for e in enrolled]
    row.update(
        entry_id=stable_id("watch", owner, "face", *sorted(e.sha256 for e in enrolled)),
        kind="face",
        value=(label or "").strip() or ", ".join(e.name for e in enrolled),
        embedding=embs[0],
        embeddings=embs,
        **{PHOTOS_KEY: [e.sha256 for e in enrolled]},
        max_distance=float(max_distance) if max_distance is not None else None,
    )
    return row


def _store(lh: Lakehouse, ctx: SearchContext, row: dict[str, Any]) -> bool:
    """Upsert one entry; keeps the original creator and time of an existing one. True when new."""
    old = get_entry(lh, row["entry_id"])
    if old is not None:
        row["created_at"], row["created_by"] = (
            old.get("created_at") or row["created_at"],
            old.get("created_by"),
        )
        if old.get("agency") != row["agency"]:
            raise PermissionError("entry belongs to another agency")
    lh.upsert(TABLE, [row])
    return old is None


def _audit_params(row: dict[str, Any], warnings: list[str], n_hist: int) -> dict[str, Any]:
    return {
        "entry_id": row["entry_id"],
        "kind": row["kind"],
        "value": row["value"],
        "fuzzy": row.get("fuzzy"),
        "photos": len(row.get("embeddings") or []),
        "priority": row["priority"],
        "expires_at": row["expires_at"],
        "covert": row["covert"],
        "agency": row["agency"],
        "reason": row["reason"],
        "warnings": warnings,
        "historical_hits": n_hist,
    }


def entry_scope(lh: Lakehouse, ctx: SearchContext, now: dt.datetime, days: int) -> ReadScope:
    """What adding an entry reads: the last ``days`` of reads and sightings, clipped to the time its
    case's warrant covers (``pipelines.governance.cases``)."""
    from pipelines.governance.cases import get_case

    start, end = now - dt.timedelta(days=days), now
    case = get_case(lh, ctx.case_number)
    if case is not None and (w := case.warrant()).time is not None:
        start = max(start, w.time.start) if w.time.start is not None else start
        end = min(end, w.time.end) if w.time.end is not None else end
    return ReadScope(ctx=ctx, time=TimeRange(start, max(start, end)))


def check_case(
    lh: Lakehouse, scope: ReadScope, row: dict[str, Any], photos_sha256: list[str] | None = None
) -> None:
    """Refuse (and log the refusal) an entry its case does not allow: an unregistered (when
    registration is required), closed or other agency's case, an expired warrant, a plate or
    photo outside the warrant's targets. Raises ``ScopeRefused`` (a PermissionError)."""
    from pipelines.governance.cases import check_search

    if row["kind"] == "plate":
        check_search(lh, scope, "watchlist.add", plate=row["value"])
    else:
        shas: list[str | None] = [*photos_sha256] if photos_sha256 else [None]
        for sha in shas:
            check_search(lh, scope, "watchlist.add", probe_sha256=sha)


@logs_refusals("watchlist.add")
def add_entry(
    lh: Lakehouse,
    ctx: SearchContext,
    row: dict[str, Any],
    *,
    historical: bool = True,
    now: dt.datetime | None = None,
) -> AddResult:
    """Write a validated entry row (from :func:`plate_entry_row` / :func:`face_entry_row`), with
    hygiene warnings and historical hits; audited as ``watchlist.add`` (or ``watchlist.update``).
    The case is checked first and the historical search runs before the entry is stored, so a
    refusal or a failure writes no entry."""
    from pipelines.watchlist.historical import historical_hits
    from pipelines.watchlist.hygiene import plate_warnings

    _check(ctx)
    now = now or dt.datetime.now(dt.UTC)
    cfg = watchlist_settings(lh)
    photos = row.pop(PHOTOS_KEY, None)
    scope = entry_scope(lh, ctx, now, cfg.historical_days)
    check_case(lh, scope, row, photos)
    warnings: list[str] = []
    if row["kind"] == "plate":
        p = pm.parse_pattern(row["value"], row.get("fuzzy") or 0)
        warnings = plate_warnings(
            lh,
            p,
            agency=ctx.visible_agency,
            exclude=row["entry_id"],
            days=cfg.hygiene_days,
            max_plates=cfg.hygiene_max_plates,
            now=now,
        )
    hits = historical_hits(lh, scope, row) if historical and cfg.historical_days > 0 else []
    created = _store(lh, ctx, row)
    audit(
        lh,
        ctx,
        "watchlist.add" if created else "watchlist.update",
        _audit_params(row, warnings, len(hits)),
        len(hits),
        now=now,
    )
    return AddResult(entry=_public(row), created=created, warnings=warnings, historical=hits)


@logs_refusals("watchlist.add")
def add_plate(
    lh: Lakehouse,
    ctx: SearchContext,
    pattern: str,
    *,
    reason: str,
    priority: int = 3,
    expires: Any = None,
    covert: bool = False,
    fuzzy: float = 0.0,
    agency: str | None = None,
    historical: bool = True,
    now: dt.datetime | None = None,
) -> AddResult:
    """Watch for a plate (exact, wildcard ``?``/``*``, or within ``fuzzy`` OCR-weighted edits)."""
    _check(ctx)
    row = plate_entry_row(
        ctx,
        pattern,
        reason=reason,
        priority=priority,
        expires=expires,
        covert=covert,
        fuzzy=fuzzy,
        agency=agency,
        now=now,
    )
    return add_entry(lh, ctx, row, historical=historical, now=now)


@logs_refusals("watchlist.add")
def add_face(
    lh: Lakehouse,
    ctx: SearchContext,
    photos: Sequence[str | Path],
    *,
    reason: str,
    priority: int = 3,
    expires: Any = None,
    covert: bool = False,
    max_distance: float | None = None,
    label: str | None = None,
    agency: str | None = None,
    analyzer: Any = None,
    historical: bool = True,
    now: dt.datetime | None = None,
) -> AddResult:
    """Watch for a person, enrolled from one or more photos."""
    _check(ctx)
    row = face_entry_row(
        ctx,
        photos,
        reason=reason,
        priority=priority,
        expires=expires,
        covert=covert,
        max_distance=max_distance,
        label=label,
        agency=agency,
        analyzer=analyzer,
        now=now,
    )
    return add_entry(lh, ctx, row, historical=historical, now=now)


@logs_refusals("watchlist.remove")
def remove_entry(
    lh: Lakehouse, ctx: SearchContext, entry_id: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Stop an entry alarming (kept as ``active = false``); only its agency (or an admin) may."""
    _check(ctx)
    now = now or dt.datetime.now(dt.UTC)
    row = get_entry(lh, entry_id)
    if row is None or (row.get("covert") and not ctx.sees_all_agencies and row.get("agency") != ctx.agency):
        raise WatchlistError(f"no watchlist entry {entry_id}")
    if not ctx.sees_all_agencies and row.get("agency") != ctx.agency:
        raise PermissionError(
            f"entry {entry_id} belongs to {row.get('agency')}; only that agency may remove it"
        )
    if row.get("active") is False:
        raise WatchlistError(f"entry {entry_id} was already removed")
    row.update(active=False, updated_at=now, updated_by=ctx.user)
    lh.upsert(TABLE, [row])
    audit(
        lh,
        ctx,
        "watchlist.remove",
        {"entry_id": entry_id, "kind": row["kind"], "value": row["value"], "agency": row.get("agency")},
        1,
        now=now,
    )
    return _public(row)


CSV_COLUMNS = ("kind", "value", "reason", "priority", "expires", "covert", "fuzzy", "photos", "max_distance")


@logs_refusals("watchlist.import")
def import_csv(
    lh: Lakehouse,
    ctx: SearchContext,
    path: str | Path,
    *,
    agency: str | None = None,
    historical: bool = True,
    analyzer: Any = None,
    now: dt.datetime | None = None,
) -> list[AddResult]:
    """Entries from a CSV with a header ``kind,value,reason[,priority,expires,covert,fuzzy,photos,
    max_distance]`` (``photos``: face photo paths separated by ``;``, relative to the CSV). Every row is
    validated first: one bad row imports nothing. Then one commit and one ``watchlist.import`` audit row."""
    _check(ctx)
    now = now or dt.datetime.now(dt.UTC)
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            records = list(reader)
    except OSError as exc:
        raise WatchlistError(f"cannot read {path}: {exc}") from None
    missing = {"kind", "reason"} - set(header)
    if missing:
        raise WatchlistError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}; expected {', '.join(CSV_COLUMNS)}"
        )
    rows: list[dict[str, Any]] = []
    for n, rec in enumerate(records, start=2):
        rec = {(k or "").strip().lower(): (v or "").strip() for k, v in rec.items()}
        try:
            common: dict[str, Any] = {
                "reason": rec.get("reason", ""),
                "priority": rec.get("priority") or 3,
                "expires": rec.get("expires") or None,
                "covert": _bool(rec.get("covert")),
                "agency": agency,
                "now": now,
            }
            if rec.get("kind") == "plate":
                rows.append(
                    plate_entry_row(ctx, rec.get("value", ""), fuzzy=float(rec.get("fuzzy") or 0), **common)
                )
            elif rec.get("kind") == "face":
                photos = [path.parent / p.strip() for p in (rec.get("photos") or "").split(";") if p.strip()]
                md = float(rec["max_distance"]) if rec.get("max_distance") else None
                rows.append(
                    face_entry_row(
                        ctx, photos, label=rec.get("value"), max_distance=md, analyzer=analyzer, **common
                    )
                )
            else:
                raise WatchlistError(f"kind must be plate or face, got {rec.get('kind')!r}")
        except (WatchlistError, ValueError) as exc:
            raise WatchlistError(f"{path} line {n}: {exc}") from None
    ids = [r["entry_id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise WatchlistError(
            f"{path}: the same entry appears twice ({next(r['value'] for r in rows if r['entry_id'] == dup)})"
        )
    results = []
    from pipelines.watchlist.historical import historical_hits
    from pipelines.watchlist.hygiene import plate_warnings

    cfg = watchlist_settings(lh)
    olds = {i: get_entry(lh, i) for i in ids}
    for r in rows:
        old = olds[r["entry_id"]]
        if old is not None:
            if old.get("agency") != r["agency"]:
                raise PermissionError(f"entry {r['entry_id']} belongs to another agency")
            r["created_at"], r["created_by"] = old.get("created_at") or r["created_at"], old.get("created_by")
    scope = entry_scope(lh, ctx, now, cfg.historical_days)
    warnings = {}
    for r in rows:
        check_case(lh, scope, r, r.pop(PHOTOS_KEY, None))
        if r["kind"] == "plate":
            warnings[r["entry_id"]] = plate_warnings(
                lh,
                pm.parse_pattern(r["value"], r["fuzzy"]),
                agency=ctx.visible_agency,
                exclude=r["entry_id"],
                days=cfg.hygiene_days,
                max_plates=cfg.hygiene_max_plates,
                now=now,
            )
    hits = {
        r["entry_id"]: historical_hits(lh, scope, r) if historical and cfg.historical_days > 0 else []
        for r in rows
    }
    lh.upsert(TABLE, rows)
    for r in rows:
        results.append(
            AddResult(
                _public(r), olds[r["entry_id"]] is None, warnings.get(r["entry_id"], []), hits[r["entry_id"]]
            )
        )
    audit(
        lh,
        ctx,
        "watchlist.import",
        {"file": str(path), "entries": ids, "created": sum(x.created for x in results)},
        len(rows),
        now=now,
    )
    return results


def _bool(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "y", "covert")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("embedding", "embeddings")}
    out["photos"] = len(row.get("embeddings") or [])
    return out
