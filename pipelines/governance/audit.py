"""Case requirement and the append-only audit log (DESIGN.md §8).

Every investigative search (plates, routes, faces) and every export must name a case number and a
purpose. :func:`require_case` refuses a context without them *before* anything is read, and writes
nothing; :func:`audit` appends one ``audit_log`` row per completed action. Both live in the library
so the CLI, the app and notebooks are audited the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from lakehouse import Lakehouse
from pipelines.governance.context import ENV_CASE, ENV_PURPOSE, SearchContext

CASE_REQUIRED_MESSAGE = f"a case number is required: pass --case or set {ENV_CASE}"
PURPOSE_REQUIRED_MESSAGE = f"a purpose is required: pass --purpose or set {ENV_PURPOSE}"


class MissingCaseError(PermissionError):
    """The search names no case number (or no purpose); nothing was searched or logged."""


class MissingPurposeError(MissingCaseError):
    """The search names a case but no purpose."""


def require_case(ctx: SearchContext | None) -> SearchContext:
    """Refuse a search without a case number and purpose. Returns ``ctx`` when it is complete."""
    if ctx is None or not (ctx.case_number or "").strip():
        raise MissingCaseError(CASE_REQUIRED_MESSAGE)
    if not (ctx.purpose or "").strip():
        raise MissingPurposeError(PURPOSE_REQUIRED_MESSAGE)
    return ctx


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


def audit(
    lh: Lakehouse,
    ctx: SearchContext,
    action: str,
    parameters: dict[str, Any] | None,
    result_count: int,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Append one audit row (one Delta commit) and return it.

    ``parameters`` is stored as sorted-key JSON (datetimes as ISO strings). The context must pass
    :func:`require_case`; an incomplete context raises and writes nothing."""
    require_case(ctx)
    ts = now or dt.datetime.now(dt.UTC)
    row = {
        "audit_id": uuid.uuid4().hex,
        "ts": ts,
        "user": ctx.user,
        "role": ctx.role,
        "agency": ctx.agency,
        "case_number": ctx.case_number.strip(),
        "purpose": ctx.purpose.strip(),
        "action": action,
        "parameters": json.dumps(parameters or {}, sort_keys=True, default=_jsonable, ensure_ascii=False),
        "result_count": int(result_count),
    }
    lh.append("audit_log", [row])
    return row


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
    rows = lh.read("audit_log", filter=expr).to_pylist()
    rows.sort(key=lambda r: (r["ts"], r["audit_id"]), reverse=True)
    return rows
