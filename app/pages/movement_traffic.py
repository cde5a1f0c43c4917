"""Traffic page for analysts and traffic engineers: reads per camera and hour (time series), ring
entries / exits and the origin-destination matrix between porticos (heat map), time inside.

Aggregates name no plate: ``pipelines.movement.traffic.camera_counts`` and ``ring_flows`` (as
``pesquisa movement counts|flows``), limited to the cameras the user's agency may see."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.ui import movement, session, widgets


def main() -> None:
    from pipelines.movement.traffic import camera_counts, ring_flows

    lh = session.lakehouse()
    widgets.page_header(
        "Traffic", "Counts per camera and hour, ring entries and exits, origin-destination flows."
    )
    with st.form("traffic"):
        start, end = movement.window_inputs("traffic")
        go = st.form_submit_button("Show traffic", type="primary", icon=":material/insights:")
    if not go and "traffic_results" not in st.session_state:
        widgets.empty_state("Pick a time window.")
        return
    if go:
        if start is None:
            st.error("Pick both days.")
            return
        scope = movement.read_scope(start, end)
        counts = movement.run(lambda: camera_counts(lh, scope), "Counts")
        flows = movement.run(lambda: ring_flows(lh, scope), "Flows")
        if counts is None or flows is None:
            return
        st.session_state["traffic_results"] = (counts.to_pandas(), flows)
    counts, flows = st.session_state["traffic_results"]
    c = st.columns(4)
    c[0].metric("Reads", int(counts["reads"].sum()) if len(counts) else 0)
    c[1].metric("Ring entries", flows.entries)
    c[2].metric("Trips inside", flows.trips)
    c[3].metric("Entered, not left", flows.stayed)
    st.subheader("Reads per camera and hour")
    if len(counts):
        st.altair_chart(
            alt.Chart(counts)
            .mark_line()
            .encode(
                x=alt.X("hour:T", title="hour"),
                y=alt.Y("reads:Q"),
                color=alt.Color("camera_id:N", legend=None),
                tooltip=["camera_id", "hour:T", "reads", "plates"],
            ),
            width="stretch",
        )
    st.subheader("Origin-destination between porticos")
    od = pd.DataFrame(flows.od)
    if len(od):
        mat = od.groupby(["origin", "destination"], as_index=False)["trips"].sum()
        st.altair_chart(
            alt.Chart(mat)
            .mark_rect()
            .encode(
                x="destination:N",
                y="origin:N",
                color=alt.Color("trips:Q", scale=alt.Scale(scheme="blues")),
                tooltip=["origin", "destination", "trips"],
            ),
            width="stretch",
        )
        st.dataframe(mat, hide_index=True, key="traffic_od")
    else:
        widgets.empty_state("No trip through the ring porticos in this window.")


main()
