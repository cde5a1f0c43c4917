"""Cameras page: both agencies' cameras the user may see, on a map and in a table with recent counts,
and each live camera's stream state (live / reconnecting / offline) from
``pipelines.live.status.read_status``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import data, maps, session, widgets

WINDOWS = {"24 h": 1, "7 days": 7, "30 days": 30, "All time": None}
STATE_LABELS = {"live": "🟢 live", "reconnecting": "🟠 reconnecting", "offline": "🔴 offline"}


def live_status(lh) -> pd.DataFrame:
    """camera_id, stream state, last frame and lag of the cameras with a live source."""
    from pipelines.live.status import read_status

    rows = read_status(lh)
    frame = pd.DataFrame(
        rows, columns=["camera_id", "state", "last_frame_ts", "lag_s", "fps_analysed", "error"]
    )
    frame["stream"] = frame["state"].map(lambda s: STATE_LABELS.get(s, s))
    frame["last_frame_ts"] = pd.to_datetime(frame["last_frame_ts"], utc=True, errors="coerce")
    return frame


def main() -> None:
    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Cameras",
        "The camera network you can see: your agency's cameras and those other agencies share with it.",
    )
    cams = data.cameras(lh, user.scope_agency)
    if cams.empty:
        widgets.empty_state(
            "No cameras are registered yet.",
            "Import a registry with `pesquisa cameras import cameras.csv`, or run `pesquisa demo`.",
        )
        return
    window = st.segmented_control("Counts over", list(WINDOWS), default="7 days", key="cam_window")
    days = WINDOWS.get(window or "7 days")
    activity = data.camera_activity(lh, days, user.scope_agency)
    activity = activity[activity["camera_id"].isin(cams["camera_id"])]

    c = st.columns(4)
    c[0].metric("Cameras", len(cams))
    c[1].metric("Agencies", cams["agency"].nunique())
    c[2].metric("Plate reads", f"{int(activity['plate_reads'].sum()):,}")
    c[3].metric("Face sightings", f"{int(activity['face_sightings'].sum()):,}")

    kinds = sorted(cams["kind"].dropna().unique())
    agencies = sorted(cams["agency"].unique())
    f1, f2 = st.columns(2)
    pick_agencies = f1.multiselect("Agency", agencies, default=agencies, key="cam_agencies")
    pick_kinds = f2.multiselect("Kind", kinds, default=kinds, key="cam_kinds")
    shown = cams[cams["agency"].isin(pick_agencies) & (cams["kind"].isin(pick_kinds) | cams["kind"].isna())]
    if shown.empty:
        widgets.empty_state("No camera matches these filters.")
        return

    st.pydeck_chart(maps.cameras_deck(shown, activity), height=460, key="cameras_map")
    colors = maps.agency_colors(cams["agency"].tolist())
    st.caption(
        " · ".join(f"<span style='color:rgb{tuple(colors[a])}'>●</span> {a}" for a in agencies),
        unsafe_allow_html=True,
    )

    table = shown.merge(activity, on="camera_id", how="left")
    table["plate_reads"] = table["plate_reads"].fillna(0).astype(int)
    table["face_sightings"] = table["face_sightings"].fillna(0).astype(int)
    table["shared_with"] = table["shared_with"].map(lambda s: ", ".join(s))
    columns = [
        "camera_id",
        "name",
        "agency",
        "kind",
        "shared_with",
        "plate_reads",
        "face_sightings",
        "last_seen",
        "lat",
        "lon",
    ]
    status = live_status(lh)
    if not status.empty:
        table = table.merge(
            status[["camera_id", "stream", "last_frame_ts", "lag_s"]], on="camera_id", how="left"
        )
        columns[1:1] = ["stream", "last_frame_ts", "lag_s"]
        states = status[status["camera_id"].isin(shown["camera_id"])]["state"]
        st.caption(
            f"Live cameras: {int((states == 'live').sum())} live · "
            f"{int((states == 'reconnecting').sum())} reconnecting · {int((states == 'offline').sum())} offline"
        )
    st.dataframe(
        table[columns],
        hide_index=True,
        width="stretch",
        column_config={
            "camera_id": "Camera",
            "name": "Name",
            "agency": "Agency",
            "kind": "Kind",
            "shared_with": "Shared with",
            "plate_reads": st.column_config.NumberColumn("Plate reads", format="%d"),
            "face_sightings": st.column_config.NumberColumn("Faces", format="%d"),
            "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)", format="YYYY-MM-DD HH:mm"),
            "lat": st.column_config.NumberColumn("Lat", format="%.5f"),
            "lon": st.column_config.NumberColumn("Lon", format="%.5f"),
            "stream": "Stream",
            "last_frame_ts": st.column_config.DatetimeColumn(
                "Last frame (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "lag_s": st.column_config.NumberColumn("Lag (s)", format="%.1f"),
        },
    )
    _read_accuracy()


def _read_accuracy() -> None:
    """Self-measured plate-read accuracy (the Dagster ``camera_read_accuracy`` asset), worst first."""
    from pipelines.read_accuracy import latest_estimates

    day, rows = latest_estimates(session.home())
    st.subheader("Plate-read accuracy (self-measured)")
    if not rows:
        st.caption(
            "Not computed yet: materialize the `camera_read_accuracy` asset in Dagster (`make dagster`)."
        )
        return
    st.caption(
        f"Estimated on {day} from how often each camera's plate text agrees with neighbouring cameras' "
        "reads of the same vehicle (no ground truth needed). A dirty lens or a badly aimed camera ranks last."
    )
    st.dataframe(
        [
            {k: r.get(k) for k in ("rank", "camera_id", "accuracy", "agreement", "links", "reads")}
            for r in rows
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "accuracy": st.column_config.ProgressColumn(
                "Estimated accuracy", min_value=0, max_value=1, format="%.2f"
            ),
            "agreement": st.column_config.NumberColumn("Agreement", format="%.2f"),
            "camera_id": "Camera",
        },
    )


main()
