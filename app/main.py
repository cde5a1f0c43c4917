"""Pesquisa's Streamlit app: ``streamlit run app/main.py`` (``pesquisa app`` does it for you).

Visitors see only the sign-in page. A signed-in user gets the pages of their role (see
:mod:`app.ui.navigation`), with the sidebar showing who they are, their agency and the active case.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="Pesquisa", page_icon=":material/policy:", layout="wide", initial_sidebar_state="expanded"
)

from app.ui import session, widgets  # noqa: E402  (set_page_config must come first)
from app.ui.navigation import ASSETS, build_pages  # noqa: E402

if (ASSETS / "logo.svg").exists():
    st.logo(str(ASSETS / "logo.svg"), size="large", icon_image=str(ASSETS / "icon.svg"))
user = session.current_user()
if user is None:
    # Always call st.navigation: without it Streamlit would list app/pages/ for anyone.
    st.navigation(
        [st.Page(widgets.sign_in_page, title="Sign in", url_path="signin")], position="hidden"
    ).run()
elif user.must_change_password:
    # a first admin's generated password must be replaced before anything else
    st.navigation(
        [st.Page(widgets.change_password_page, title="Change password", url_path="password")],
        position="hidden",
    ).run()
else:
    nav = st.navigation(build_pages(user.role))
    widgets.sidebar()
    nav.run()
