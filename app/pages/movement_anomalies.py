"""Anomalies page: circling, repeated night visits (local time) and cloned plates over the whole
visible network, each with its explanation; OCR misreads are counted, not listed; open a hit's route.

One call: ``pipelines.movement.anomalies.anomalies`` (``pesquisa movement anomalies``): case, audit."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import movement, session, widgets

RESULTS = "anomaly_results"
KINDS = {"circling": "Circling", "night_visits": "Repeated night visits", "clone": "Cloned plate"}


def main() -> None:
    from pipelines.movement.anomalies import anomalies

    lh = session.lakehouse()
    widgets.page_header(
        "Anomalies", "Circling, repeated night visits and cloned plates, each explained.", needs_case=True
    )
    with st.form("anomalies"):
        kinds = st.multiselect(
            "Kinds", list(KINDS), default=list(KINDS), key="anomaly_kinds", format_func=KINDS.get
        )
        start, end = movement.window_inputs("anomaly")
        go = st.form_submit_button("Find anomalies", type="primary", icon=":material/report:")
    if go:
        if start is None or not kinds:
            st.error("Pick kinds and both days.")
        else:
            res = movement.run(
                lambda: anomalies(
                    lh, movement.read_scope(start, end), kinds=tuple(kinds), tz=movement.home_zone()
                ),
                "Anomalies",
            )
            st.session_state[RESULTS] = None if res is None else {"res": res, "start": start, "end": end}
    got = st.session_state.get(RESULTS)
    if not got:
        if not go:
            widgets.empty_state("Pick a time window.")
        return
    res = got["res"]
    c = st.columns(len(res.counts))
    for col, (k, v) in zip(c, res.counts.items(), strict=True):
        col.metric(KINDS.get(k, k.replace("_", " ")), v)
    if not res.rows:
        widgets.empty_state("No anomaly in this window.")
        return
    df = pd.DataFrame(res.rows)[["kind", "plate", "first_ts", "last_ts", "events", "explanation"]]
    st.dataframe(df, hide_index=True, width="stretch", key="anomaly_table")
    pick = st.selectbox(
        "Hit",
        list(range(len(df))),
        key="anomaly_pick",
        format_func=lambda i: f"{KINDS[df['kind'][i]]}: {df['plate'][i]}",
    )
    if st.button("Open route", icon=":material/route:"):
        movement.open_route(df["plate"][pick], got["start"], got["end"])


main()
