"""Alerts page: the live feed of watchlist hits routed to the user's agency, refreshing by itself
(``st.fragment(run_every=...)``, every ``watchlist.feed_refresh_s`` seconds), newest first, coloured
by priority, with the crop, a map of where they happened, and an acknowledge button (per agency).

Data: ``pipelines.watchlist.feed.list_alerts`` (covert hits only reach the owning agency);
acknowledging: ``pipelines.watchlist.feed.acknowledge``."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import streamlit as st

from app.ui import maps, session, widgets

PERIODS = {"Last hour": 1, "Last 24 h": 24, "Last 7 days": 24 * 7, "Last 30 days": 24 * 30}
PRIORITY_COLORS = {1: "#c62828", 2: "#ef6c00", 3: "#f9a825", 4: "#1f5f99", 5: "#78909c"}
SHOWN = 25
ACK_ERROR_KEY = "alerts_ack_error"


def _esc(value: object) -> str:
    return html.escape(str(value))


def _context():
    from pipelines.governance import SearchContext

    user = session.current_user()
    return SearchContext(user=user.username, role=user.role, agency=user.scope_agency)


def _refresh_s() -> float:
    from pipelines.watchlist.config import watchlist_settings

    return float(watchlist_settings(session.lakehouse()).feed_refresh_s)


def main() -> None:
    widgets.page_header(
        "Alerts",
        "Watchlist hits at the cameras of the network, routed to your agency. The feed refreshes by itself.",
    )
    c1, c2 = st.columns([1, 1])
    period = c1.selectbox("Period", list(PERIODS), index=1, key="alerts_period")
    only_open = c2.toggle("Only unacknowledged", value=False, key="alerts_open")
    hours = PERIODS.get(period or "Last 24 h", 24)

    @st.fragment(run_every=_refresh_s())
    def feed() -> None:
        from pipelines.watchlist.feed import list_alerts

        lh = session.lakehouse()
        from pipelines.governance.scope import ReadScope

        scope = ReadScope.of(_context(), start=datetime.now(UTC) - timedelta(hours=hours))
        alerts = list_alerts(
            lh, scope, limit=500, unacknowledged=only_open, with_crops=True, with_positions=True
        )
        draw(alerts)

    feed()


def draw(alerts: list[dict]) -> None:
    if problem := st.session_state.pop(ACK_ERROR_KEY, None):
        st.error(problem)
    c = st.columns(4)
    c[0].metric("Alerts", len(alerts))
    c[1].metric("Unacknowledged", sum(not a["acknowledged"] for a in alerts))
    c[2].metric("Priority 1", sum(a.get("priority") == 1 for a in alerts))
    c[3].metric("Updated (UTC)", datetime.now(UTC).strftime("%H:%M:%S"))
    if not alerts:
        widgets.empty_state(
            "No alerts in this period.",
            "Alerts appear here within seconds of a watchlisted plate or face passing a live camera.",
        )
        return
    left, right = st.columns([3, 2], gap="medium")
    with left:
        for a in alerts[:SHOWN]:
            card(a)
        if len(alerts) > SHOWN:
            st.caption(f"{len(alerts) - SHOWN} older alerts not shown; narrow the period.")
    with right:
        st.pydeck_chart(maps.alerts_deck(alerts, PRIORITY_COLORS), height=420, key="alerts_map")
        st.caption(
            " · ".join(
                f"<span style='color:{col}'>●</span> priority {p}" for p, col in PRIORITY_COLORS.items()
            ),
            unsafe_allow_html=True,
        )


def card(a: dict) -> None:
    color = PRIORITY_COLORS.get(a.get("priority") or 3, "#78909c")
    with st.container(border=True, key=f"alert_{a['alert_id']}"):
        img, body, act = st.columns([1.1, 4, 1.7])
        uri = widgets.crop_data_uri(a.get("crop_jpeg"))
        if uri:
            img.image(uri, width=110)
        what = "Plate" if a["kind"] == "plate" else "Face"
        covert = " · <b>covert</b>" if a.get("covert") else ""
        matched = (
            f" (read {_esc(a['matched_text'])})"
            if a.get("matched_text") and a["matched_text"] != a["value"]
            else ""
        )
        body.markdown(
            f"<div style='border-left:6px solid {color};padding-left:.6rem'>"
            f"<b>P{a.get('priority')}</b> · {what} <b>{_esc(a['value'])}</b>{matched}{covert}<br/>"
            f"{_esc(a.get('camera_name') or a['camera_id'])} ({_esc(a['camera_id'])}) · "
            f"{widgets.fmt_ts(a['ts'])} UTC<br/>"
            f"<span class='pq-muted'>score {a['score']:.2f} · {_esc(a.get('reason') or '')} · "
            f"case {_esc(a.get('case_number') or '-')} · owner {_esc(a.get('agency'))} · "
            f"latency {a['latency_s']:.1f} s</span></div>",
            unsafe_allow_html=True,
        )
        acks = a.get("acks") or {}
        if a["acknowledged"]:
            act.markdown(":green[**Acknowledged**]")
        elif (user := session.current_user()) is not None and user.scope_agency is not None:
            act.button(
                "Acknowledge",
                key=f"ack_{a['alert_id']}",
                type="primary",
                on_click=acknowledge,
                args=(a["alert_id"],),
            )
        if acks:
            act.caption(", ".join(f"{ag}: {u}" for ag, u in sorted(acks.items())))


def acknowledge(alert_id: str) -> None:
    """Button callback (runs before the rerun that redraws the feed)."""
    from pipelines.watchlist.entries import WatchlistError
    from pipelines.watchlist.feed import acknowledge as ack

    try:
        ack(session.lakehouse(), _context(), alert_id)
    except WatchlistError as exc:
        st.session_state[ACK_ERROR_KEY] = str(exc)


main()
