"""Shared pieces of the app's look: the sign-in form, the sidebar (user, agency, active case), page
headers with the case banner, empty states, and crop thumbnails."""

from __future__ import annotations

import base64
import math
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app.auth import UsersFileError
from app.ui import session

ROLE_LABELS = {
    "investigator": "Investigator",
    "analyst": "Crime analyst",
    "supervisor": "Supervisor",
    "engineer": "Data engineer",
    "admin": "Administrator",
}

CSS = """
<style>
  .block-container {padding-top: 2.2rem; padding-bottom: 2rem;}
  .pq-case {border-left: 4px solid #1f5f99; background: #eef3f9; padding: .45rem .8rem; border-radius: 4px;
            margin-bottom: .8rem; font-size: .92rem;}
  .pq-nocase {border-left: 4px solid #c77700; background: #fff6e5; padding: .45rem .8rem; border-radius: 4px;
              margin-bottom: .8rem; font-size: .92rem;}
  .pq-muted {color: #5b6675; font-size: .85rem;}
  .pq-user {font-size: .95rem; line-height: 1.35;}
</style>
"""


def inject_css() -> None:
    st.html(CSS)


# ------------------------------------------------------------------ sign in
def sign_in_page() -> None:
    """The only page a visitor who has not signed in can see."""
    inject_css()
    _, mid, _ = st.columns([1, 1.3, 1])
    with mid:
        st.title("Pesquisa")
        st.caption("Forensic search over the city camera network. Sign in with your agency account.")
        notice = session.signout_notice()
        if notice:
            st.info(notice)
        try:
            users_path = session.users_file()
            if not users_path.exists():
                st.error(
                    f"No users file at `{users_path}`. Start the app with `pesquisa app`, which creates one."
                )
                return
        except UsersFileError as exc:
            st.error(str(exc))
            return
        with st.form("sign-in", border=True):
            username = st.text_input("User", key="signin_user", autocomplete="username")
            password = st.text_input(
                "Password", type="password", key="signin_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
        if submitted:
            try:
                user, problem = session.sign_in(username, password)
            except UsersFileError as exc:
                st.error(str(exc))
                return
            if user is None:
                st.error(problem or "Sign-in failed.")
            else:
                st.rerun()
        st.markdown(
            '<p class="pq-muted">Every search needs a case number and a purpose and is written to the '
            "audit log. Access is limited to your agency's cameras and those shared with it.</p>",
            unsafe_allow_html=True,
        )


def change_password_page() -> None:
    """Shown instead of every page until a first password (``must_change_password``) is replaced."""
    inject_css()
    _, mid, _ = st.columns([1, 1.3, 1])
    with mid:
        st.title("Change your password")
        st.caption(
            "This account was created with a generated password. Choose your own (10 characters or more)."
        )
        with st.form("change-password", border=True):
            old = st.text_input(
                "Current password", type="password", key="pw_old", autocomplete="current-password"
            )
            new = st.text_input("New password", type="password", key="pw_new", autocomplete="new-password")
            again = st.text_input(
                "New password again", type="password", key="pw_again", autocomplete="new-password"
            )
            submitted = st.form_submit_button("Change password", type="primary", width="stretch")
        if submitted:
            problem = session.change_password(old, new, again)
            if problem:
                st.error(problem)
            else:
                st.rerun()
        if st.button("Sign out", key="pw_sign_out", type="tertiary"):
            session.sign_out()
            st.rerun()


# ------------------------------------------------------------------ sidebar
def sidebar() -> None:
    user = session.current_user()
    if user is None:
        return
    with st.sidebar:
        agency = user.agency or "all agencies"
        st.markdown(
            f'<div class="pq-user"><b>{_esc(user.name)}</b> <span class="pq-muted">({_esc(user.username)})</span>'
            f"<br/>{ROLE_LABELS.get(user.role, user.role)} · {_esc(agency)}</div>",
            unsafe_allow_html=True,
        )
        if st.button("Sign out", key="sign_out", type="tertiary"):
            session.sign_out()
            st.rerun()
        from app.ui.navigation import SEARCH_ROLES

        if user.role in SEARCH_ROLES:  # only roles that search work under a case
            st.divider()
            case_panel()


def case_panel() -> None:
    """Open or close the active case (asked before any search)."""
    case = session.active_case()
    st.markdown("**Active case**")
    if case is not None:
        st.markdown(
            f'<div class="pq-case"><b>{_esc(case.case_number)}</b><br/>{_esc(case.purpose)}'
            f'<br/><span class="pq-muted">opened {case.opened_at:%H:%M} UTC</span></div>',
            unsafe_allow_html=True,
        )
        if st.button("Close case", key="close_case"):
            session.close_case()
            st.rerun()
        return
    with st.form("open-case", border=False):
        number = st.text_input("Case number", key="case_number_input", placeholder="e.g. 2026-001234")
        purpose = st.text_area(
            "Purpose", key="case_purpose_input", height=70, placeholder="e.g. robbery on Av. España, 12 Nov"
        )
        ok = st.form_submit_button("Open case", type="primary")
    if ok:
        problem = session.open_case(number, purpose)
        if problem:
            st.error(problem)
        else:
            st.rerun()
    st.caption("Searches are refused without a case. The case number and purpose go into the audit log.")


# ------------------------------------------------------------------ page furniture
def page_header(title: str, subtitle: str, *, needs_case: bool = False) -> None:
    inject_css()
    st.title(title)
    st.caption(subtitle)
    if needs_case:
        case = session.active_case()
        if case is None:
            st.markdown(
                '<div class="pq-nocase"><b>No active case.</b> Open a case in the sidebar before searching; '
                "searches without a case are refused and logged nowhere.</div>",
                unsafe_allow_html=True,
            )
        else:
            st.markdown(
                f'<div class="pq-case">Case <b>{_esc(case.case_number)}</b> — {_esc(case.purpose)}</div>',
                unsafe_allow_html=True,
            )


def empty_state(message: str, hint: str | None = None) -> None:
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/info:")


def crop_data_uri(jpeg: bytes | None) -> str | None:
    """A JPEG crop as a data URI for ``st.column_config.ImageColumn``."""
    if not jpeg:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def fmt_ts(ts: Any) -> str:
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return ""
    try:
        t = pd.Timestamp(ts)
    except (ValueError, TypeError):
        return str(ts)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC")
    return t.strftime("%Y-%m-%d %H:%M:%S")


def time_window(prefix: str) -> tuple[date | None, date | None]:
    """ "From"/"To" day pickers, both optional, in the home time zone. ``lakehouse.timeutil`` reads
    a date as ``--to`` as the whole of that day (inclusive), like the CLI and Dagster."""
    from lakehouse.timeutil import FROM_HELP, TO_HELP

    c1, c2 = st.columns(2)
    d0 = c1.date_input("From (day)", value=None, key=f"{prefix}_from", format="YYYY-MM-DD", help=FROM_HELP)
    d1 = c2.date_input(
        "To (day, inclusive)", value=None, key=f"{prefix}_to", format="YYYY-MM-DD", help=TO_HELP
    )
    return (d0 if isinstance(d0, date) else None), (d1 if isinstance(d1, date) else None)


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text))
