"""Watchlist page: the entries the user may see (covert ones only for their agency), adding a plate or
a face, removing one. Adding and removing need the active case (sidebar) and are audited; adding
shows the hygiene warnings and the entry's historical hits.

Library: ``pipelines.watchlist.manage`` (add_plate / add_face / remove_entry) and
``pipelines.watchlist.entries.list_entries``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app.ui import session, widgets

LAST_KEY = "watchlist_last_add"


def _ctx():
    return session.search_context(session.current_user(), session.active_case())


def main() -> None:
    from pipelines.watchlist.entries import list_entries

    widgets.page_header(
        "Watchlist",
        "Plates and faces that raise an alert at both agencies' control centres "
        "when a live camera sees them.",
        needs_case=True,
    )
    add_form()
    show_last()
    entries = list_entries(session.lakehouse(), _ctx())
    st.subheader("Entries")
    if not entries:
        widgets.empty_state("The watchlist is empty.", "Add a plate or a face above (with a case open).")
        return
    c = st.columns(3)
    c[0].metric("Active", sum(e["status"] == "active" for e in entries))
    c[1].metric("Plates", sum(e["kind"] == "plate" for e in entries))
    c[2].metric("Faces", sum(e["kind"] == "face" for e in entries))
    frame = pd.DataFrame(entries)
    st.dataframe(
        frame[
            [
                "entry_id",
                "kind",
                "value",
                "priority",
                "status",
                "agency",
                "covert",
                "case_number",
                "reason",
                "expires_at",
                "created_by",
                "photos",
                "fuzzy",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "entry_id": "Entry",
            "value": "Plate / label",
            "case_number": "Case",
            "expires_at": st.column_config.DatetimeColumn("Expires (UTC)", format="YYYY-MM-DD HH:mm"),
            "priority": st.column_config.NumberColumn("Priority", format="%d"),
        },
    )
    remove_form(entries)


def add_form() -> None:
    with st.expander("Add an entry", expanded=True):
        kind = st.radio("Kind", ["Plate", "Face"], horizontal=True, key="wl_kind")
        with st.form("watchlist-add", border=False):
            if kind == "Plate":
                pattern = st.text_input(
                    "Plate or pattern", key="wl_pattern", placeholder="ABC1234, AB?12*, *1234"
                )
                fuzzy = st.select_slider(
                    "OCR tolerance",
                    options=[0.0, 0.4, 0.8, 1.0, 2.0],
                    value=0.0,
                    key="wl_fuzzy",
                    help="weighted edits: 0/O, 8/B ... cost 0.4; others 1",
                )
                photos = None
            else:
                photos = st.file_uploader(
                    "Photos of the person",
                    type=["jpg", "jpeg", "png"],
                    accept_multiple_files=True,
                    key="wl_photos",
                )
                pattern, fuzzy = st.text_input("Name / label", key="wl_label"), 0.0
            reason = st.text_input(
                "Reason", key="wl_reason", placeholder="stolen vehicle, arrest warrant ..."
            )
            c1, c2, c3 = st.columns(3)
            priority = c1.selectbox("Priority", [1, 2, 3, 4, 5], index=2, key="wl_priority")
            expires = c2.text_input(
                "Expires", key="wl_expires", placeholder="30d, 12h or 2026-12-31 (empty: never)"
            )
            covert = c3.checkbox("Covert (only my agency sees hits)", key="wl_covert")
            ok = st.form_submit_button("Add to watchlist", type="primary")
        if ok:
            add(kind, pattern, fuzzy, photos, reason, priority, expires, covert)


def add(
    kind: str, pattern: str, fuzzy: float, photos, reason: str, priority: int, expires: str, covert: bool
) -> None:
    from pipelines.governance import MissingCaseError
    from pipelines.watchlist import manage
    from pipelines.watchlist.entries import WatchlistError

    lh = session.lakehouse()
    try:
        if kind == "Plate":
            res = manage.add_plate(
                lh,
                _ctx(),
                pattern,
                reason=reason,
                priority=priority,
                expires=expires or None,
                covert=covert,
                fuzzy=fuzzy,
            )
        else:
            if not photos:
                st.error("Upload at least one photo.")
                return
            with tempfile.TemporaryDirectory() as tmp:
                paths = []
                for f in photos:
                    p = Path(tmp) / Path(f.name).name
                    p.write_bytes(f.getvalue())
                    paths.append(p)
                analyzer = session.face_search_tools()[1]
                res = manage.add_face(
                    lh,
                    _ctx(),
                    paths,
                    reason=reason,
                    priority=priority,
                    expires=expires or None,
                    covert=covert,
                    label=pattern or None,
                    analyzer=analyzer,
                )
    except MissingCaseError as exc:
        st.error(f"Refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
        return
    except (WatchlistError, PermissionError) as exc:
        st.error(str(exc))
        return
    st.session_state[LAST_KEY] = {
        "entry": res.entry,
        "created": res.created,
        "warnings": res.warnings,
        "historical": res.historical,
    }


def show_last() -> None:
    last = st.session_state.get(LAST_KEY)
    if not last:
        return
    e = last["entry"]
    st.success(
        f"{'Added' if last['created'] else 'Updated'} {e['kind']} entry **{e['value']}** "
        f"(priority {e['priority']}, case {e['case_number']})."
    )
    for w in last["warnings"]:
        st.warning(w, icon=":material/warning:")
    hits = last["historical"]
    st.caption(f"{len(hits)} historical hit(s) in the cameras you may see.")
    if hits:
        cols = [
            c
            for c in ("ts", "camera_id", "plate", "matched_text", "match_score", "distance", "score")
            if c in hits[0]
        ]
        st.dataframe(pd.DataFrame(hits)[cols], hide_index=True, width="stretch")


def remove_form(entries: list[dict]) -> None:
    from pipelines.governance import MissingCaseError
    from pipelines.watchlist.entries import WatchlistError
    from pipelines.watchlist.manage import remove_entry

    user = session.current_user()
    if user is None:
        return
    own = [
        e
        for e in entries
        if e["status"] != "removed" and (user.scope_agency is None or e["agency"] == user.scope_agency)
    ]
    if not own:
        return
    labels = {e["entry_id"]: f"{e['value']} ({e['kind']}, {e['entry_id']})" for e in own}
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox(
        "Remove an entry of your agency", list(labels), format_func=lambda i: labels[i], key="wl_remove"
    )
    if pick is not None and c2.button("Remove entry", key="wl_remove_btn"):
        try:
            remove_entry(session.lakehouse(), _ctx(), pick)
        except MissingCaseError as exc:
            st.error(f"Refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
            return
        except (WatchlistError, PermissionError) as exc:
            st.error(str(exc))
            return
        st.session_state.pop(LAST_KEY, None)
        st.rerun()


main()
