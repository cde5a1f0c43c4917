"""Ingest status page (engineers): extraction runs from ``processing_runs`` — progress, failures with
their reasons, model versions — and the size of every table, as the signed-in user may see them
(one library call, :func:`pipelines.extract.ingest_status.ingest_status`, scoped like every read)."""

from __future__ import annotations

import streamlit as st

from app.ui import session, widgets


@st.cache_data(show_spinner=False, max_entries=16)
def _status(_lh, root: str, versions: tuple[int, ...], _ctx, who: tuple[str, str, str | None]):
    """Cached per table versions and reader (``who``: user, role, agency)."""
    from pipelines.extract.ingest_status import ingest_status

    return ingest_status(_lh, _ctx)


def status_view() -> None:
    from lakehouse import TABLES

    lh = session.lakehouse()
    user = session.signed_in_user()
    ctx = session.search_context(user, None)
    versions = tuple(lh.version(n) if lh.exists(n) else -1 for n in TABLES)
    status_now = _status(lh, lh.storage.root, versions, ctx, (ctx.user, ctx.role, ctx.agency))
    runs = status_now.runs
    if runs.empty:
        widgets.empty_state(
            "No extraction runs yet.",
            "Ingest recorded video with `pesquisa ingest PATH --camera ID`, or run `pesquisa demo`.",
        )
        _tables(status_now)
        return

    from pipelines.extract.run_stats import run_stats, runs_by_version

    stats = run_stats(runs)
    status = runs["status"].fillna("unknown")
    c = st.columns(5)
    c[0].metric("Sources", stats.sources)
    c[1].metric("Succeeded", stats.succeeded)
    c[2].metric("Failed", stats.failed)
    c[3].metric("Running", stats.running)
    c[4].metric("Model versions", stats.model_versions)
    st.progress(
        stats.finished / max(stats.runs, 1),
        text=f"{stats.finished} of {stats.runs} runs finished ({stats.failed} failed)",
    )

    st.subheader("By model version")
    agg = runs_by_version(runs).to_pandas()
    st.dataframe(
        agg,
        hide_index=True,
        width="stretch",
        column_config={
            "model_version": "Model version",
            "sources": "Sources",
            "succeeded": "Succeeded",
            "failed": "Failed",
            "running": "Running",
            "frames": "Frames",
            "plate_reads": "Plate reads",
            "face_sightings": "Faces",
            "last_finished": st.column_config.DatetimeColumn(
                "Last finished (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "seconds": st.column_config.NumberColumn("Wall s", format="%.1f"),
            "frames_per_s": st.column_config.NumberColumn("Frames/s", format="%.1f"),
        },
    )

    st.subheader("Failures")
    failures = runs[status == "failed"].sort_values("finished", ascending=False)
    if failures.empty:
        st.success("No failed runs.", icon=":material/check_circle:")
    else:
        st.dataframe(
            failures[["source_uri", "camera_id", "model_version", "finished", "error"]],
            hide_index=True,
            width="stretch",
            column_config={
                "source_uri": "Source",
                "camera_id": "Camera",
                "model_version": "Model version",
                "finished": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                "error": st.column_config.TextColumn("Reason", width="large"),
            },
        )

    st.subheader("Recent runs")
    recent = runs.sort_values("started", ascending=False).head(200)
    st.dataframe(
        recent[
            [
                "status",
                "source_uri",
                "camera_id",
                "model_version",
                "started",
                "duration_s",
                "frames_processed",
                "plate_reads",
                "face_sightings",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "status": "Status",
            "source_uri": "Source",
            "camera_id": "Camera",
            "model_version": "Model version",
            "started": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "duration_s": st.column_config.NumberColumn("Seconds", format="%.1f"),
            "frames_processed": "Frames",
            "plate_reads": "Plate reads",
            "face_sightings": "Faces",
        },
    )
    _tables(status_now)


def _tables(status_now) -> None:
    st.subheader("Tables")
    st.dataframe(
        status_now.tables,
        hide_index=True,
        width="content",
        column_config={"rows": st.column_config.NumberColumn("Rows", format="%d")},
    )
    vs = status_now.videos_by_status
    if not vs.empty:
        st.caption("Videos by status: " + ", ".join(f"{r.status}: {r.videos}" for r in vs.itertuples()))


def main() -> None:
    widgets.page_header(
        "Ingest status", "Extraction runs over recorded video: progress, failures and model versions."
    )
    live = st.toggle("Refresh every 10 s", key="ingest_live", value=False)
    if live:
        st.fragment(run_every=10)(status_view)()
    else:
        status_view()


main()
