"""Route page: the ordered sightings of one plate on a map, with travel times, speeds and
physically impossible hops flagged (a cloned plate or a misread), plus a timeline.

The route is ``pipelines.search.plate_route`` — the same call as ``pesquisa plates route`` — which
refuses a request without a case and writes the audit row."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from app.ui import data, evidence, maps, session, widgets
from lakehouse.timeutil import FROM_HELP, TO_HELP
from pipelines.plates.text import normalize as normalize_plate

RESULTS_KEY = "route_results"
REQUEST_KEY = "route_request"


def run_route(plate: str, start, end) -> None:
    from pipelines.governance import MissingCaseError
    from pipelines.governance.scope import ReadScope
    from pipelines.search import RouteQuery, plate_route

    lh = session.lakehouse()
    ctx = session.search_context(session.signed_in_user(), session.active_case())
    t0 = time.perf_counter()
    try:
        scope = ReadScope.of(ctx, start=start, end=end, tz=lh.settings.time.zone)
        rows = plate_route(lh, RouteQuery(plate), scope)
    except MissingCaseError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Route refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
        return
    except PermissionError as exc:  # the case's status or warrant scope refused it (logged)
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Route refused: {exc}", icon=":material/block:")
        return
    except ValueError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Cannot build the route: {exc}")
        return
    rows = data.attach_crops(lh, "plate_reads", "read_id", rows)
    st.session_state[RESULTS_KEY] = {
        "plate": normalize_plate(plate),
        "rows": rows,
        "seconds": time.perf_counter() - t0,
        "case": ctx.case_number,
    }


def hops_frame(rows: list[dict], labels: dict[str, str]) -> pd.DataFrame:
    recs = []
    for i, r in enumerate(rows, 1):
        gap = _first(r, "travel_s", "gap_s", "dt_s")
        dist = _first(r, "distance_m", "dist_m")
        recs.append(
            {
                "n": i,
                "crop": widgets.crop_data_uri(r.get("crop_jpeg")),
                "ts": r.get("ts"),
                "camera": labels.get(r.get("camera_id") or "", r.get("camera_name") or r.get("camera_id")),
                "plate": r.get("plate"),
                "gap_min": None if gap is None else gap / 60.0,
                "distance_km": None if dist is None else dist / 1000.0,
                "speed_kmh": _first(r, "speed_kmh", "speed"),
                "impossible": bool(r.get("impossible")),
            }
        )
    return pd.DataFrame(recs)


def _first(r: dict, *keys: str):
    for k in keys:
        if r.get(k) is not None:
            return r[k]
    return None


def timeline(df: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(df).encode(
        x=alt.X("ts:T", title="time (UTC)"),
        y=alt.Y(
            "camera:N",
            title=None,
            sort=alt.EncodingSortField("ts", order="ascending"),
            axis=alt.Axis(labelLimit=260),
        ),
    )
    line = base.mark_line(color="#9fb3c8", strokeWidth=1.5).encode(order="n:Q")
    points = base.mark_circle(size=140, opacity=1).encode(
        color=alt.Color(
            "impossible:N",
            scale=alt.Scale(domain=[False, True], range=["#1f5f99", "#dc2828"]),
            legend=alt.Legend(title="impossible hop"),
        ),
        tooltip=[
            alt.Tooltip("n:Q", title="#"),
            alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M:%S"),
            "camera:N",
            alt.Tooltip("speed_kmh:Q", format=".0f", title="km/h"),
        ],
    )
    labels = base.mark_text(dy=-12, fontSize=11).encode(text="n:Q")
    return (line + points + labels).properties(height=max(160, 38 * df["camera"].nunique()))


def show_route(res: dict, cams: pd.DataFrame, labels: dict[str, str]) -> None:
    rows = res["rows"]
    st.markdown(
        f"Route of **{res['plate']}** · {len(rows)} sightings · {res['seconds']:.2f} s · case {res['case']}"
    )
    if not rows:
        widgets.empty_state(
            f"No sighting of {res['plate']} in the cameras you can see.",
            "Check the plate, or search it with a fuzzy tolerance on the Plate search page.",
        )
        return
    df = hops_frame(rows, labels)
    n_bad = int(df["impossible"].sum())
    span = pd.Timestamp(df["ts"].max()) - pd.Timestamp(df["ts"].min())
    c = st.columns(4)
    c[0].metric("Sightings", len(df))
    c[1].metric("Cameras", df["camera"].nunique())
    c[2].metric("Time span", _fmt_span(span.total_seconds()))
    c[3].metric("Impossible hops", n_bad)
    if n_bad:
        st.error(
            f"{n_bad} hop{'s' if n_bad != 1 else ''} would need an impossible speed: a cloned plate or a misread. "
            "They are drawn in red.",
            icon=":material/warning:",
        )
    left, right = st.columns([3, 2])
    with left:
        st.pydeck_chart(maps.route_deck(rows, cams), height=420, key="route_map")
    with right:
        st.markdown("**Timeline**")
        st.altair_chart(timeline(df), width="stretch")
    st.subheader("Sightings")
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        row_height=48,
        column_config={
            "n": st.column_config.NumberColumn("#", width="small"),
            "crop": st.column_config.ImageColumn("Crop", width="medium"),
            "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "camera": "Camera",
            "plate": "Read",
            "gap_min": st.column_config.NumberColumn("Since previous (min)", format="%.1f"),
            "distance_km": st.column_config.NumberColumn("Distance (km)", format="%.2f"),
            "speed_kmh": st.column_config.NumberColumn("Speed (km/h)", format="%.0f"),
            "impossible": st.column_config.CheckboxColumn("Impossible"),
        },
    )
    evidence.export_panel("plate", rows, "route_export", labels)
    if st.button("Find convoy", icon=":material/directions_car:", key="route_convoy"):
        from app.ui import movement  # vehicles travelling with this one, over the route's days

        movement.open_convoy(res["plate"], min(r["ts"] for r in rows), max(r["ts"] for r in rows))


def _fmt_span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def main() -> None:
    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Route", "Where a vehicle was seen, in order, with travel times between cameras.", needs_case=True
    )
    cams = data.cameras(lh, user.scope_agency)
    labels = data.camera_labels(cams)
    request = st.session_state.pop(REQUEST_KEY, None)
    if request:
        st.session_state["route_plate"] = request["plate"]
        st.session_state["route_from"] = request.get("start")
        st.session_state["route_to"] = request.get("end")
    with st.form("route", border=True):
        c1, c2, c3 = st.columns([2, 1, 1])
        plate = c1.text_input("Plate", key="route_plate", placeholder="e.g. ABC1234")
        start = c2.date_input("From (day)", value=None, key="route_from", format="YYYY-MM-DD", help=FROM_HELP)
        end = c3.date_input(
            "To (day, inclusive)", value=None, key="route_to", format="YYYY-MM-DD", help=TO_HELP
        )
        submitted = st.form_submit_button("Show route", type="primary", icon=":material/route:")
    if submitted or (request and request.get("auto")):
        if not normalize_plate(plate):
            st.error("Enter a plate.")
        else:
            with st.spinner("Building the route…"):
                run_route(plate, start, end)  # plate_route parses and normalises it
    res = st.session_state.get(RESULTS_KEY)
    if res is not None:
        show_route(res, cams, labels)
    elif not submitted:
        widgets.empty_state("Enter a plate, or open a route from a Plate search result.")


main()
