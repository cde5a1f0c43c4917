"""Case requirement and the tamper-evident audit log (DESIGN.md §8, issue 12.3–12.4).

Every investigative search (plates, routes, faces) and every export must name a case number and a
purpose. :func:`require_case` refuses a context without them *before* anything is read;
:func:`audit` appends one ``audit_log`` row per completed action, :func:`audit_refusal` one per
refused search, :func:`audit_admin` one per administrative change (agreements, cases).

A row stores who (user, role, agency, OS user), the case, the parameters and a digest of the
results (count + SHA-256 of the sorted returned ids, never biometric data), the table versions read
(for ``pesquisa audit replay``) and a face search's probe photo SHA-256.

Tamper evidence (:mod:`pipelines.governance.audit_chain`): the table is ``delta.appendOnly``; each
row carries ``seq``, ``prev_hash`` and ``row_hash`` (SHA-256 over the previous hash and its fields)
and the Delta version of the commit that added it (rows are written one commit each, under the
table's commit lock, so concurrent writers cannot fork the chain); the head is anchored outside the
table in a signed file per day.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from lakehouse import Lakehouse
from pipelines.governance.context import ENV_CASE, ENV_PURPOSE, SearchContext

#: set on a refusal exception once its ``refused`` audit row is written (so it is logged once)
LOGGED = "_pesquisa_refusal_logged"
_E = TypeVar("_E", bound=BaseException)
_F = TypeVar("_F", bound=Callable[..., Any])

CASE_REQUIRED_MESSAGE = f"a case number is required: pass --case or set {ENV_CASE}"
PURPOSE_REQUIRED_MESSAGE = f"a purpose is required: pass --purpose or set {ENV_PURPOSE}"


class MissingCaseError(PermissionError):
    """The search names no case number (or no purpose); nothing was searched or logged."""


class MissingPurposeError(MissingCaseError):
    """The search names a case but no purpose."""


def _ctx(ctx: Any) -> SearchContext:
    """A SearchContext from a context or a ReadScope."""
    inner: SearchContext = getattr(ctx, "ctx", ctx)
    return inner


def require_case(ctx: Any, lh: Lakehouse | None = None, action: str | None = None) -> SearchContext:
    """Refuse a search without a case number and purpose. Returns the context when it is complete.

    With ``lh`` and ``action`` (what every search and movement tool passes) the refusal is logged
    as an ``audit_log`` row with ``outcome = refused`` before the error is raised; nothing is read."""
    c: SearchContext | None = _ctx(ctx)
    error: MissingCaseError | None = None
    if c is None or not (c.case_number or "").strip():
        error = MissingCaseError(CASE_REQUIRED_MESSAGE)
    elif not (c.purpose or "").strip():
        error = MissingPurposeError(PURPOSE_REQUIRED_MESSAGE)
    if error is None and c is not None:
        return c
    exc = error if error is not None else MissingCaseError(CASE_REQUIRED_MESSAGE)
    if lh is not None and action is not None and c is not None and not getattr(lh, "replaying", False):
        audit_refusal(lh, c, action, str(exc))
        mark_logged(exc)
    raise exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def result_digest(ids: Iterable[Any]) -> str:
    """SHA-256 of the sorted, newline-joined result ids (what an auditor compares on replay)."""
    return hashlib.sha256("\n".join(sorted(str(i) for i in ids)).encode()).hexdigest()


def table_versions(lh: Lakehouse, names: Iterable[str]) -> dict[str, int]:
    """``{table: current Delta version}`` of the tables a search reads (for replay)."""
    out = {}
    for n in names:
        if lh.exists(n):
            out[n] = lh.version(n)
    return out


def _row(
    ctx: SearchContext,
    action: str,
    parameters: dict[str, Any] | None,
    result_count: int,
    *,
    now: dt.datetime | None,
    outcome: str = "ok",
    reason: str | None = None,
    result_ids: Iterable[Any] | None = None,
    probe_sha256: str | None = None,
    versions: dict[str, int] | None = None,
) -> dict[str, Any]:
    from pipelines.governance.identity import os_user

    ts = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "audit_id": uuid.uuid4().hex,
        "ts": ts,
        "user": ctx.user,
        "role": ctx.role,
        "agency": ctx.agency,
        "case_number": (ctx.case_number or "").strip(),
        "purpose": (ctx.purpose or "").strip(),
        "action": action,
        "parameters": json.dumps(parameters or {}, sort_keys=True, default=_jsonable, ensure_ascii=False),
        "result_count": int(result_count),
        "os_user": os_user(),
        "outcome": outcome,
        "reason": reason,
        "result_digest": None if result_ids is None else result_digest(result_ids),
        "probe_sha256": probe_sha256,
        "table_versions": None if versions is None else json.dumps(versions, sort_keys=True),
    }


def audit(
    lh: Lakehouse,
    ctx: Any,
    action: str,
    parameters: dict[str, Any] | None,
    result_count: int,
    *,
    now: dt.datetime | None = None,
    result_ids: Iterable[Any] | None = None,
    probe_sha256: str | None = None,
    versions: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Append one chained audit row (one Delta commit) and return it.

    ``parameters`` is stored as sorted-key JSON (datetimes as ISO strings); ``result_ids`` only as
    their digest. The context must pass :func:`require_case`; an incomplete one raises and writes
    nothing."""
    from pipelines.governance.audit_chain import append_chained

    ctx = require_case(ctx)
    row = _row(
        ctx,
        action,
        parameters,
        result_count,
        now=now,
        result_ids=result_ids,
        probe_sha256=probe_sha256,
        versions=versions,
    )
    if getattr(lh, "replaying", False):  # audit replay re-runs logged searches: they are not new searches
        return row
    return append_chained(lh, row)


def audit_refusal(
    lh: Lakehouse,
    ctx: Any,
    action: str,
    reason: str,
    parameters: dict[str, Any] | None = None,
    *,
    probe_sha256: str | None = None,
) -> dict[str, Any]:
    """Log a refused search (the case may be missing: the refusal is logged all the same)."""
    from pipelines.governance.audit_chain import append_chained

    row = _row(
        _ctx(ctx),
        action,
        parameters,
        0,
        now=None,
        outcome="refused",
        reason=reason,
        probe_sha256=probe_sha256,
    )
    return append_chained(lh, row)


def mark_logged(exc: _E) -> _E:
    """Note on ``exc`` that its refusal is in the audit log (:func:`refusals_logged` skips it)."""
    setattr(exc, LOGGED, True)
    return exc


def is_logged(exc: BaseException) -> bool:
    return bool(getattr(exc, LOGGED, False))


@contextmanager
def refusals_logged(
    lh: Lakehouse, ctx: Any, action: str, parameters: dict[str, Any] | None = None
) -> Iterator[None]:
    """Every ``PermissionError`` raised inside (a missing case, a role without the permission,
    another agency's entry or case) is logged as a refused ``action`` before it propagates, once:
    a refusal already logged deeper down (a case or warrant check) is not logged again."""
    try:
        yield
    except PermissionError as exc:
        if not is_logged(exc) and ctx is not None and not getattr(lh, "replaying", False):
            audit_refusal(lh, ctx, action, str(exc), parameters)
            mark_logged(exc)
        raise


def logs_refusals(action: str) -> Callable[[_F], _F]:
    """Decorate a write path ``f(lh, ctx, ...)`` so that its refusals are logged
    (:func:`refusals_logged`) as ``action``."""

    def wrap(f: _F) -> _F:
        @functools.wraps(f)
        def inner(lh: Lakehouse, ctx: Any, *args: Any, **kwargs: Any) -> Any:
            with refusals_logged(lh, ctx, action):
                return f(lh, ctx, *args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def require_allowed(
    lh: Lakehouse, ctx: Any, permission: str, action: str, parameters: dict[str, Any] | None = None
) -> None:
    """:func:`~pipelines.governance.identity.require_permission` for a write path: a role without
    ``permission`` is refused, and the refusal logged as ``action`` (outcome ``refused``)."""
    from pipelines.governance.identity import require_permission

    c = _ctx(ctx)
    with refusals_logged(lh, c, action, parameters):
        require_permission(c.role, permission, user=c.user)


def audit_admin(
    lh: Lakehouse, ctx: Any, action: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Log an administrative change (sharing agreements, cases): no case needed."""
    from pipelines.governance.audit_chain import append_chained

    return append_chained(lh, _row(_ctx(ctx), action, parameters, 0, now=None))


def audit_rows(
    lh: Lakehouse,
    *,
    case_number: str | None = None,
    user: str | None = None,
    action: str | None = None,
    agency: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, optionally filtered (for the app's audit page and reviews).
    ``agency``: only that agency's searches (what a supervisor of that agency may review)."""
    import pyarrow.dataset as pds

    expr = None
    for col, val in (("case_number", case_number), ("user", user), ("action", action), ("agency", agency)):
        if val is not None:
            e = pds.field(col) == val
            expr = e if expr is None else expr & e
    if start is not None:
        e = (pds.field("date") >= start.date()) & (pds.field("ts") >= start)
        expr = e if expr is None else expr & e
    if end is not None:
        e = (pds.field("date") <= end.date()) & (pds.field("ts") < end)
        expr = e if expr is None else expr & e
    rows: list[dict[str, Any]] = lh.read("audit_log", filter=expr).to_pylist()
    rows.sort(key=lambda r: (r["ts"], r.get("seq") or 0, r["audit_id"]), reverse=True)
    return rows
