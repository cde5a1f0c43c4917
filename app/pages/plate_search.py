"""Plate search page: every sighting of a plate (exact, wildcard or OCR-confusion-aware fuzzy) in
the cameras the user may see, with crops, times and cameras; a result opens its route.

The search is ``pipelines.search.search_plates`` — the same call as ``pesquisa plates search`` —
which refuses a search without a case and writes the audit row."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app.ui import data, evidence, filters, session, widgets

RESULTS_KEY = "plate_results"
ROUTE_KEY = "route_request"
FUZZY = {0: "Exact", 1: "1 edit (or 2 OCR confusions)", 2: "2 edits", 3: "3 edits"}


def run_search(pattern: str, fuzzy: int, limit: int, flt: filters.Filters) -> None:
    from pipelines.governance import MissingCaseError
    from pipelines.search.plates import PlateQuery, search_plates

    user = session.signed_in_user()
    lh = session.lakehouse()
    ctx = session.search_context(user, session.active_case())
    t0 = time.perf_counter()
    try:
        scope = flt.read_scope(ctx, lh.settings.time.zone)
        query = PlateQuery(
            pattern,
            fuzzy=fuzzy,
            limit=limit,
            cameras=None if flt.cameras is None else tuple(flt.cameras),
            area=flt.area,
        )
        result = search_plates(lh, query, scope)
    except MissingCaseError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Search refused: {exc}. Open a case in the sidebar first.", icon=":material/block:")
        return
    except PermissionError as exc:  # the case's status or warrant scope refused it (logged)
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Search refused: {exc}", icon=":material/block:")
        return
    except ValueError as exc:
        st.session_state.pop(RESULTS_KEY, None)
        st.error(f"Cannot search: {exc}")
        return
    rows = data.attach_crops(lh, "plate_reads", "read_id", result.hits)
    st.session_state[RESULTS_KEY] = {
        "pattern": result.pattern,
        "fuzzy": fuzzy,
        "limit": limit,
        "rows": rows,
        "total": result.total,
        "strategy": result.strategy,
        "seconds": time.perf_counter() - t0,
        "case": ctx.case_number,
        "start": flt.start,
        "end": flt.end,
    }


def results_frame(rows: list[dict], labels: dict[str, str]) -> pd.DataFrame:
    recs = []
    for r in rows:
        cands = r.get("candidates") or []
        recs.append(
            {
                "crop": widgets.crop_data_uri(r.get("crop_jpeg")),
                "plate": r.get("plate"),
                "matched": r.get("matched_text") or r.get("plate"),
                "score": r.get("match_score"),
                "distance": r.get("distance"),
                "confidence": r.get("confidence"),
                "ts": r.get("ts"),
                "camera": labels.get(r.get("camera_id") or "", r.get("camera_id")),
                "agency": r.get("agency"),
                "candidates": ", ".join(f"{c['text']} ({c['score']:.2f})" for c in cands[:4] if c),
                "source": f"{r.get('source_uri') or ''} @ {r.get('offset_s') or 0:.1f}s",
            }
        )
    return pd.DataFrame(recs)


def show_results(res: dict, labels: dict[str, str]) -> None:
    rows = res["rows"]
    texts = [r.get("matched_text") or r.get("plate") for r in rows]
    plates = pd.Series(texts).value_counts() if rows else pd.Series(dtype=int)
    st.markdown(
        f"**{len(rows)} read{'s' if len(rows) != 1 else ''}** of **{len(plates)} plate{'s' if len(plates) != 1 else ''}** "
        f"for `{res['pattern']}` ({FUZZY.get(res['fuzzy'], res['fuzzy'])}) · {res['seconds']:.2f} s "
        f"({res['strategy']}) · case {res['case']}"
    )
    if not rows:
        widgets.empty_state(
            "No sighting matches.",
            "Try wildcards (`AB1?3*`), a higher fuzzy level, or a wider time window.",
        )
        return
    if res["total"] > len(rows):
        st.warning(
            f"Showing the best {len(rows)} of {res['total']:,} matching reads; narrow the search or "
            "raise the limit."
        )

    c1, c2, _ = st.columns([2, 1, 2], vertical_alignment="bottom")
    pick = c1.selectbox(
        "Open the route of",
        list(plates.index),
        key="route_pick",
        format_func=lambda p: f"{p} ({plates[p]} read{'s' if plates[p] != 1 else ''})",
    )
    if c2.button("Open route", type="primary", key="open_route", icon=":material/route:"):
        st.session_state[ROUTE_KEY] = {"plate": pick, "start": res["start"], "end": res["end"], "auto": True}
        st.switch_page("pages/route.py")

    table, gallery = st.tabs(["Table", "Crops"])
    with table:
        st.dataframe(
            results_frame(rows, labels),
            hide_index=True,
            width="stretch",
            row_height=48,
            column_config={
                "crop": st.column_config.ImageColumn("Crop", width="medium"),
                "plate": "Plate",
                "matched": "Matched text",
                "score": st.column_config.NumberColumn(
                    "Match", format="%.2f", help="1 = the best read equals the pattern"
                ),
                "distance": st.column_config.NumberColumn("Edit distance", format="%.1f"),
                "confidence": st.column_config.ProgressColumn(
                    "Confidence", min_value=0.0, max_value=1.0, format="%.2f"
                ),
                "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                "camera": "Camera",
                "agency": "Agency",
                "candidates": "OCR candidates",
                "source": "Source",
            },
        )
    with gallery:
        cols = st.columns(4)
        for i, r in enumerate(rows[:48]):
            with cols[i % 4]:
                if r.get("crop_jpeg"):
                    st.image(r["crop_jpeg"], width="stretch")
                st.caption(
                    f"**{r.get('plate')}** · {widgets.fmt_ts(r.get('ts'))}  \n"
                    f"{labels.get(r.get('camera_id'), r.get('camera_id'))}"
                )
    evidence.export_panel("plate", rows, "plate_export", labels)


def main() -> None:
    user = session.signed_in_user()
    lh = session.lakehouse()
    widgets.page_header(
        "Plate search",
        "Every sighting of a plate across the cameras you can see. Wildcards: `?` one character, `*` any run.",
        needs_case=True,
    )
    cams = data.cameras(lh, user.scope_agency)
    labels = data.camera_labels(cams)
    form_box, filter_box = st.container(), st.container()
    with filter_box:
        flt = filters.filters("plates", cams, labels)
    with form_box, st.form("plate-search", border=True):
        c1, c2, c3 = st.columns([3, 2, 1])
        pattern = c1.text_input(
            "Plate or pattern", key="plate_pattern", placeholder="e.g. ABC1234, AB1?3*, *123CD"
        )
        fuzzy = c2.select_slider("Tolerance", options=list(FUZZY), format_func=FUZZY.get, key="plate_fuzzy")
        limit = c3.number_input("Limit", 1, 5000, 100, step=50, key="plate_limit")
        submitted = st.form_submit_button("Search", type="primary", icon=":material/search:")
    if submitted:
        if not pattern.strip():
            st.error("Enter a plate or a pattern.")
        elif flt.problem:
            st.error(flt.problem)
        else:
            with st.spinner("Searching plate reads…"):
                run_search(pattern.strip(), int(fuzzy), int(limit), flt)
    res = st.session_state.get(RESULTS_KEY)
    if res is not None:
        show_results(res, labels)
    elif not submitted and cams.empty:
        widgets.empty_state("No cameras are visible to your agency yet, so there is nothing to search.")


main()
