"""Audit log page (supervisors, admins): who searched what, for which case and why.

Supervisors see their own agency's entries; admins see every agency."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import streamlit as st

from app.ui import data, session, widgets


def main() -> None:
    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Audit log", "Every search and export, with the user, case number and purpose behind it."
    )
    c1, c2 = st.columns([1, 2])
    days = c1.selectbox(
        "Period", [1, 7, 30, 365], index=1, format_func=lambda d: f"last {d} days", key="audit_days"
    )
    case = c2.text_input("Case number contains", key="audit_case")
    since = (datetime.now(UTC) - timedelta(days=days)).date()
    entries = data.audit_entries(lh, since, user.scope_agency, case)
    if entries.empty:
        widgets.empty_state("No audited actions in this period.")
        return
    c = st.columns(3)
    c[0].metric("Actions", len(entries))
    c[1].metric("Users", entries["user"].nunique())
    c[2].metric("Cases", entries["case_number"].nunique())
    entries["parameters"] = entries["parameters"].map(_short)
    st.dataframe(
        entries[
            ["ts", "user", "role", "agency", "case_number", "purpose", "action", "parameters", "result_count"]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "ts": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "case_number": "Case",
            "result_count": st.column_config.NumberColumn("Results", format="%d"),
            "parameters": st.column_config.TextColumn("Parameters", width="large"),
        },
    )


def _short(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        params = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)[:200]
    if isinstance(params, dict):
        return ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, "", [], {}))[:300]
    return str(params)[:300]


main()
