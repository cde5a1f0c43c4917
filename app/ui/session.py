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
SIGNED_IN_KEY = "pesquisa_signed_in_at"
SEEN_KEY = "pesquisa_last_seen"
NOTICE_KEY = "pesquisa_signout_notice"


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
def client_address() -> str | None:
    """The browser's address as Streamlit sees it (None in tests and when unknown)."""
    try:
        addr = st.context.ip_address
    except Exception:  # older Streamlit or no request context
        return None
    return addr if isinstance(addr, str) and addr else None


def _governance():
    from lakehouse.settings import get_settings

    return get_settings(home()).governance


def signed_in_user() -> User:
    """The signed-in user of a page (navigation routes pages to signed-in users only); when the
    session ended meanwhile, the run stops here instead of failing further down."""
    user = current_user()
    if user is None:
        st.stop()
        raise RuntimeError("signed out")  # not reached: st.stop() ends the script run
    return user


def current_user() -> User | None:
    """The signed-in user, re-checked on every run: still in the users file (same role and agency,
    not disabled), within the idle and absolute timeouts. Otherwise the session is signed out."""
    from app.auth import load_users
    from pipelines.governance.signin import session_expired

    user = st.session_state.get(USER_KEY)
    if user is None:
        return None
    g = _governance()
    now = time.time()
    why = session_expired(
        st.session_state.get(SIGNED_IN_KEY, 0.0),
        st.session_state.get(SEEN_KEY, 0.0),
        now,
        idle_s=g.session_idle_minutes * 60,
        max_s=g.session_max_hours * 3600,
    )
    if why is None:
        try:
            entry = load_users(users_file()).get(user.username)
        except Exception:  # a broken users file signs everyone out rather than trusting stale roles
            entry = None
        if entry is None or not entry[1]:
            why = "Your account is no longer active. Please contact your administrator."
        elif (entry[0].role, entry[0].agency) != (user.role, user.agency):
            why = "Your role or agency changed. Please sign in again."
    if why is not None:
        sign_out()
        st.session_state[NOTICE_KEY] = why
        return None
    st.session_state[SEEN_KEY] = now
    return user


def signout_notice() -> str | None:
    """Why the last session ended (shown once on the sign-in page)."""
    return st.session_state.pop(NOTICE_KEY, None)


def sign_in(username: str, password: str) -> tuple[User | None, str | None]:
    """Check the credentials; returns ``(user, None)`` or ``(None, reason)``. Failures are counted per
    user name and per client address in a limiter shared by every session (persisted under the
    home), with a lockout that doubles with each further failure; every failure is logged."""
    from pipelines.governance.signin import SignInLimiter

    limiter = SignInLimiter(home())
    addr = client_address()
    wait = limiter.wait_s(username, addr)
    if wait > 0:
        limiter.failure(username, addr, reason="attempt while locked out")
        return None, f"Too many failed attempts. Try again in {int(wait) + 1} s."
    user = authenticate(users_file(), username, password)
    if user is None:
        wait = limiter.failure(username, addr)
        more = f" Too many failed attempts: try again in {int(wait) + 1} s." if wait > 0 else ""
        return None, "Unknown user or wrong password." + more
    limiter.success(username, addr)
    now = time.time()
    st.session_state[USER_KEY] = user
    st.session_state[SIGNED_IN_KEY] = now
    st.session_state[SEEN_KEY] = now
    return user, None


def change_password(old: str, new: str, repeat: str) -> str | None:
    """Change the signed-in user's password (required at the first sign-in of a new admin)."""
    from app.auth import UsersFileError
    from app.auth import change_password as _change

    user = st.session_state.get(USER_KEY)
    if user is None:
        return "Sign in first."
    if new != repeat:
        return "The two new passwords differ."
    try:
        st.session_state[USER_KEY] = _change(users_file(), user.username, old, new)
    except UsersFileError as exc:
        return str(exc)
    return None


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
