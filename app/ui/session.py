"""Per-browser-session state: the signed-in user, the active case, and the SearchContext every search
call receives. The lakehouse handle is shared by all sessions (``st.cache_resource``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from app.auth import User, authenticate, users_file_from_env
from lakehouse import Lakehouse
from lakehouse.config import resolve_home

USER_KEY = "pesquisa_user"
CASE_KEY = "pesquisa_case"
FAILED_KEY = "pesquisa_failed_signins"
MAX_FAILED = 5
LOCKOUT_S = 30.0


@dataclass(frozen=True)
class Case:
    case_number: str
    purpose: str
    opened_at: datetime


def home() -> Path:
    """The ``--home`` the server was started with (``PESQUISA_HOME``)."""
    return resolve_home(None)


@st.cache_resource(show_spinner=False)
def _lakehouse(root: str) -> Lakehouse:
    lh = Lakehouse(home=root)
    return lh


def lakehouse() -> Lakehouse:
    return _lakehouse(str(home()))


@st.cache_resource(show_spinner=False)
def _face_search_tools(root: str):
    """One FaceIndex (keeps the FAISS index in memory between searches), the shared face models,
    and a lock so two sessions never update or query the index at the same moment."""
    import threading

    from pipelines.search import FaceIndex
    from pipelines.search.faces import default_analyzer

    return FaceIndex(_lakehouse(root)), default_analyzer(), threading.Lock()


def face_search_tools():
    return _face_search_tools(str(home()))


def users_file() -> Path:
    return users_file_from_env(home())


# ------------------------------------------------------------------ user
def current_user() -> User | None:
    return st.session_state.get(USER_KEY)


def sign_in(username: str, password: str) -> tuple[User | None, str | None]:
    """Check the credentials; returns ``(user, None)`` or ``(None, reason)``. Locks the session for
    ``LOCKOUT_S`` seconds after ``MAX_FAILED`` failures."""
    now = time.monotonic()
    failed = [t for t in st.session_state.get(FAILED_KEY, []) if now - t < LOCKOUT_S]
    if len(failed) >= MAX_FAILED:
        return None, f"Too many failed attempts. Try again in {int(LOCKOUT_S - (now - failed[0])) + 1} s."
    user = authenticate(users_file(), username, password)
    if user is None:
        failed.append(now)
        st.session_state[FAILED_KEY] = failed
        return None, "Unknown user or wrong password."
    st.session_state[FAILED_KEY] = []
    st.session_state[USER_KEY] = user
    return user, None


#: results pages keep between reruns; they belong to the case they were found under
RESULT_KEYS = ("plate_results", "face_results", "route_results", "route_request")


def sign_out() -> None:
    """Forget everything this browser session held (user, case, results, widget values)."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# ------------------------------------------------------------------ case
def active_case() -> Case | None:
    return st.session_state.get(CASE_KEY)


def open_case(case_number: str, purpose: str) -> str | None:
    """Make a case active; returns an error message when a field is missing."""
    case_number, purpose = (case_number or "").strip(), (purpose or "").strip()
    if not case_number:
        return "Enter the case number."
    if len(purpose) < 3:
        return "State the purpose of the search (it goes into the audit log)."
    _forget_results()
    st.session_state[CASE_KEY] = Case(case_number, purpose, datetime.now(UTC))
    return None


def close_case() -> None:
    _forget_results()
    st.session_state.pop(CASE_KEY, None)


def _forget_results() -> None:
    for key in RESULT_KEYS:
        st.session_state.pop(key, None)


def search_context(user: User, case: Case | None):
    """The :class:`pipelines.governance.SearchContext` for a search by ``user`` under ``case``.

    Without a case the context carries empty case fields, so the search library refuses it and
    the page shows the refusal (the rule lives in one place, pipelines.governance)."""
    from pipelines.governance import SearchContext

    return SearchContext(
        user=user.username,
        role=user.role,
        agency=user.scope_agency,
        case_number=case.case_number if case else "",
        purpose=case.purpose if case else "",
    )
