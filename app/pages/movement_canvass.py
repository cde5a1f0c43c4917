"""Canvass page: who passed here — every plate read at the chosen cameras between two times, with
first / last time and reads; open a plate's route or its convoy from the result.

One call: ``pipelines.movement.canvass.canvass`` (the same as ``pesquisa plates canvass``): needs a
case, audited, limited to the cameras the user's agency may see."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import data, movement, session, widgets

RESULTS = "canvass_results"


def main() -> None:
    from pipelines.movement.canvass import canvass

    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Canvass", "Who passed here: every vehicle read at these cameras in a time window.", needs_case=True
    )
    cams = data.cameras(lh, user.scope_agency)
    labels = data.camera_labels(cams)
    with st.form("canvass"):
        picked = st.multiselect(
            "Cameras", list(labels), key="canvass_cameras", format_func=lambda c: labels[c]
        )
        start, end = movement.window_inputs("canvass")
        go = st.form_submit_button("Who passed here", type="primary", icon=":material/groups:")
    if go:
        if not picked or start is None:
            st.error("Pick at least one camera and both days.")
        else:
            res = movement.run(
                lambda: canvass(lh, movement.read_scope(start, end), cameras=picked), "Canvass"
            )
            st.session_state[RESULTS] = None if res is None else {"res": res, "start": start, "end": end}
    got = st.session_state.get(RESULTS)
    if not got:
        if not go:
            widgets.empty_state("Pick cameras and a time window.")
        return
    res = got["res"]
    st.markdown(f"**{res.total} plates** in {res.reads} reads · {res.seconds:.2f} s · audited")
    df = pd.DataFrame(res.rows, columns=["plate", "first_ts", "last_ts", "reads", "n_cameras", "cameras"])
    st.dataframe(df, hide_index=True, width="stretch", key="canvass_table")
    if res.rows:
        plate = st.selectbox("Plate", [r["plate"] for r in res.rows], key="canvass_pick")
        c1, c2 = st.columns(2)
        if c1.button("Open route", icon=":material/route:"):
            movement.open_route(plate, got["start"], got["end"])
        if c2.button("Find convoy", icon=":material/directions_car:"):
            movement.open_convoy(plate, got["start"], got["end"])


main()
