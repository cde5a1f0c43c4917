"""Shared pieces of the movement pages: the reader's ReadScope, time-window inputs, running one
library call with the case refusal shown, and hand-over to the Route and Convoy pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.ui import session

ROUTE_REQUEST = "route_request"
CONVOY_REQUEST = "convoy_request"


def home_zone() -> str:
    from lakehouse.settings import get_settings

    return str(get_settings(session.home()).time.zone)


def read_scope(start: Any = None, end: Any = None):
    """The signed-in user's scope under the active case (empty case: the library refuses)."""
    from pipelines.governance.scope import ReadScope

    ctx = session.search_context(session.signed_in_user(), session.active_case())
    return ReadScope.of(ctx, start=start, end=end, tz=home_zone())


def window_inputs(prefix: str, default_hours: int = 24) -> tuple[dt.datetime | None, dt.datetime | None]:
    """From / to date + time pickers (home time zone); None until both days are set."""
    c1, c2, c3, c4 = st.columns(4)
    d0 = c1.date_input("From day", value=None, key=f"{prefix}_d0", format="YYYY-MM-DD")
    t0 = c2.time_input("From time", value=dt.time(0, 0), key=f"{prefix}_t0", step=900)
    d1 = c3.date_input("To day", value=None, key=f"{prefix}_d1", format="YYYY-MM-DD")
    t1 = c4.time_input("To time", value=dt.time(23, 59), key=f"{prefix}_t1", step=900)
    if not isinstance(d0, dt.date) or not isinstance(d1, dt.date):
        return None, None
    return dt.datetime.combine(d0, t0), dt.datetime.combine(d1, t1)


def run(call: Callable[[], Any], what: str) -> Any | None:
    """Run one library call; a missing case or bad input becomes a message, not a traceback."""
    from pipelines.governance import MissingCaseError

    try:
        return call()
    except MissingCaseError as exc:
        st.error(f"{what} refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
    except ValueError as exc:
        st.error(f"{what}: {exc}")
    return None


def open_route(plate: str, start: Any = None, end: Any = None) -> None:
    st.session_state[ROUTE_REQUEST] = {"plate": plate, "start": _day(start), "end": _day(end), "auto": True}
    st.switch_page("pages/route.py")


def open_convoy(plate: str, start: Any = None, end: Any = None) -> None:
    st.session_state[CONVOY_REQUEST] = {"plate": plate, "start": _day(start), "end": _day(end)}
    st.switch_page("pages/movement_convoy.py")


def _day(t: Any) -> dt.date | None:
    if t is None:
        return None
    return t.date() if isinstance(t, dt.datetime) else t
