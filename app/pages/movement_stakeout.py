"""Stakeout page: vehicles present in several place x time windows — windows added from cameras,
or a crime series picked by its incidents (crime-series leads: vehicles and faces) — ranked by rarity (a bus that is
everywhere every day is no lead).

One call each: ``pipelines.movement.stakeout.stakeout`` (``pesquisa movement stakeout``) and
``pipelines.movement.leads.crime_leads`` (``pesquisa crime leads``): case, audit, agency scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import data, movement, session, widgets

WINDOWS = "stakeout_windows"
RESULTS = "stakeout_results"


def _incidents(lh) -> pd.DataFrame:
    if not lh.exists("incidents"):
        return pd.DataFrame(columns=["incident_id", "ts", "type"])
    return lh.read("incidents", columns=["incident_id", "ts", "type", "lat", "lon"]).to_pandas()


def _show(rows: list[dict], label: str, seconds: float) -> None:
    st.markdown(f"**{len(rows)} vehicle(s)** · {seconds:.2f} s · audited")
    if not rows:
        widgets.empty_state(f"No vehicle is in enough {label}.")
        return
    cols = [
        c
        for c in (
            "rank",
            "plate",
            "windows_hit",
            "incidents_hit",
            "incidents",
            "windows",
            "p_value",
            "expected_windows",
            "reads",
            "first_ts",
            "last_ts",
        )
        if c in rows[0]
    ]
    st.dataframe(pd.DataFrame(rows)[cols], hide_index=True, width="stretch", key="stakeout_table")


def _show_faces(rows: list[dict]) -> None:
    """People (faces) near the incidents: a face is the id of its best sighting (open it in Face search)."""
    st.markdown(
        f"**{len(rows)} person(s)** seen near enough incidents (faces grouped by descriptor distance)"
    )
    if not rows:
        widgets.empty_state("No face is seen near enough incidents.")
        return
    cols = [
        "rank",
        "face",
        "incidents_hit",
        "incidents",
        "p_value",
        "expected_windows",
        "sightings",
        "cameras",
    ]
    st.dataframe(pd.DataFrame(rows)[cols], hide_index=True, width="stretch", key="leads_faces_table")


def main() -> None:
    from pipelines.movement.leads import crime_leads
    from pipelines.movement.stakeout import PlaceWindow, stakeout

    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Stakeout",
        "Vehicles present in several places and times: windows or a crime series.",
        needs_case=True,
    )
    cams = data.cameras(lh, user.scope_agency)
    labels = data.camera_labels(cams)
    windows: list[dict] = st.session_state.setdefault(WINDOWS, [])
    tab_w, tab_i = st.tabs(["Place x time windows", "Crime series"])
    with tab_w:
        with st.form("stakeout_add"):
            picked = st.multiselect(
                "Cameras", list(labels), key="stakeout_cameras", format_func=lambda c: labels[c]
            )
            start, end = movement.window_inputs("stakeout")
            add = st.form_submit_button("Add window", icon=":material/add:")
        if add:
            if not picked or start is None:
                st.error("Pick cameras and both days for the window.")
            else:
                windows.append({"cameras": list(picked), "start": start, "end": end})
        if windows:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"#": i + 1, "cameras": ", ".join(w["cameras"]), "from": w["start"], "to": w["end"]}
                        for i, w in enumerate(windows)
                    ]
                ),
                hide_index=True,
                key="stakeout_windows_table",
            )
        c1, c2, c3 = st.columns([1, 1, 2])
        k = c1.number_input("In at least", 1, 20, 2, key="stakeout_min")
        if c2.button("Clear windows"):
            windows.clear()
            st.session_state.pop(RESULTS, None)
            st.rerun()
        if c3.button("Find vehicles", type="primary", icon=":material/visibility:"):
            if len(windows) < int(k):
                st.error(f"Add at least {int(k)} windows.")
            else:
                scope = movement.read_scope()
                tz = movement.home_zone()
                wins = [
                    PlaceWindow(_utc(w["start"], tz), _utc(w["end"], tz), cameras=tuple(w["cameras"]))
                    for w in windows
                ]
                res = movement.run(lambda: stakeout(lh, scope, wins, min_windows=int(k)), "Stakeout")
                st.session_state[RESULTS] = None if res is None else ("windows", res.rows, res.seconds)
    with tab_i:
        inc = _incidents(lh)
        with st.form("leads"):
            ids = st.multiselect("Incidents of the series", list(inc["incident_id"]), key="leads_ids")
            c1, c2, c3 = st.columns(3)
            radius = c1.number_input("Radius (m)", 50, 5000, 500, key="leads_radius")
            minutes = c2.number_input("± minutes", 1, 720, 30, key="leads_minutes")
            k_inc = c3.number_input("Near at least", 1, 20, 2, key="leads_min")
            go = st.form_submit_button("Find leads", type="primary", icon=":material/travel_explore:")
        if go:
            res = movement.run(
                lambda: crime_leads(
                    lh,
                    movement.read_scope(),
                    incident_ids=ids,
                    radius_m=float(radius),
                    window_s=60.0 * minutes,
                    min_incidents=int(k_inc),
                ),
                "Leads",
            )
            st.session_state[RESULTS] = (
                None if res is None else ("incidents", res.rows, res.seconds, res.faces)
            )
    got = st.session_state.get(RESULTS)
    if got:
        _show(got[1], got[0], got[2])
        if len(got) > 3:
            _show_faces(got[3])


def _utc(t, tz: str):
    from lakehouse.timeutil import parse_instant

    return parse_instant(t, tz=tz)


main()
