"""Convoy page: vehicles that travel with a plate (together within ±Δt at several cameras), ranked
against what background traffic would produce by chance — opened from a plate's route or a canvass.

One call: ``pipelines.movement.convoy.convoy`` (as ``pesquisa movement convoy``): case, audit, scope."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.ui import movement, session, widgets

RESULTS = "convoy_results"


def main() -> None:
    from pipelines.movement.convoy import convoy

    lh = session.lakehouse()
    widgets.page_header(
        "Convoy", "Vehicles travelling with a plate, ranked by how unlikely the company is.", needs_case=True
    )
    request = st.session_state.pop(movement.CONVOY_REQUEST, None)
    if request:
        st.session_state["convoy_plate"] = request["plate"]
        st.session_state["convoy_d0"] = request.get("start")
        st.session_state["convoy_d1"] = request.get("end")
    with st.form("convoy"):
        c1, c2, c3 = st.columns([2, 1, 1])
        plate = c1.text_input("Plate", key="convoy_plate")
        window = c2.number_input("± seconds", 5, 900, 60, key="convoy_window")
        k = c3.number_input("Cameras together", 1, 20, 3, key="convoy_k")
        start, end = movement.window_inputs("convoy")
        go = st.form_submit_button("Find convoy", type="primary", icon=":material/directions_car:")
    if go:
        if not (plate or "").strip() or start is None:
            st.error("Enter a plate and both days.")
        else:
            res = movement.run(
                lambda: convoy(
                    lh, movement.read_scope(start, end), plate, window_s=float(window), min_cameras=int(k)
                ),
                "Convoy",
            )
            st.session_state[RESULTS] = None if res is None else {"res": res, "start": start, "end": end}
    got = st.session_state.get(RESULTS)
    if not got:
        if not go:
            widgets.empty_state("Enter a plate, or open a convoy from a canvass or a route.")
        return
    res = got["res"]
    st.markdown(
        f"**{len(res.rows)} vehicle(s)** with **{res.target}** ({res.target_reads} reads) · "
        f"{res.seconds:.2f} s · audited"
    )
    if res.narrowed_from is not None:
        st.info(
            f"{res.target} has {res.target_reads_in_window} reads in this window (a bus, a taxi?): searched "
            f"its {res.target_reads} most recent, from {res.narrowed_from:%Y-%m-%d %H:%M} UTC. Narrow the "
            "days to search another span."
        )
    if not res.rows:
        widgets.empty_state("No vehicle was with this plate at enough cameras.")
        return
    df = pd.DataFrame(res.rows)[
        [
            "rank",
            "plate",
            "n_cameras",
            "n_cooccurrences",
            "expected_cameras",
            "p_value",
            "score",
            "first_ts",
            "last_ts",
            "cameras",
        ]
    ]
    chart = (
        alt.Chart(df.head(20))
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title="-log10 p (higher = less likely by chance)"),
            y=alt.Y("plate:N", sort="-x", title=None),
            tooltip=["plate", "n_cameras", "p_value"],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(df, hide_index=True, width="stretch", key="convoy_table")
    pick = st.selectbox("Vehicle", list(df["plate"]), key="convoy_pick")
    if st.button("Open its route", icon=":material/route:"):
        movement.open_route(pick, got["start"], got["end"])


main()
