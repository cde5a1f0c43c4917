"""Lineage page (engineers, admins): what each re-process changed, and which version is current.

Shows the stored ``pesquisa lineage diff`` reports (one per backfill; the Dagster backfill ends with
one), the per-source changes of a chosen report (passes added, dropped, re-read with both texts, face
sightings added/dropped), watchlist hits and open-case searches that change, and the model versions
per camera with how many sources are current."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import session, widgets
from pipelines.lineage import lineage_overview


def main() -> None:
    widgets.page_header(
        "Lineage", "What each model version changed, per source, and which version readers see."
    )
    lh = session.lakehouse()
    chosen = st.session_state.get("lineage_report")
    view = lineage_overview(lh, chosen)
    versions = pd.DataFrame(view["versions"])
    st.subheader("Model versions per camera")
    if versions.empty:
        widgets.empty_state("No extraction runs yet.", "Ingest or backfill recorded video first.")
    else:
        st.dataframe(
            versions,
            hide_index=True,
            width="stretch",
            column_config={
                "sources": "Sources processed",
                "current": "Current (readers see)",
                "last_run": st.column_config.DatetimeColumn("Last run (UTC)"),
            },
        )
    reports = view["reports"]
    st.subheader("Lineage reports")
    if not reports:
        widgets.empty_state(
            "No lineage report yet.",
            "Run `pesquisa lineage diff V1 V2` or a backfill (`pesquisa backfill`), which ends with one.",
        )
        return
    labels = {
        r["report_id"]: f"{r['from_version']} → {r['to_version']} ({widgets.fmt_ts(r['created_at'])})"
        for r in reports
    }
    rid = st.selectbox("Report", list(labels), format_func=labels.get, key="lineage_report")
    if rid != view["report_id"]:
        view = lineage_overview(lh, rid)
    rep = next(r for r in reports if r["report_id"] == rid)
    totals = rep["details"].get("totals", {})
    c = st.columns(6)
    c[0].metric("Sources changed", f"{totals.get('sources_changed', 0)} / {totals.get('sources', 0)}")
    c[1].metric("Passes added", rep["passes_added"])
    c[2].metric("Passes dropped", rep["passes_dropped"])
    c[3].metric("Re-read", rep["passes_reread"])
    c[4].metric("Faces added", rep["faces_added"])
    c[5].metric("Faces dropped", rep["faces_dropped"])
    src = pd.DataFrame(
        [
            {
                k: r[k]
                for k in (
                    "camera_id",
                    "video_id",
                    "passes_added",
                    "passes_dropped",
                    "passes_reread",
                    "passes_same",
                    "faces_added",
                    "faces_dropped",
                )
            }
            for r in view["sources"]
        ]
    )
    if not src.empty:
        st.dataframe(src, hide_index=True, width="stretch")
    reread = [
        {"camera_id": r["camera_id"], "ts": x["ts"], "old": x["old"], "new": x["new"]}
        for r in view["sources"]
        for x in r["details"].get("reread", [])
    ]
    if reread:
        st.markdown("**Re-read passes** (old text → new text)")
        st.dataframe(pd.DataFrame(reread), hide_index=True, width="stretch")
    watch = rep["details"].get("watchlist", [])
    if watch:
        st.markdown("**Watchlist hits that change**")
        st.dataframe(
            pd.DataFrame(watch)[["entry_id", "kind", "value", "change", "camera_id", "ts", "old", "new"]],
            hide_index=True,
            width="stretch",
        )
    cases = rep["details"].get("cases", [])
    if cases:
        st.markdown(
            f"**Open cases whose search results change** (cases from {rep['details'].get('cases_from')})"
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "case": x["case_number"],
                        "search": x["pattern"],
                        "gained": len(x["gained"]),
                        "lost": len(x["lost"]),
                    }
                    for x in cases
                ]
            ),
            hide_index=True,
            width="stretch",
        )


main()
